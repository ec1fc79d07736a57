//! Accounts of the HTTP service (issue #7): users and their roles, browser sessions, API
//! tokens, the signing keys of officials, and the requests to sign a document.
//!
//! The secrets themselves are handled by [`crate::auth`]: this module stores what it returns
//! (argon2id hashes, SHA-256 digests of session and token secrets, re-sealed PKCS#12 files)
//! and never sees a password or a secret in clear. Nothing secret goes into the audit trail.
//!
//! Every change of an account, token, key or request is one transaction with its audit entry
//! (`user.add`, `user.password`, `user.disable`, `user.enable`, `user.login`,
//! `user.login-failed`, `token.create`, `token.revoke`, `key.add`, `key.disable`,
//! `key.enable`, `sign.request`, `sign.complete`, `sign.reject`). Sessions are not records:
//! starting, using and ending one is not audited here (the HTTP layer records logins with
//! [`Archive::record_login`]); nor is the last use of a token.
//!
//! Who may do what is decided by the HTTP layer from [`Role`] and [`Scope`]; the archive
//! only keeps the facts consistent (an official must exist to be asked, a request is answered
//! once, a disabled user has no live session or token).

use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Sqlite, Transaction};
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;

use super::audit::{AuditRecord, append};
use super::dossiers::checked_actor;
use super::tx::{Begin, Tx};
use super::{Archive, ArchiveError, Db, stored_time};
use crate::digest::Sha256Digest;

pub use super::dossiers::DossierFilter;

/// Largest signature image accepted (a scanned signature or seal as PNG).
pub const MAX_SIGNATURE_IMAGE_BYTES: usize = 2 << 20;

/// What a user does in the office; the HTTP layer maps roles to permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Cán bộ tiếp nhận: receives dossiers, ingests papers, asks for signatures.
    Clerk,
    /// Lãnh đạo ký duyệt: signs (or refuses) what is assigned to them.
    Official,
    /// Lưu trữ viên: keeps the archive (fixity, export, audit).
    Archivist,
    /// Quản trị: manages accounts and keys.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Clerk, Role::Official, Role::Archivist, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Official => "official",
            Role::Archivist => "archivist",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Role::Clerk => "cán bộ tiếp nhận",
            Role::Official => "lãnh đạo ký duyệt",
            Role::Archivist => "lưu trữ viên",
            Role::Admin => "quản trị",
        }
    }
}

/// What an API token may be used for (on top of its user's role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Sign,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Write, Scope::Sign, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Sign => "sign",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A user account. The password hash is not part of it ([`Archive::user_by_name`] gives it
/// separately, for logins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    #[serde(with = "super::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    #[serde(with = "super::calendar::vn_time")]
    pub password_changed_at: OffsetDateTime,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// `^[a-z0-9][a-z0-9._-]{1,63}$`.
    pub username: String,
    /// Empty: the username.
    pub display_name: String,
    pub role: Role,
    /// From [`crate::auth::hash_password`].
    pub password_hash: String,
}

/// A live session with its user.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    /// The value forms must echo (double-submit); compare in constant time.
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("csrf_token", &"…")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish()
    }
}

/// An API token as listed (its secret is shown once, at creation, and never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub token_id: i64,
    pub user_id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    #[serde(with = "super::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    #[serde(with = "super::calendar::vn_time::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "super::calendar::vn_time::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(with = "super::calendar::vn_time::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl ApiToken {
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Where a signing key's private half lives.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyStorage {
    /// A PKCS#12 re-sealed by [`crate::auth::seal_pkcs12`]; it opens with the official's
    /// password, which hoso does not keep.
    Pkcs12 { sealed: Vec<u8> },
    /// A key on a token or HSM (the PIN is asked at signing time).
    Pkcs11 {
        module: String,
        token_label: String,
        key_label: String,
    },
}

impl KeyStorage {
    pub fn kind(&self) -> &'static str {
        match self {
            KeyStorage::Pkcs12 { .. } => "pkcs12",
            KeyStorage::Pkcs11 { .. } => "pkcs11",
        }
    }
}

impl std::fmt::Debug for KeyStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyStorage::Pkcs12 { sealed } => f
                .debug_struct("Pkcs12")
                .field("sealed_bytes", &sealed.len())
                .finish(),
            KeyStorage::Pkcs11 {
                module,
                token_label,
                key_label,
            } => f
                .debug_struct("Pkcs11")
                .field("module", module)
                .field("token_label", token_label)
                .field("key_label", key_label)
                .finish(),
        }
    }
}

/// A signing key to register.
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub user_id: i64,
    /// How the official tells their keys apart (`Chữ ký số 2026`, `USB token`).
    pub name: String,
    pub storage: KeyStorage,
    pub certificate_der: Vec<u8>,
    pub subject: String,
    /// Must be after `now`: an expired certificate cannot sign.
    pub not_after: OffsetDateTime,
    /// PNG of the handwritten signature for the visible stamp.
    pub signature_image: Option<Vec<u8>>,
}

/// A signing key as listed: never its secret part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SigningKey {
    pub key_id: i64,
    pub user_id: i64,
    pub name: String,
    /// `pkcs12` or `pkcs11`.
    pub kind: &'static str,
    pub subject: String,
    #[serde(with = "super::calendar::vn_time")]
    pub not_after: OffsetDateTime,
    pub certificate_sha256: String,
    pub has_image: bool,
    #[serde(with = "super::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    pub disabled: bool,
}

/// A signing key with what signing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyMaterial {
    pub key: SigningKey,
    pub storage: KeyStorage,
    pub certificate_der: Vec<u8>,
    pub signature_image: Option<Vec<u8>>,
}

/// Where a request to sign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignRequestState {
    Pending,
    Signed,
    Rejected,
}

impl SignRequestState {
    pub const ALL: [SignRequestState; 3] = [
        SignRequestState::Pending,
        SignRequestState::Signed,
        SignRequestState::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignRequestState::Pending => "pending",
            SignRequestState::Signed => "signed",
            SignRequestState::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            SignRequestState::Pending => "chờ ký",
            SignRequestState::Signed => "đã ký",
            SignRequestState::Rejected => "từ chối ký",
        }
    }
}

/// A request that an official sign a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignRequest {
    pub request_id: i64,
    pub document_id: i64,
    pub official_id: i64,
    pub requested_by: String,
    #[serde(with = "super::calendar::vn_time")]
    pub requested_at: OffsetDateTime,
    pub state: SignRequestState,
    /// The version the signature made (state `signed`).
    pub signed_version_id: Option<i64>,
    #[serde(with = "super::calendar::vn_time::option")]
    pub done_at: Option<OffsetDateTime>,
    /// What the clerk wrote with the request.
    pub note: Option<String>,
    /// Why the official refused (state `rejected`).
    pub reason: Option<String>,
}

// ---- checks ------------------------------------------------------------------------------

fn invalid(field: &'static str, value: &str, reason: &str) -> ArchiveError {
    ArchiveError::FieldInvalid {
        field,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn corrupt(what: String) -> ArchiveError {
    ArchiveError::Corrupt { what }
}

/// `^[a-z0-9][a-z0-9._-]{1,63}$`.
fn checked_username(username: &str) -> Result<String, ArchiveError> {
    let bytes = username.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if !(2..=64).contains(&bytes.len()) || !first_ok || !rest_ok {
        return Err(invalid(
            "username",
            username,
            "expected 2 to 64 lowercase letters, digits, '.', '_' or '-', starting with a \
             letter or digit",
        ));
    }
    Ok(username.to_owned())
}

/// Trimmed NFC text of 1 to `max_chars` characters without control characters.
fn checked_text(field: &'static str, text: &str, max_chars: usize) -> Result<String, ArchiveError> {
    let value: String = text.trim().nfc().collect();
    if value.is_empty() {
        return Err(invalid(field, &value, "empty"));
    }
    if value.chars().count() > max_chars {
        return Err(invalid(
            field,
            &value,
            &format!("longer than {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, &value, "contains control characters"));
    }
    Ok(value)
}

fn checked_optional(
    field: &'static str,
    text: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, ArchiveError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => checked_text(field, text, max_chars).map(Some),
        None => Ok(None),
    }
}

/// A PHC string from `auth::hash_password`; the value is never echoed (it could be a
/// password passed by mistake).
fn checked_password_hash(hash: &str) -> Result<(), ArchiveError> {
    if hash.starts_with("$argon2") && hash.len() <= 512 && hash.is_ascii() {
        Ok(())
    } else {
        Err(invalid(
            "password_hash",
            "",
            "expected an argon2 PHC string from auth::hash_password",
        ))
    }
}

/// A SHA-256 in lowercase hex from `auth::secret_digest`; the value is never echoed (it
/// could be the secret itself, passed by mistake).
fn checked_digest(field: &'static str, digest: &str) -> Result<(), ArchiveError> {
    if digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(invalid(
            field,
            "",
            "expected the lowercase hex SHA-256 from auth::secret_digest",
        ))
    }
}

fn scopes_text(scopes: &[Scope]) -> String {
    Scope::ALL
        .into_iter()
        .filter(|s| scopes.contains(s))
        .map(Scope::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

// ---- rows --------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
struct UserRow {
    user_id: i64,
    username: String,
    display_name: String,
    role: String,
    password_hash: String,
    disabled: bool,
    created_at: OffsetDateTime,
    password_changed_at: OffsetDateTime,
}

impl UserRow {
    fn to_user(&self) -> Result<User, ArchiveError> {
        Ok(User {
            user_id: self.user_id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: Role::parse(&self.role)
                .ok_or_else(|| corrupt(format!("unknown role {:?}", self.role)))?,
            disabled: self.disabled,
            created_at: self.created_at,
            password_changed_at: self.password_changed_at,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    csrf_token: String,
    session_created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct TokenRow {
    token_id: i64,
    user_id: i64,
    name: String,
    scopes: String,
    created_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
    last_used_at: Option<OffsetDateTime>,
}

impl TokenRow {
    fn to_token(&self) -> Result<ApiToken, ArchiveError> {
        let scopes = self
            .scopes
            .split(',')
            .map(|s| Scope::parse(s).ok_or_else(|| corrupt(format!("unknown scope {s:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ApiToken {
            token_id: self.token_id,
            user_id: self.user_id,
            name: self.name.clone(),
            scopes,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            last_used_at: self.last_used_at,
        })
    }

    fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct KeyRow {
    key_id: i64,
    user_id: i64,
    name: String,
    kind: String,
    subject: String,
    not_after: OffsetDateTime,
    certificate_sha256: String,
    has_image: bool,
    created_at: OffsetDateTime,
    disabled: bool,
}

impl KeyRow {
    fn to_key(&self) -> Result<SigningKey, ArchiveError> {
        Ok(SigningKey {
            key_id: self.key_id,
            user_id: self.user_id,
            name: self.name.clone(),
            kind: match self.kind.as_str() {
                "pkcs12" => "pkcs12",
                "pkcs11" => "pkcs11",
                other => return Err(corrupt(format!("unknown key kind {other:?}"))),
            },
            subject: self.subject.clone(),
            not_after: self.not_after,
            certificate_sha256: self.certificate_sha256.clone(),
            has_image: self.has_image,
            created_at: self.created_at,
            disabled: self.disabled,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct MaterialRow {
    #[sqlx(flatten)]
    key: KeyRow,
    pkcs12: Option<Vec<u8>>,
    pkcs11_module: Option<String>,
    token_label: Option<String>,
    key_label: Option<String>,
    certificate: Vec<u8>,
    signature_image: Option<Vec<u8>>,
}

impl MaterialRow {
    fn into_material(self) -> Result<SigningKeyMaterial, ArchiveError> {
        let key = self.key.to_key()?;
        let storage = match (
            key.kind,
            self.pkcs12,
            self.pkcs11_module,
            self.token_label,
            self.key_label,
        ) {
            ("pkcs12", Some(sealed), _, _, _) => KeyStorage::Pkcs12 { sealed },
            ("pkcs11", _, Some(module), Some(token_label), Some(key_label)) => KeyStorage::Pkcs11 {
                module,
                token_label,
                key_label,
            },
            _ => return Err(corrupt(format!("signing key {} is incomplete", key.key_id))),
        };
        Ok(SigningKeyMaterial {
            key,
            storage,
            certificate_der: self.certificate,
            signature_image: self.signature_image,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct RequestRow {
    request_id: i64,
    document_id: i64,
    official_id: i64,
    requested_by: String,
    requested_at: OffsetDateTime,
    state: String,
    signed_version_id: Option<i64>,
    done_at: Option<OffsetDateTime>,
    note: Option<String>,
    reason: Option<String>,
}

impl RequestRow {
    fn to_request(&self) -> Result<SignRequest, ArchiveError> {
        Ok(SignRequest {
            request_id: self.request_id,
            document_id: self.document_id,
            official_id: self.official_id,
            requested_by: self.requested_by.clone(),
            requested_at: self.requested_at,
            state: SignRequestState::parse(&self.state)
                .ok_or_else(|| corrupt(format!("unknown request state {:?}", self.state)))?,
            signed_version_id: self.signed_version_id,
            done_at: self.done_at,
            note: self.note.clone(),
            reason: self.reason.clone(),
        })
    }
}

fn collect<R, T>(
    rows: Vec<R>,
    convert: impl Fn(&R) -> Result<T, ArchiveError>,
) -> Result<Vec<T>, ArchiveError> {
    rows.iter().map(convert).collect()
}

// ---- statements --------------------------------------------------------------------------

macro_rules! user_columns {
    () => {
        "u.user_id, u.username, u.display_name, u.role, u.password_hash, u.disabled, \
         u.created_at, u.password_changed_at"
    };
}

macro_rules! token_columns {
    () => {
        "token_id, user_id, name, scopes, created_at, expires_at, revoked_at, last_used_at"
    };
}

macro_rules! key_columns {
    () => {
        "key_id, user_id, name, kind, subject, not_after, certificate_sha256, \
         signature_image IS NOT NULL AS has_image, created_at, disabled"
    };
}

macro_rules! request_columns {
    () => {
        "request_id, document_id, official_id, requested_by, requested_at, state, \
         signed_version_id, done_at, note, reason"
    };
}

/// The statements of this module, on an open transaction of either backend.
trait AccountTx: Tx {
    async fn insert_user(
        &mut self,
        user: &NewUser,
        now: OffsetDateTime,
    ) -> Result<i64, sqlx::Error>;
    async fn user_row(&mut self, user_id: i64) -> Result<Option<UserRow>, sqlx::Error>;
    async fn user_row_by_name(&mut self, username: &str) -> Result<Option<UserRow>, sqlx::Error>;
    async fn user_rows(&mut self) -> Result<Vec<UserRow>, sqlx::Error>;
    async fn update_password(
        &mut self,
        user_id: i64,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error>;
    async fn update_disabled(
        &mut self,
        user_id: i64,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error>;

    async fn insert_session(
        &mut self,
        user_id: i64,
        digest: &str,
        csrf_token: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), sqlx::Error>;
    async fn session_row(
        &mut self,
        digest: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SessionRow>, sqlx::Error>;
    async fn update_session(
        &mut self,
        digest: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), sqlx::Error>;
    async fn delete_session(&mut self, digest: &str) -> Result<(), sqlx::Error>;
    /// The number of sessions ended.
    async fn delete_user_sessions(&mut self, user_id: i64) -> Result<u64, sqlx::Error>;
    async fn delete_expired_sessions(&mut self, now: OffsetDateTime) -> Result<(), sqlx::Error>;

    #[allow(clippy::too_many_arguments)]
    async fn insert_token(
        &mut self,
        user_id: i64,
        name: &str,
        scopes: &str,
        digest: &str,
        expires_at: Option<OffsetDateTime>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<i64, sqlx::Error>;
    async fn token_row(&mut self, token_id: i64) -> Result<Option<TokenRow>, sqlx::Error>;
    async fn token_row_by_digest(&mut self, digest: &str) -> Result<Option<TokenRow>, sqlx::Error>;
    async fn token_rows(&mut self, user_id: i64) -> Result<Vec<TokenRow>, sqlx::Error>;
    async fn revoke_token(&mut self, token_id: i64, now: OffsetDateTime)
    -> Result<(), sqlx::Error>;
    /// The number of tokens revoked.
    async fn revoke_user_tokens(
        &mut self,
        user_id: i64,
        now: OffsetDateTime,
    ) -> Result<u64, sqlx::Error>;
    /// Moves the last use forward to `now` (stored times are whole seconds, so a busy
    /// token is written at most once a second).
    async fn touch_token(&mut self, token_id: i64, now: OffsetDateTime) -> Result<(), sqlx::Error>;

    async fn insert_key(
        &mut self,
        key: &NewSigningKey,
        certificate_sha256: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<i64, sqlx::Error>;
    async fn key_row(&mut self, key_id: i64) -> Result<Option<KeyRow>, sqlx::Error>;
    async fn key_row_by_name(
        &mut self,
        user_id: i64,
        name: &str,
    ) -> Result<Option<KeyRow>, sqlx::Error>;
    async fn key_rows(&mut self, user_id: Option<i64>) -> Result<Vec<KeyRow>, sqlx::Error>;
    async fn material_row(&mut self, key_id: i64) -> Result<Option<MaterialRow>, sqlx::Error>;
    async fn update_key_disabled(&mut self, key_id: i64, disabled: bool)
    -> Result<(), sqlx::Error>;

    async fn document_exists(&mut self, document_id: i64) -> Result<bool, sqlx::Error>;
    /// `(document_id, kind)` of a version.
    async fn version_of(&mut self, version_id: i64) -> Result<Option<(i64, String)>, sqlx::Error>;
    async fn insert_request(
        &mut self,
        document_id: i64,
        official_id: i64,
        note: Option<&str>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<i64, sqlx::Error>;
    async fn request_row(&mut self, request_id: i64) -> Result<Option<RequestRow>, sqlx::Error>;
    async fn pending_request(
        &mut self,
        document_id: i64,
        official_id: i64,
    ) -> Result<Option<RequestRow>, sqlx::Error>;
    async fn request_rows_for(
        &mut self,
        official_id: i64,
        state: Option<&str>,
    ) -> Result<Vec<RequestRow>, sqlx::Error>;
    async fn request_rows_of(&mut self, document_id: i64) -> Result<Vec<RequestRow>, sqlx::Error>;
    /// Closes a pending request; the number of rows changed (0 when it was not pending).
    async fn close_request(
        &mut self,
        request_id: i64,
        state: SignRequestState,
        signed_version_id: Option<i64>,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64, sqlx::Error>;
    async fn any_request(
        &mut self,
        document_id: i64,
        official_id: i64,
    ) -> Result<bool, sqlx::Error>;
}

macro_rules! impl_account_tx {
    ($db:ty) => {
        impl AccountTx for Transaction<'_, $db> {
            async fn insert_user(
                &mut self,
                user: &NewUser,
                now: OffsetDateTime,
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO app_user (username, display_name, role, password_hash,
                         disabled, created_at, password_changed_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6, $6) RETURNING user_id",
                )
                .bind(&user.username)
                .bind(&user.display_name)
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(false)
                .bind(now)
                .fetch_one(&mut **self)
                .await
            }

            async fn user_row(&mut self, user_id: i64) -> Result<Option<UserRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM app_user u WHERE u.user_id = $1"
                ))
                .bind(user_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn user_row_by_name(
                &mut self,
                username: &str,
            ) -> Result<Option<UserRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM app_user u WHERE u.username = $1"
                ))
                .bind(username)
                .fetch_optional(&mut **self)
                .await
            }

            async fn user_rows(&mut self) -> Result<Vec<UserRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM app_user u ORDER BY u.username"
                ))
                .fetch_all(&mut **self)
                .await
            }

            async fn update_password(
                &mut self,
                user_id: i64,
                hash: &str,
                now: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE app_user SET password_hash = $2, password_changed_at = $3,
                         updated_at = $3
                     WHERE user_id = $1",
                )
                .bind(user_id)
                .bind(hash)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn update_disabled(
                &mut self,
                user_id: i64,
                disabled: bool,
                now: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE app_user SET disabled = $2, updated_at = $3 WHERE user_id = $1")
                    .bind(user_id)
                    .bind(disabled)
                    .bind(now)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn insert_session(
                &mut self,
                user_id: i64,
                digest: &str,
                csrf_token: &str,
                now: OffsetDateTime,
                expires_at: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO user_session (secret_digest, user_id, csrf_token, created_at,
                         expires_at, last_seen_at)
                     VALUES ($1, $2, $3, $4, $5, $4)",
                )
                .bind(digest)
                .bind(user_id)
                .bind(csrf_token)
                .bind(now)
                .bind(expires_at)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn session_row(
                &mut self,
                digest: &str,
                now: OffsetDateTime,
            ) -> Result<Option<SessionRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    ", s.csrf_token, s.created_at AS session_created_at, s.expires_at,
                         s.last_seen_at
                     FROM user_session s JOIN app_user u ON u.user_id = s.user_id
                     WHERE s.secret_digest = $1 AND s.expires_at > $2 AND NOT u.disabled"
                ))
                .bind(digest)
                .bind(now)
                .fetch_optional(&mut **self)
                .await
            }

            async fn update_session(
                &mut self,
                digest: &str,
                now: OffsetDateTime,
                expires_at: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                // An expired session stays expired: touching cannot revive it.
                sqlx::query(
                    "UPDATE user_session SET last_seen_at = $2, expires_at = $3
                     WHERE secret_digest = $1 AND expires_at > $2",
                )
                .bind(digest)
                .bind(now)
                .bind(expires_at)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn delete_session(&mut self, digest: &str) -> Result<(), sqlx::Error> {
                sqlx::query("DELETE FROM user_session WHERE secret_digest = $1")
                    .bind(digest)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn delete_user_sessions(&mut self, user_id: i64) -> Result<u64, sqlx::Error> {
                let done = sqlx::query("DELETE FROM user_session WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut **self)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn delete_expired_sessions(
                &mut self,
                now: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query("DELETE FROM user_session WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn insert_token(
                &mut self,
                user_id: i64,
                name: &str,
                scopes: &str,
                digest: &str,
                expires_at: Option<OffsetDateTime>,
                actor: &str,
                now: OffsetDateTime,
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO api_token (user_id, name, scopes, secret_digest, created_at,
                         created_by, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING token_id",
                )
                .bind(user_id)
                .bind(name)
                .bind(scopes)
                .bind(digest)
                .bind(now)
                .bind(actor)
                .bind(expires_at)
                .fetch_one(&mut **self)
                .await
            }

            async fn token_row(&mut self, token_id: i64) -> Result<Option<TokenRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM api_token WHERE token_id = $1"
                ))
                .bind(token_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn token_row_by_digest(
                &mut self,
                digest: &str,
            ) -> Result<Option<TokenRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM api_token WHERE secret_digest = $1"
                ))
                .bind(digest)
                .fetch_optional(&mut **self)
                .await
            }

            async fn token_rows(&mut self, user_id: i64) -> Result<Vec<TokenRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM api_token WHERE user_id = $1 ORDER BY token_id"
                ))
                .bind(user_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn revoke_token(
                &mut self,
                token_id: i64,
                now: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE api_token SET revoked_at = $2
                     WHERE token_id = $1 AND revoked_at IS NULL",
                )
                .bind(token_id)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn revoke_user_tokens(
                &mut self,
                user_id: i64,
                now: OffsetDateTime,
            ) -> Result<u64, sqlx::Error> {
                let done = sqlx::query(
                    "UPDATE api_token SET revoked_at = $2
                     WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut **self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn touch_token(
                &mut self,
                token_id: i64,
                now: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE api_token SET last_used_at = $2
                     WHERE token_id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
                )
                .bind(token_id)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn insert_key(
                &mut self,
                key: &NewSigningKey,
                certificate_sha256: &str,
                actor: &str,
                now: OffsetDateTime,
            ) -> Result<i64, sqlx::Error> {
                let (pkcs12, module, token_label, key_label) = match &key.storage {
                    KeyStorage::Pkcs12 { sealed } => (Some(sealed.as_slice()), None, None, None),
                    KeyStorage::Pkcs11 {
                        module,
                        token_label,
                        key_label,
                    } => (
                        None,
                        Some(module.as_str()),
                        Some(token_label.as_str()),
                        Some(key_label.as_str()),
                    ),
                };
                sqlx::query_scalar(
                    "INSERT INTO signing_key (user_id, name, kind, pkcs12, pkcs11_module,
                         token_label, key_label, certificate, certificate_sha256, subject,
                         not_after, signature_image, disabled, created_at, created_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                     RETURNING key_id",
                )
                .bind(key.user_id)
                .bind(&key.name)
                .bind(key.storage.kind())
                .bind(pkcs12)
                .bind(module)
                .bind(token_label)
                .bind(key_label)
                .bind(key.certificate_der.as_slice())
                .bind(certificate_sha256)
                .bind(&key.subject)
                .bind(key.not_after)
                .bind(key.signature_image.as_deref())
                .bind(false)
                .bind(now)
                .bind(actor)
                .fetch_one(&mut **self)
                .await
            }

            async fn key_row(&mut self, key_id: i64) -> Result<Option<KeyRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    key_columns!(),
                    " FROM signing_key WHERE key_id = $1"
                ))
                .bind(key_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn key_row_by_name(
                &mut self,
                user_id: i64,
                name: &str,
            ) -> Result<Option<KeyRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    key_columns!(),
                    " FROM signing_key WHERE user_id = $1 AND name = $2"
                ))
                .bind(user_id)
                .bind(name)
                .fetch_optional(&mut **self)
                .await
            }

            async fn key_rows(&mut self, user_id: Option<i64>) -> Result<Vec<KeyRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    key_columns!(),
                    " FROM signing_key WHERE $1 IS NULL OR user_id = $1
                      ORDER BY user_id, key_id"
                ))
                .bind(user_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn material_row(
                &mut self,
                key_id: i64,
            ) -> Result<Option<MaterialRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    key_columns!(),
                    ", pkcs12, pkcs11_module, token_label, key_label, certificate,
                         signature_image
                     FROM signing_key WHERE key_id = $1"
                ))
                .bind(key_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn update_key_disabled(
                &mut self,
                key_id: i64,
                disabled: bool,
            ) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE signing_key SET disabled = $2 WHERE key_id = $1")
                    .bind(key_id)
                    .bind(disabled)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn document_exists(&mut self, document_id: i64) -> Result<bool, sqlx::Error> {
                let found: Option<i64> =
                    sqlx::query_scalar("SELECT document_id FROM documents WHERE document_id = $1")
                        .bind(document_id)
                        .fetch_optional(&mut **self)
                        .await?;
                Ok(found.is_some())
            }

            async fn version_of(
                &mut self,
                version_id: i64,
            ) -> Result<Option<(i64, String)>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT document_id, kind FROM document_versions WHERE version_id = $1",
                )
                .bind(version_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn insert_request(
                &mut self,
                document_id: i64,
                official_id: i64,
                note: Option<&str>,
                actor: &str,
                now: OffsetDateTime,
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO sign_request (document_id, official_id, requested_by,
                         requested_at, state, note)
                     VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING request_id",
                )
                .bind(document_id)
                .bind(official_id)
                .bind(actor)
                .bind(now)
                .bind(note)
                .fetch_one(&mut **self)
                .await
            }

            async fn request_row(
                &mut self,
                request_id: i64,
            ) -> Result<Option<RequestRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    request_columns!(),
                    " FROM sign_request WHERE request_id = $1"
                ))
                .bind(request_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn pending_request(
                &mut self,
                document_id: i64,
                official_id: i64,
            ) -> Result<Option<RequestRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    request_columns!(),
                    " FROM sign_request
                      WHERE document_id = $1 AND official_id = $2 AND state = 'pending'"
                ))
                .bind(document_id)
                .bind(official_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn request_rows_for(
                &mut self,
                official_id: i64,
                state: Option<&str>,
            ) -> Result<Vec<RequestRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    request_columns!(),
                    " FROM sign_request
                      WHERE official_id = $1 AND ($2 IS NULL OR state = $2)
                      ORDER BY requested_at DESC, request_id DESC"
                ))
                .bind(official_id)
                .bind(state)
                .fetch_all(&mut **self)
                .await
            }

            async fn request_rows_of(
                &mut self,
                document_id: i64,
            ) -> Result<Vec<RequestRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    request_columns!(),
                    " FROM sign_request WHERE document_id = $1 ORDER BY request_id"
                ))
                .bind(document_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn close_request(
                &mut self,
                request_id: i64,
                state: SignRequestState,
                signed_version_id: Option<i64>,
                reason: Option<&str>,
                now: OffsetDateTime,
            ) -> Result<u64, sqlx::Error> {
                let done = sqlx::query(
                    "UPDATE sign_request SET state = $2, signed_version_id = $3, reason = $4,
                         done_at = $5
                     WHERE request_id = $1 AND state = 'pending'",
                )
                .bind(request_id)
                .bind(state.as_str())
                .bind(signed_version_id)
                .bind(reason)
                .bind(now)
                .execute(&mut **self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn any_request(
                &mut self,
                document_id: i64,
                official_id: i64,
            ) -> Result<bool, sqlx::Error> {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT request_id FROM sign_request
                     WHERE document_id = $1 AND official_id = $2 LIMIT 1",
                )
                .bind(document_id)
                .bind(official_id)
                .fetch_optional(&mut **self)
                .await?;
                Ok(found.is_some())
            }
        }
    };
}

impl_account_tx!(Postgres);
impl_account_tx!(Sqlite);

// ---- operations --------------------------------------------------------------------------

async fn user_named<T: AccountTx>(tx: &mut T, username: &str) -> Result<UserRow, ArchiveError> {
    tx.user_row_by_name(username)
        .await?
        .ok_or_else(|| ArchiveError::UserNotFound {
            user: username.to_owned(),
        })
}

async fn user_with_id<T: AccountTx>(tx: &mut T, user_id: i64) -> Result<UserRow, ArchiveError> {
    tx.user_row(user_id)
        .await?
        .ok_or_else(|| ArchiveError::UserNotFound {
            user: format!("#{user_id}"),
        })
}

/// How a pending sign request ends.
enum Closing<'r> {
    /// By the signed version.
    Signed(i64),
    /// With the official's reason.
    Rejected(&'r str),
}

/// Closes a pending request (checked by the caller) and appends its audit entry: the one
/// path of `complete_sign_request` and `reject_sign_request`.
async fn close_pending<T: AccountTx>(
    tx: &mut T,
    row: &RequestRow,
    request_id: i64,
    closing: Closing<'_>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), ArchiveError> {
    let (state, version, reason, action) = match closing {
        Closing::Signed(version_id) => (
            SignRequestState::Signed,
            Some(version_id),
            None,
            "sign.complete",
        ),
        Closing::Rejected(reason) => (
            SignRequestState::Rejected,
            None,
            Some(reason),
            "sign.reject",
        ),
    };
    if tx
        .close_request(request_id, state, version, reason, now)
        .await?
        != 1
    {
        return Err(corrupt(format!(
            "sign request {request_id} changed meanwhile"
        )));
    }
    let official = user_with_id(tx, row.official_id).await?;
    let mut details = serde_json::json!({
        "request_id": request_id,
        "official": official.username,
    });
    match closing {
        Closing::Signed(version_id) => details["version_id"] = version_id.into(),
        Closing::Rejected(reason) => details["reason"] = reason.into(),
    }
    append(
        tx,
        AuditRecord {
            actor,
            action,
            object_kind: "document",
            object_id: &row.document_id.to_string(),
            details,
        },
        now,
    )
    .await?;
    Ok(())
}

async fn pending_request_row<T: AccountTx>(
    tx: &mut T,
    request_id: i64,
) -> Result<RequestRow, ArchiveError> {
    let row = tx
        .request_row(request_id)
        .await?
        .ok_or(ArchiveError::SignRequestNotFound { request_id })?;
    if row.state != SignRequestState::Pending.as_str() {
        return Err(ArchiveError::SignRequestClosed {
            request_id,
            state: row.state.clone(),
        });
    }
    Ok(row)
}

impl Archive {
    /// Creates a user account.
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] (username, display name, a password hash that is not a
    /// PHC string, actor), [`ArchiveError::UserExists`], [`ArchiveError::Database`].
    pub async fn add_user(
        &self,
        user: &NewUser,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<User, ArchiveError> {
        let username = checked_username(&user.username)?;
        let display_name = checked_optional("display_name", Some(&user.display_name), 200)?
            .unwrap_or_else(|| username.clone());
        checked_password_hash(&user.password_hash)?;
        let actor = checked_actor(actor)?;
        let user = NewUser {
            username,
            display_name,
            ..user.clone()
        };
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            if tx.user_row_by_name(&user.username).await?.is_some() {
                return Err(ArchiveError::UserExists { username: user.username });
            }
            let user_id = tx.insert_user(&user, now).await?;
            append(&mut tx, AuditRecord {
                actor: &actor,
                action: "user.add",
                object_kind: "user",
                object_id: &user.username,
                details: serde_json::json!({ "user_id": user_id, "role": user.role.as_str() }),
            }, now).await?;
            let row = user_with_id(&mut tx, user_id).await?;
            tx.commit().await?;
            row.to_user()
        })
    }

    /// The user `user_id`.
    ///
    /// # Errors
    /// [`ArchiveError::UserNotFound`], [`ArchiveError::Database`].
    pub async fn user(&self, user_id: i64) -> Result<User, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let row = user_with_id(&mut tx, user_id).await?;
            tx.commit().await?;
            row.to_user()
        })
    }

    /// The user named `username` with their password hash (for a login), or `None`.
    /// Disabled users are returned too: the caller refuses them.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn user_by_name(
        &self,
        username: &str,
    ) -> Result<Option<(User, String)>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let row = tx.user_row_by_name(username).await?;
            tx.commit().await?;
            row.map(|row| Ok::<_, ArchiveError>((row.to_user()?, row.password_hash)))
                .transpose()
        })
    }

    /// Every user, by username.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn users(&self) -> Result<Vec<User>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let rows = tx.user_rows().await?;
            tx.commit().await?;
            collect(rows, UserRow::to_user)
        })
    }

    /// Replaces a user's password hash and ends all their sessions (whoever had the old
    /// password is logged out). API tokens are kept.
    ///
    /// # Errors
    /// [`ArchiveError::UserNotFound`], [`ArchiveError::FieldInvalid`] (not a PHC string,
    /// actor), [`ArchiveError::Database`].
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        checked_password_hash(password_hash)?;
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let row = user_named(&mut tx, username).await?;
            tx.update_password(row.user_id, password_hash, now).await?;
            let ended = tx.delete_user_sessions(row.user_id).await?;
            append(&mut tx, AuditRecord {
                actor: &actor,
                action: "user.password",
                object_kind: "user",
                object_id: &row.username,
                details: serde_json::json!({ "sessions_ended": ended }),
            }, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Disables or enables a user. Disabling ends their sessions and revokes their API
    /// tokens (enabling does not bring the tokens back). Setting the state the user already
    /// has changes nothing and writes no audit entry.
    ///
    /// # Errors
    /// [`ArchiveError::UserNotFound`], [`ArchiveError::FieldInvalid`] (actor),
    /// [`ArchiveError::Database`].
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let row = user_named(&mut tx, username).await?;
            if row.disabled == disabled {
                return Ok(());
            }
            tx.update_disabled(row.user_id, disabled, now).await?;
            let (action, details) = if disabled {
                let ended = tx.delete_user_sessions(row.user_id).await?;
                let revoked = tx.revoke_user_tokens(row.user_id, now).await?;
                ("user.disable", serde_json::json!({
                    "sessions_ended": ended,
                    "tokens_revoked": revoked,
                }))
            } else {
                ("user.enable", serde_json::json!({}))
            };
            append(&mut tx, AuditRecord {
                actor: &actor,
                action,
                object_kind: "user",
                object_id: &row.username,
                details,
            }, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Records a login attempt in the audit trail (`user.login` or `user.login-failed`)
    /// from `remote` (the client address). A name that is not an account is not written
    /// down (people type their password into the name field; the trail is permanent).
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn record_login(
        &self,
        username: &str,
        ok: bool,
        remote: &str,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let remote: String = remote
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let known = tx.user_row_by_name(username).await?.map(|row| row.username);
            // A failed attempt is not the account holder's act: whoever typed the name is
            // unknown.
            let object_id = known.as_deref().unwrap_or("");
            let actor = if ok { known.as_deref().unwrap_or("anonymous") } else { "anonymous" };
            append(&mut tx, AuditRecord {
                actor,
                action: if ok { "user.login" } else { "user.login-failed" },
                object_kind: "user",
                object_id,
                details: serde_json::json!({ "remote": remote, "known_user": known.is_some() }),
            }, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Starts a session for `user_id`, stored under the digest of its secret. Expired
    /// sessions of everyone are swept at the same time.
    ///
    /// # Errors
    /// [`ArchiveError::UserNotFound`], [`ArchiveError::UserDisabled`],
    /// [`ArchiveError::FieldInvalid`] (digest, CSRF token, `expires_at` not after `now`),
    /// [`ArchiveError::Database`].
    pub async fn create_session(
        &self,
        user_id: i64,
        secret_digest: &str,
        csrf_token: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        checked_digest("secret_digest", secret_digest)?;
        if csrf_token.len() < 16
            || csrf_token.len() > 200
            || !csrf_token.is_ascii()
            || csrf_token.bytes().any(|b| b.is_ascii_control())
        {
            return Err(invalid(
                "csrf_token",
                "",
                "expected 16 to 200 printable ASCII characters",
            ));
        }
        let now = stored_time(now);
        let expires_at = stored_time(expires_at);
        if expires_at <= now {
            return Err(invalid(
                "expires_at",
                &expires_at.to_string(),
                "not after now",
            ));
        }
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let row = user_with_id(&mut tx, user_id).await?;
            if row.disabled {
                return Err(ArchiveError::UserDisabled { username: row.username });
            }
            tx.delete_expired_sessions(now).await?;
            tx.insert_session(user_id, secret_digest, csrf_token, now, expires_at).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The session stored under `secret_digest`, or `None` when there is none, it expired
    /// (`expires_at <= now`) or its user is disabled.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn session(
        &self,
        secret_digest: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, ArchiveError> {
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let row = tx.session_row(secret_digest, now).await?;
            tx.commit().await?;
            row.map(|row| Ok(Session {
                user: row.user.to_user()?,
                csrf_token: row.csrf_token,
                created_at: row.session_created_at,
                expires_at: row.expires_at,
                last_seen_at: row.last_seen_at,
            })).transpose()
        })
    }

    /// Moves a live session's idle expiry to `expires_at` (sliding expiry); an expired or
    /// unknown session is left as it is. Not audited: a session is not a record.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn touch_session(
        &self,
        secret_digest: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let (now, expires_at) = (stored_time(now), stored_time(expires_at));
        // One statement, outside the writers' lock: it touches no record and no audit.
        on_db!(&self.db, pool => {
            let mut tx = super::tx::uncancellable({
                let pool = pool.clone();
                async move { pool.begin().await }
            })
            .await?;
            tx.update_session(secret_digest, now, expires_at).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Ends a session (logout); nothing happens for an unknown digest.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn delete_session(&self, secret_digest: &str) -> Result<(), ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = super::tx::uncancellable({
                let pool = pool.clone();
                async move { pool.begin().await }
            })
            .await?;
            tx.delete_session(secret_digest).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Creates an API token for `user_id`, stored under the digest of its secret (the
    /// caller shows the secret once).
    ///
    /// # Errors
    /// [`ArchiveError::UserNotFound`], [`ArchiveError::UserDisabled`],
    /// [`ArchiveError::FieldInvalid`] (name, no scope, digest, `expires_at` not after `now`,
    /// actor), [`ArchiveError::Database`].
    #[allow(clippy::too_many_arguments)]
    pub async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        scopes: &[Scope],
        secret_digest: &str,
        expires_at: Option<OffsetDateTime>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<ApiToken, ArchiveError> {
        let name = checked_text("name", name, 100)?;
        if scopes.is_empty() {
            return Err(invalid("scopes", "", "a token needs at least one scope"));
        }
        let scopes = scopes_text(scopes);
        checked_digest("secret_digest", secret_digest)?;
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        let expires_at = expires_at.map(stored_time);
        if let Some(at) = expires_at.filter(|at| *at <= now) {
            return Err(invalid("expires_at", &at.to_string(), "not after now"));
        }
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let user = user_with_id(&mut tx, user_id).await?;
            if user.disabled {
                return Err(ArchiveError::UserDisabled { username: user.username });
            }
            let token_id = tx
                .insert_token(user_id, &name, &scopes, secret_digest, expires_at, &actor, now)
                .await?;
            append(&mut tx, AuditRecord {
                actor: &actor,
                action: "token.create",
                object_kind: "token",
                object_id: &token_id.to_string(),
                details: serde_json::json!({
                    "user": user.username,
                    "name": name,
                    "scopes": scopes,
                    "expires_at": expires_at.map(|at| at.unix_timestamp()),
                }),
            }, now).await?;
            let row = tx.token_row(token_id).await?
                .ok_or_else(|| corrupt(format!("token {token_id} vanished")))?;
            tx.commit().await?;
            row.to_token()
        })
    }

    /// The live token stored under `secret_digest` with its user, or `None` when there is
    /// none, it is revoked or expired, or its user is disabled. Records the use
    /// (`last_used_at`, not audited).
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn token(
        &self,
        secret_digest: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(User, ApiToken)>, ArchiveError> {
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let Some(row) = tx.token_row_by_digest(secret_digest).await? else {
                return Ok(None);
            };
            let user = user_with_id(&mut tx, row.user_id).await?;
            tx.commit().await?;
            if !row.is_live(now) || user.disabled {
                return Ok(None);
            }
            let mut token = row.to_token()?;
            if token.last_used_at.is_none_or(|at| at < now) {
                // One statement, outside the writers' lock (not a record, not audited).
                let mut tx = super::tx::uncancellable({
                let pool = pool.clone();
                async move { pool.begin().await }
            })
            .await?;
                tx.touch_token(token.token_id, now).await?;
                tx.commit().await?;
                token.last_used_at = Some(now);
            }
            Ok(Some((user.to_user()?, token)))
        })
    }

    /// The tokens of `user_id`, revoked and expired ones included, oldest first.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn tokens(&self, user_id: i64) -> Result<Vec<ApiToken>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let rows = tx.token_rows(user_id).await?;
            tx.commit().await?;
            collect(rows, TokenRow::to_token)
        })
    }

    /// Revokes a token; revoking a revoked token returns it unchanged (no audit entry).
    ///
    /// # Errors
    /// [`ArchiveError::TokenNotFound`], [`ArchiveError::FieldInvalid`] (actor),
    /// [`ArchiveError::Database`].
    pub async fn revoke_token(
        &self,
        token_id: i64,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<ApiToken, ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let row = tx.token_row(token_id).await?
                .ok_or(ArchiveError::TokenNotFound { token_id })?;
            if row.revoked_at.is_some() {
                return row.to_token();
            }
            tx.revoke_token(token_id, now).await?;
            let user = user_with_id(&mut tx, row.user_id).await?;
            append(&mut tx, AuditRecord {
                actor: &actor,
                action: "token.revoke",
                object_kind: "token",
                object_id: &token_id.to_string(),
                details: serde_json::json!({ "user": user.username, "name": row.name }),
            }, now).await?;
            let row = tx.token_row(token_id).await?
                .ok_or_else(|| corrupt(format!("token {token_id} vanished")))?;
            tx.commit().await?;
            row.to_token()
        })
    }

    /// Registers a signing key of `key.user_id`. The certificate must still be valid at
    /// `now`; its SHA-256 is computed here.
    ///
    /// # Errors
    /// [`ArchiveError::UserNotFound`], [`ArchiveError::SigningKeyExists`] (the user has a
    /// key of that name), [`ArchiveError::FieldInvalid`] (name, empty key or certificate,
    /// PKCS#11 labels, expired certificate, an image that is not a PNG or is larger than
    /// [`MAX_SIGNATURE_IMAGE_BYTES`], actor), [`ArchiveError::Database`].
    pub async fn add_signing_key(
        &self,
        key: &NewSigningKey,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<SigningKey, ArchiveError> {
        let name = checked_text("name", &key.name, 100)?;
        let storage = match &key.storage {
            KeyStorage::Pkcs12 { sealed } if sealed.is_empty() => {
                return Err(invalid("pkcs12", "", "empty key file"));
            }
            KeyStorage::Pkcs12 { sealed } => KeyStorage::Pkcs12 {
                sealed: sealed.clone(),
            },
            KeyStorage::Pkcs11 {
                module,
                token_label,
                key_label,
            } => KeyStorage::Pkcs11 {
                module: checked_text("pkcs11_module", module, 1000)?,
                token_label: checked_text("token_label", token_label, 200)?,
                key_label: checked_text("key_label", key_label, 200)?,
            },
        };
        if key.certificate_der.is_empty() {
            return Err(invalid("certificate", "", "empty"));
        }
        let subject = checked_text("subject", &key.subject, 1000)?;
        let now = stored_time(now);
        let not_after = stored_time(key.not_after);
        if not_after <= now {
            return Err(invalid(
                "certificate",
                &subject,
                &format!("the certificate expired at {not_after}"),
            ));
        }
        if let Some(image) = &key.signature_image {
            if !is_png(image) {
                return Err(invalid("signature_image", "", "not a PNG image"));
            }
            if image.len() > MAX_SIGNATURE_IMAGE_BYTES {
                return Err(invalid(
                    "signature_image",
                    "",
                    &format!("larger than {MAX_SIGNATURE_IMAGE_BYTES} bytes"),
                ));
            }
        }
        let actor = checked_actor(actor)?;
        let certificate_sha256 = Sha256Digest::of(&key.certificate_der).to_hex();
        let key = NewSigningKey {
            name,
            storage,
            subject,
            not_after,
            ..key.clone()
        };
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let user = user_with_id(&mut tx, key.user_id).await?;
            // Keys sign in someone's name: only officials hold them (CLI and API alike).
            if user.role != Role::Official.as_str() {
                return Err(invalid(
                    "user",
                    &user.username,
                    "signing keys belong to officials (role official)",
                ));
            }
            if tx.key_row_by_name(key.user_id, &key.name).await?.is_some() {
                return Err(ArchiveError::SigningKeyExists {
                    username: user.username,
                    name: key.name,
                });
            }
            let key_id = tx.insert_key(&key, &certificate_sha256, &actor, now).await?;
            append(&mut tx, AuditRecord {
                actor: &actor,
                action: "key.add",
                object_kind: "signing_key",
                object_id: &key_id.to_string(),
                details: serde_json::json!({
                    "user": user.username,
                    "name": key.name,
                    "kind": key.storage.kind(),
                    "certificate_sha256": certificate_sha256,
                    "not_after": not_after.unix_timestamp(),
                }),
            }, now).await?;
            let row = tx.key_row(key_id).await?
                .ok_or_else(|| corrupt(format!("signing key {key_id} vanished")))?;
            tx.commit().await?;
            row.to_key()
        })
    }

    /// The signing keys of `user_id`, disabled ones included, oldest first.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn signing_keys(&self, user_id: i64) -> Result<Vec<SigningKey>, ArchiveError> {
        self.key_list(Some(user_id)).await
    }

    /// Every signing key, by user then age.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn all_signing_keys(&self) -> Result<Vec<SigningKey>, ArchiveError> {
        self.key_list(None).await
    }

    async fn key_list(&self, user_id: Option<i64>) -> Result<Vec<SigningKey>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let rows = tx.key_rows(user_id).await?;
            tx.commit().await?;
            collect(rows, KeyRow::to_key)
        })
    }

    /// A signing key with its sealed key (or token labels), certificate and image, for
    /// signing. Disabled keys are returned too (`key.disabled`): the caller refuses them.
    ///
    /// # Errors
    /// [`ArchiveError::SigningKeyNotFound`], [`ArchiveError::Database`].
    pub async fn signing_key(&self, key_id: i64) -> Result<SigningKeyMaterial, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let row = tx.material_row(key_id).await?
                .ok_or(ArchiveError::SigningKeyNotFound { key_id })?;
            tx.commit().await?;
            row.into_material()
        })
    }

    /// Disables (or enables again) a signing key; no change, no audit entry.
    ///
    /// # Errors
    /// [`ArchiveError::SigningKeyNotFound`], [`ArchiveError::FieldInvalid`] (actor),
    /// [`ArchiveError::Database`].
    pub async fn set_signing_key_disabled(
        &self,
        key_id: i64,
        disabled: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let row = tx.key_row(key_id).await?
                .ok_or(ArchiveError::SigningKeyNotFound { key_id })?;
            if row.disabled == disabled {
                return Ok(());
            }
            tx.update_key_disabled(key_id, disabled).await?;
            append(&mut tx, AuditRecord {
                actor: &actor,
                action: if disabled { "key.disable" } else { "key.enable" },
                object_kind: "signing_key",
                object_id: &key_id.to_string(),
                details: serde_json::json!({ "user_id": row.user_id, "name": row.name }),
            }, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Asks official `official_id` to sign document `document_id`. When that official
    /// already has an open request for the document, it is returned as it is.
    ///
    /// # Errors
    /// [`ArchiveError::DocumentNotFound`], [`ArchiveError::UserNotFound`],
    /// [`ArchiveError::UserDisabled`], [`ArchiveError::FieldInvalid`] (the user is not an
    /// official, note, actor), [`ArchiveError::Database`].
    pub async fn request_signature(
        &self,
        document_id: i64,
        official_id: i64,
        note: Option<&str>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<SignRequest, ArchiveError> {
        let note = checked_optional("note", note, 2000)?;
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            if !tx.document_exists(document_id).await? {
                return Err(ArchiveError::DocumentNotFound { document_id });
            }
            let official = user_with_id(&mut tx, official_id).await?;
            if official.role != Role::Official.as_str() {
                return Err(invalid(
                    "official",
                    &official.username,
                    &format!("is a {}, not an official", official.role),
                ));
            }
            if official.disabled {
                return Err(ArchiveError::UserDisabled { username: official.username });
            }
            if let Some(open) = tx.pending_request(document_id, official_id).await? {
                tx.commit().await?;
                return open.to_request();
            }
            let request_id = tx
                .insert_request(document_id, official_id, note.as_deref(), &actor, now)
                .await?;
            append(&mut tx, AuditRecord {
                actor: &actor,
                action: "sign.request",
                object_kind: "document",
                object_id: &document_id.to_string(),
                details: serde_json::json!({
                    "request_id": request_id,
                    "official": official.username,
                    "note": note,
                }),
            }, now).await?;
            let row = tx.request_row(request_id).await?
                .ok_or_else(|| corrupt(format!("sign request {request_id} vanished")))?;
            tx.commit().await?;
            row.to_request()
        })
    }

    /// The requests addressed to `official_id` (in `state`, or all), newest first.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn sign_requests_for(
        &self,
        official_id: i64,
        state: Option<SignRequestState>,
    ) -> Result<Vec<SignRequest>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let rows = tx.request_rows_for(official_id, state.map(SignRequestState::as_str)).await?;
            tx.commit().await?;
            collect(rows, RequestRow::to_request)
        })
    }

    /// The requests about `document_id`, oldest first.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn sign_requests_of_document(
        &self,
        document_id: i64,
    ) -> Result<Vec<SignRequest>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let rows = tx.request_rows_of(document_id).await?;
            tx.commit().await?;
            collect(rows, RequestRow::to_request)
        })
    }

    /// Closes a pending request as signed: `signed_version_id` is the signed version of the
    /// request's document.
    ///
    /// # Errors
    /// [`ArchiveError::SignRequestNotFound`], [`ArchiveError::SignRequestClosed`] (already
    /// signed or refused), [`ArchiveError::VersionNotFound`], [`ArchiveError::FieldInvalid`]
    /// (a version of another document, or not a signed version; actor),
    /// [`ArchiveError::Database`].
    pub async fn complete_sign_request(
        &self,
        request_id: i64,
        signed_version_id: i64,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let row = pending_request_row(&mut tx, request_id).await?;
            let (document_id, kind) = tx.version_of(signed_version_id).await?
                .ok_or(ArchiveError::VersionNotFound { version_id: signed_version_id })?;
            if document_id != row.document_id {
                return Err(invalid(
                    "signed_version_id",
                    &signed_version_id.to_string(),
                    &format!("a version of document {document_id}, not of {}", row.document_id),
                ));
            }
            if kind != "signed" {
                return Err(invalid(
                    "signed_version_id",
                    &signed_version_id.to_string(),
                    &format!("a {kind} version, not a signed one"),
                ));
            }
            close_pending(&mut tx, &row, request_id, Closing::Signed(signed_version_id), &actor, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Closes a pending request as refused, with the official's reason.
    ///
    /// # Errors
    /// [`ArchiveError::SignRequestNotFound`], [`ArchiveError::SignRequestClosed`],
    /// [`ArchiveError::FieldInvalid`] (empty reason, actor), [`ArchiveError::Database`].
    pub async fn reject_sign_request(
        &self,
        request_id: i64,
        reason: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let reason = checked_text("reason", reason, 2000)?;
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let row = pending_request_row(&mut tx, request_id).await?;
            close_pending(&mut tx, &row, request_id, Closing::Rejected(&reason), &actor, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Whether `official_id` was ever asked to sign `document_id` (in any state): what an
    /// official may see.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn is_assigned_to(
        &self,
        document_id: i64,
        official_id: i64,
    ) -> Result<bool, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let found = tx.any_request(document_id, official_id).await?;
            tx.commit().await?;
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_pattern() {
        for good in ["an", "nguyen.van.an", "cb-01", "0admin", &"a".repeat(64)] {
            assert!(checked_username(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "An",
            "-an",
            ".an",
            "an an",
            "nguyễn",
            "an/b",
            &"a".repeat(65),
        ] {
            assert!(checked_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_scopes_and_states_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.as_str())
            );
        }
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        for state in SignRequestState::ALL {
            assert_eq!(SignRequestState::parse(state.as_str()), Some(state));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(
            scopes_text(&[Scope::Sign, Scope::Read, Scope::Sign]),
            "read,sign"
        );
    }

    #[test]
    fn secrets_are_not_accepted_where_digests_go() {
        let digest = crate::auth::secret_digest("hs_x");
        assert!(checked_digest("d", &digest).is_ok());
        let e = checked_digest("d", "hs_0123").unwrap_err();
        assert!(!e.to_string().contains("hs_0123"));
        assert!(checked_digest("d", &digest.to_uppercase()).is_err());
        assert!(checked_password_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").is_ok());
        let e = checked_password_hash("hunter2hunter2").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn key_storage_debug_hides_the_key() {
        let storage = KeyStorage::Pkcs12 {
            sealed: vec![0xAB; 40],
        };
        assert!(!format!("{storage:?}").contains("171"));
    }
}
