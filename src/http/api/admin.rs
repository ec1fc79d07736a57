//! Administration through the API (role admin only, `Permission::Admin`): user accounts,
//! officials' signing keys, trust anchors, the procedure catalogue and the effective
//! settings. The same archive and pipeline functions serve `hoso user`, `hoso key` and
//! `hoso procedure import` on the CLI.
//!
//! Every handler checks the permission before it reads anything, uploads included (the body
//! of a multipart request is only read after the check). Secrets never come back: password
//! hashes, sealed keys and key passwords are not part of any response.

use axum::Json;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath, ErrorBody};
use crate::archive::ArchiveError;
use crate::archive::accounts::{
    KeyStorage, MAX_SIGNATURE_IMAGE_BYTES, NewSigningKey, NewUser, Role, SigningKey, User,
};
use crate::archive::procedures::{CatalogueFormat, ImportReport};
use crate::auth;
use crate::config::redact_password;
use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::authz::Permission;
use crate::http::error::HttpError;
use crate::http::upload::Upload;
use crate::pipeline::trust_admin::{AddedAnchors, AnchorEntry, MAX_TRUST_UPLOAD_BYTES};

/// Largest PKCS#12 file read (a key, its certificate and a chain take a few kilobytes).
const MAX_P12_BYTES: u64 = 1 << 20;
/// Largest procedure catalogue read (a province's catalogue is a few megabytes).
const MAX_CATALOGUE_BYTES: u64 = 32 << 20;

pub fn router() -> OpenApiRouter<AppState> {
    // Multipart routes: the `Upload` extractor enforces the service's own limit.
    let uploads = OpenApiRouter::new()
        .routes(routes!(list_keys, add_key))
        .routes(routes!(list_trust, add_trust))
        .routes(routes!(import_procedures))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(list_users, add_user))
        .routes(routes!(update_user))
        .routes(routes!(add_pkcs11_key))
        .routes(routes!(update_key))
        .routes(routes!(remove_trust))
        .routes(routes!(settings))
        .merge(uploads)
}

// ---- users -------------------------------------------------------------------------------

/// A user account (never its password hash).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    /// clerk, official, archivist or admin.
    pub role: String,
    pub disabled: bool,
    #[serde(with = "crate::archive::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::archive::calendar::vn_time")]
    pub password_changed_at: OffsetDateTime,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            user_id: user.user_id,
            username: user.username,
            display_name: user.display_name,
            role: user.role.as_str().to_owned(),
            disabled: user.disabled,
            created_at: user.created_at,
            password_changed_at: user.password_changed_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// 2 to 64 lowercase letters, digits, `.`, `_` or `-`.
    pub username: String,
    /// Empty: the username.
    #[serde(default)]
    pub display_name: String,
    /// clerk, official, archivist or admin.
    pub role: String,
    /// At least 10 characters, not one character repeated.
    pub password: String,
}

/// Only what may change; a role is not changed in place (create a new account).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// A new password: the user's sessions end.
    pub password: Option<String>,
    /// `true` ends the user's sessions and revokes their API tokens; `false` enables the
    /// account again (revoked tokens stay revoked).
    pub disabled: Option<bool>,
}

fn field_invalid(field: &'static str, value: &str, reason: &str) -> Error {
    Error::Archive(ArchiveError::FieldInvalid {
        field,
        value: value.to_owned(),
        reason: reason.to_owned(),
    })
}

/// Checks a new password and hashes it on a blocking thread (argon2 is slow by design).
async fn password_hash(state: &AppState, password: String) -> Result<String> {
    auth::check_password_strength(&password)?;
    state
        .pipeline
        .run_blocking(move || Ok(auth::hash_password(&password)?))
        .await
}

async fn user_named(state: &AppState, username: &str) -> Result<User> {
    state
        .pipeline
        .archive()
        .user_by_name(username)
        .await?
        .map(|(user, _)| user)
        .ok_or_else(|| {
            Error::Archive(ArchiveError::UserNotFound {
                user: username.to_owned(),
            })
        })
}

/// Người dùng / every user account, disabled ones included.
#[utoipa::path(get, path = "/admin/users", tag = "admin",
    responses(
        (status = 200, body = [UserView]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn list_users(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<UserView>>> {
    caller.require(Permission::Admin)?;
    let users = state.pipeline.archive().users().await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// Thêm người dùng / create a user account.
#[utoipa::path(post, path = "/admin/users", tag = "admin", request_body = NewUserRequest,
    responses(
        (status = 201, body = UserView),
        (status = 403, body = ErrorBody),
        (status = 409, description = "user-exists", body = ErrorBody),
        (status = 422, description = "password-weak, field-invalid", body = ErrorBody),
    ))]
async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>)> {
    caller.require(Permission::Admin)?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        field_invalid(
            "role",
            &body.role,
            "expected clerk, official, archivist or admin",
        )
    })?;
    let password_hash = password_hash(&state, body.password).await?;
    let user = state
        .pipeline
        .archive()
        .add_user(
            &NewUser {
                username: body.username,
                display_name: body.display_name,
                role,
                password_hash,
            },
            &caller.actor(),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Đổi mật khẩu, khóa / mở khóa / set a new password, disable or enable an account.
///
/// Disabling ends the user's sessions and revokes their API tokens at once. The role of an
/// account cannot be changed: create a new account for the new role (and disable the old
/// one), so that the audit trail never shows one name acting under two roles.
#[utoipa::path(patch, path = "/admin/users/{username}", tag = "admin", request_body = UserPatch,
    params(("username" = String, Path)),
    responses(
        (status = 200, body = UserView),
        (status = 403, body = ErrorBody),
        (status = 404, description = "user-not-found", body = ErrorBody),
        (status = 422, description = "password-weak, field-invalid", body = ErrorBody),
    ))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> Result<Json<UserView>> {
    caller.require(Permission::Admin)?;
    if body.password.is_none() && body.disabled.is_none() {
        return Err(field_invalid(
            "body",
            "{}",
            "nothing to change: send password or disabled",
        ));
    }
    if body.disabled == Some(true) && username == caller.user.username {
        return Err(field_invalid(
            "disabled",
            "true",
            "administrators cannot disable their own account",
        ));
    }
    let archive = state.pipeline.archive();
    // 404 before the slow hash when there is no such user.
    user_named(&state, &username).await?;
    let actor = caller.actor();
    if let Some(password) = body.password {
        let hash = password_hash(&state, password).await?;
        archive
            .set_password(&username, &hash, &actor, state.now())
            .await?;
    }
    if let Some(disabled) = body.disabled {
        archive
            .set_disabled(&username, disabled, &actor, state.now())
            .await?;
    }
    Ok(Json(user_named(&state, &username).await?.into()))
}

// ---- signing keys ------------------------------------------------------------------------

/// A signing key (never the key itself).
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub key_id: i64,
    pub user_id: i64,
    /// The official it belongs to.
    pub username: String,
    pub name: String,
    /// pkcs12 or pkcs11.
    pub kind: String,
    pub subject: String,
    #[serde(with = "crate::archive::calendar::vn_time")]
    pub not_after: OffsetDateTime,
    pub certificate_sha256: String,
    pub has_image: bool,
    #[serde(with = "crate::archive::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    pub disabled: bool,
}

fn key_view(key: SigningKey, username: String) -> KeyView {
    KeyView {
        key_id: key.key_id,
        user_id: key.user_id,
        username,
        name: key.name,
        kind: key.kind.to_owned(),
        subject: key.subject,
        not_after: key.not_after,
        certificate_sha256: key.certificate_sha256,
        has_image: key.has_image,
        created_at: key.created_at,
        disabled: key.disabled,
    }
}

/// The multipart form of `POST /admin/keys` (documentation only: read by [`Upload`]).
#[derive(ToSchema)]
#[allow(dead_code)]
struct KeyUploadForm {
    /// Username of an official.
    user: String,
    /// How the official tells their keys apart, e.g. `Chữ ký số 2026`.
    name: String,
    /// The PKCS#12 file (.p12 / .pfx).
    #[schema(value_type = String, format = Binary)]
    p12: Vec<u8>,
    /// The PKCS#12 password: the key is re-sealed under it and it is not stored.
    password: String,
    /// PNG of the handwritten signature for the visible stamp.
    #[schema(value_type = Option<String>, format = Binary)]
    image: Option<Vec<u8>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11KeyRequest {
    /// Username of an official.
    pub user: String,
    pub name: String,
    /// Path of the PKCS#11 module on the server, e.g. `/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so`.
    pub module: String,
    pub token_label: String,
    pub key_label: String,
    /// The key's certificate, PEM.
    pub certificate_pem: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    pub disabled: bool,
}

/// The official named `username` (signing keys belong to officials only).
async fn official_named(state: &AppState, username: &str) -> Result<User> {
    let user = user_named(state, username).await?;
    if user.role != Role::Official {
        return Err(field_invalid(
            "user",
            username,
            &format!(
                "is a {}, not an official: signing keys belong to officials",
                user.role.as_str()
            ),
        ));
    }
    Ok(user)
}

/// A text field of an upload that must be present.
fn required<'u>(upload: &'u Upload, field: &'static str) -> Result<&'u str> {
    upload
        .field(field)
        .ok_or_else(|| field_invalid(field, "", "missing"))
}

/// The bytes of the file part `field` (`None` when absent or empty, as browsers send an
/// empty file input), at most `limit` bytes.
async fn file_part(upload: &Upload, field: &'static str, limit: u64) -> Result<Option<Vec<u8>>> {
    let Some(part) = upload.files.iter().find(|f| f.field == field && f.size > 0) else {
        return Ok(None);
    };
    if part.size > limit {
        return Err(Error::Http(HttpError::PayloadTooLarge {
            limit_bytes: limit,
        }));
    }
    tokio::fs::read(part.file.path())
        .await
        .map(Some)
        .map_err(|e| Error::Task(format!("reading the upload: {e}")))
}

/// Khóa ký số / every signing key of every official (never the key material).
#[utoipa::path(get, path = "/admin/keys", tag = "admin",
    responses(
        (status = 200, body = [KeyView]),
        (status = 403, body = ErrorBody),
    ))]
async fn list_keys(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<KeyView>>> {
    caller.require(Permission::Admin)?;
    let archive = state.pipeline.archive();
    let users = archive.users().await?;
    let keys = archive.all_signing_keys().await?;
    Ok(Json(
        keys.into_iter()
            .map(|key| {
                let owner = users
                    .iter()
                    .find(|u| u.user_id == key.user_id)
                    .map(|u| u.username.clone())
                    .unwrap_or_default();
                key_view(key, owner)
            })
            .collect(),
    ))
}

/// Thêm khóa PKCS#12 / register an official's PKCS#12 key: it is re-sealed under its own
/// password (AES-256, PBKDF2 600 000 iterations) and the password is not stored.
#[utoipa::path(post, path = "/admin/keys", tag = "admin",
    request_body(content = KeyUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = KeyView),
        (status = 403, body = ErrorBody),
        (status = 409, description = "signing-key-exists", body = ErrorBody),
        (status = 422, description = "signing-key-unreadable (wrong password, not PKCS#12), \
            field-invalid (not an official, expired certificate, image not PNG)", body = ErrorBody),
    ))]
async fn add_key(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<(StatusCode, Json<KeyView>)> {
    caller.require(Permission::Admin)?;
    let upload = Upload::from_request(request, &state).await?;
    let user = official_named(&state, required(&upload, "user")?).await?;
    let name = required(&upload, "name")?.to_owned();
    let password = upload.field("password").unwrap_or_default().to_owned();
    let p12 = file_part(&upload, "p12", MAX_P12_BYTES)
        .await?
        .ok_or(Error::Http(HttpError::FileMissing { field: "p12" }))?;
    let image = file_part(&upload, "image", MAX_SIGNATURE_IMAGE_BYTES as u64).await?;
    let (sealed, info) = state
        .pipeline
        .run_blocking(move || Ok(auth::seal_pkcs12(&p12, &password)?))
        .await?;
    let key = state
        .pipeline
        .archive()
        .add_signing_key(
            &NewSigningKey {
                user_id: user.user_id,
                name,
                storage: KeyStorage::Pkcs12 { sealed },
                certificate_der: info.certificate_der,
                subject: info.subject,
                not_after: info.not_after,
                signature_image: image,
            },
            &caller.actor(),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(key_view(key, user.username))))
}

/// Thêm khóa trên thiết bị (PKCS#11) / register a key that stays on a token or HSM (its PIN
/// is asked at signing time).
#[utoipa::path(post, path = "/admin/keys/pkcs11", tag = "admin", request_body = Pkcs11KeyRequest,
    responses(
        (status = 201, body = KeyView),
        (status = 403, body = ErrorBody),
        (status = 409, description = "signing-key-exists", body = ErrorBody),
        (status = 422, description = "signing-key-unreadable, field-invalid", body = ErrorBody),
    ))]
async fn add_pkcs11_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Pkcs11KeyRequest>,
) -> Result<(StatusCode, Json<KeyView>)> {
    caller.require(Permission::Admin)?;
    // Loading a module runs its code in the service: only modules the operator listed.
    if !state
        .settings
        .pkcs11_modules
        .iter()
        .any(|allowed| allowed == std::path::Path::new(&body.module))
    {
        return Err(Error::Archive(ArchiveError::FieldInvalid {
            field: "module",
            value: body.module,
            reason: "not a PKCS#11 module this service allows (hoso serve --pkcs11-module PATH)"
                .to_owned(),
        }));
    }
    let user = official_named(&state, &body.user).await?;
    let info = auth::certificate_info(body.certificate_pem.as_bytes())?;
    let key = state
        .pipeline
        .archive()
        .add_signing_key(
            &NewSigningKey {
                user_id: user.user_id,
                name: body.name,
                storage: KeyStorage::Pkcs11 {
                    module: body.module,
                    token_label: body.token_label,
                    key_label: body.key_label,
                },
                certificate_der: info.certificate_der,
                subject: info.subject,
                not_after: info.not_after,
                signature_image: None,
            },
            &caller.actor(),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(key_view(key, user.username))))
}

/// Khóa / mở khóa ký số / disable (or enable again) a signing key.
#[utoipa::path(patch, path = "/admin/keys/{id}", tag = "admin", request_body = KeyPatch,
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = KeyView),
        (status = 403, body = ErrorBody),
        (status = 404, description = "signing-key-not-found", body = ErrorBody),
    ))]
async fn update_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key_id): ApiPath<i64>,
    ApiJson(body): ApiJson<KeyPatch>,
) -> Result<Json<KeyView>> {
    caller.require(Permission::Admin)?;
    let archive = state.pipeline.archive();
    archive
        .set_signing_key_disabled(key_id, body.disabled, &caller.actor(), state.now())
        .await?;
    let key = archive.signing_key(key_id).await?.key;
    let owner = archive.user(key.user_id).await?.username;
    Ok(Json(key_view(key, owner)))
}

// ---- trust anchors -----------------------------------------------------------------------

/// A trusted root or issuing CA.
#[derive(Serialize, ToSchema)]
pub struct AnchorView {
    pub subject: String,
    /// SHA-256 of the DER certificate, lowercase hex (what `DELETE` takes).
    pub sha256: String,
    #[serde(with = "crate::archive::calendar::vn_time")]
    pub not_before: OffsetDateTime,
    #[serde(with = "crate::archive::calendar::vn_time")]
    pub not_after: OffsetDateTime,
    /// A root (subject = issuer) rather than an issuing CA.
    pub self_issued: bool,
    /// The folder it was loaded from.
    pub source: String,
    /// In the managed folder: added through the service and removable through it.
    pub managed: bool,
}

impl From<AnchorEntry> for AnchorView {
    fn from(anchor: AnchorEntry) -> Self {
        AnchorView {
            subject: anchor.subject,
            sha256: anchor.fingerprint.to_hex(),
            not_before: anchor.not_before,
            not_after: anchor.not_after,
            self_issued: anchor.self_issued,
            source: anchor.folder.display().to_string(),
            managed: anchor.managed,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TrustAdded {
    /// Newly trusted.
    pub added: Vec<AnchorView>,
    /// Trusted already: nothing written.
    pub already_trusted: Vec<AnchorView>,
    /// The audit entry of the last addition.
    pub audit_seq: Option<i64>,
}

impl From<AddedAnchors> for TrustAdded {
    fn from(added: AddedAnchors) -> Self {
        TrustAdded {
            added: added.added.into_iter().map(AnchorView::from).collect(),
            already_trusted: added
                .already_trusted
                .into_iter()
                .map(AnchorView::from)
                .collect(),
            audit_seq: added.audit_seq,
        }
    }
}

/// The multipart form of `POST /admin/trust` (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
struct TrustUploadForm {
    /// One or more parts: PEM (one or more certificates) or DER.
    #[schema(value_type = Vec<String>, format = Binary)]
    certificate: Vec<Vec<u8>>,
}

/// Chứng thư tin cậy / the trust anchors signatures are checked against.
#[utoipa::path(get, path = "/admin/trust", tag = "admin",
    responses(
        (status = 200, body = [AnchorView]),
        (status = 403, body = ErrorBody),
    ))]
async fn list_trust(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AnchorView>>> {
    caller.require(Permission::Admin)?;
    let pipeline = state.pipeline.clone();
    // The first call reads the trust folders.
    let anchors = state
        .pipeline
        .run_blocking(move || pipeline.trust_anchors())
        .await?;
    Ok(Json(anchors.into_iter().map(AnchorView::from).collect()))
}

/// Thêm chứng thư tin cậy / trust CA certificates: written to the managed trust folder and
/// used by the next signature or verification (audit entry `trust.add`).
#[utoipa::path(post, path = "/admin/trust", tag = "admin",
    request_body(content = TrustUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "At least one certificate added", body = TrustAdded),
        (status = 200, description = "All were trusted already", body = TrustAdded),
        (status = 403, body = ErrorBody),
        (status = 422, description = "trust-certificate-not-ca, trust-certificate-invalid", body = ErrorBody),
    ))]
async fn add_trust(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<(StatusCode, Json<TrustAdded>)> {
    caller.require(Permission::Admin)?;
    let upload = Upload::from_request(request, &state).await?;
    let mut certificates = Vec::new();
    for part in upload.files.iter().filter(|f| f.field == "certificate") {
        if part.size > MAX_TRUST_UPLOAD_BYTES {
            return Err(Error::Http(HttpError::PayloadTooLarge {
                limit_bytes: MAX_TRUST_UPLOAD_BYTES,
            }));
        }
        certificates.push(
            tokio::fs::read(part.file.path())
                .await
                .map_err(|e| Error::Task(format!("reading the upload: {e}")))?,
        );
    }
    if certificates.is_empty() {
        return Err(Error::Http(HttpError::FileMissing {
            field: "certificate",
        }));
    }
    let added = state
        .pipeline
        .add_trust_anchors(certificates, &caller.actor(), state.now())
        .await?;
    let status = if added.added.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(added.into())))
}

/// Bỏ chứng thư tin cậy / stop trusting an anchor added through the service (audit entry
/// `trust.remove`). Anchors of the configured folders are read-only here (409).
#[utoipa::path(delete, path = "/admin/trust/{sha256}", tag = "admin",
    params(("sha256" = String, Path, description = "SHA-256 fingerprint, hex")),
    responses(
        (status = 200, description = "Removed", body = AnchorView),
        (status = 403, body = ErrorBody),
        (status = 404, description = "trust-anchor-not-found", body = ErrorBody),
        (status = 409, description = "trust-anchor-read-only", body = ErrorBody),
    ))]
async fn remove_trust(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(sha256): ApiPath<String>,
) -> Result<Json<AnchorView>> {
    caller.require(Permission::Admin)?;
    let fingerprint: Sha256Digest = sha256
        .parse()
        .map_err(|_| field_invalid("sha256", &sha256, "expected 64 hex digits"))?;
    let removed = state
        .pipeline
        .remove_trust_anchor(&fingerprint, &caller.actor(), state.now())
        .await?;
    Ok(Json(removed.into()))
}

// ---- procedure catalogue -----------------------------------------------------------------

/// What a catalogue import did.
#[derive(Serialize, ToSchema)]
pub struct ImportReportView {
    /// The file name as sent.
    pub source: String,
    pub sha256: String,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub audit_seq: i64,
}

impl From<ImportReport> for ImportReportView {
    fn from(report: ImportReport) -> Self {
        ImportReportView {
            source: report.source,
            sha256: report.sha256,
            rows: report.rows,
            inserted: report.inserted,
            updated: report.updated,
            unchanged: report.unchanged,
            audit_seq: report.audit_seq,
        }
    }
}

/// The multipart form of `POST /admin/procedures` (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
struct CatalogueUploadForm {
    /// CSV (comma or semicolon) or JSON; `.json` / `.csv` file names decide, else the content.
    #[schema(value_type = String, format = Binary)]
    catalogue: Vec<u8>,
}

/// Nhập danh mục thủ tục / import the procedure catalogue (as `hoso procedure import`): all
/// or nothing; invalid rows are listed in the error message (422).
#[utoipa::path(post, path = "/admin/procedures", tag = "admin",
    request_body(content = CatalogueUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = ImportReportView),
        (status = 403, body = ErrorBody),
        (status = 422, description = "procedure-catalogue-invalid (rows listed), \
            procedure-catalogue-unreadable", body = ErrorBody),
    ))]
async fn import_procedures(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<ImportReportView>> {
    caller.require(Permission::Admin)?;
    let upload = Upload::from_request(request, &state).await?;
    let part = upload
        .files
        .iter()
        .find(|f| f.field == "catalogue")
        .ok_or(Error::Http(HttpError::FileMissing { field: "catalogue" }))?;
    let content = file_part(&upload, "catalogue", MAX_CATALOGUE_BYTES)
        .await?
        .unwrap_or_default();
    let format = CatalogueFormat::detect(&part.file_name, &content);
    let report = state
        .pipeline
        .archive()
        .import_procedures(
            &content,
            format,
            &part.file_name,
            &caller.actor(),
            state.now(),
        )
        .await?;
    Ok(Json(report.into()))
}

// ---- settings ----------------------------------------------------------------------------

/// `url` with the password of its user part and any `password=` query value replaced by
/// `***` (libpq also reads the password from the query string).
fn redact_url(url: &str) -> String {
    let redacted = redact_password(url);
    let Some((base, query)) = redacted.split_once('?') else {
        return redacted;
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// The effective settings, without secrets.
#[derive(Serialize, ToSchema)]
pub struct SettingsView {
    pub http: HttpSettingsView,
    pub service: ServiceView,
}

#[derive(Serialize, ToSchema)]
pub struct HttpSettingsView {
    pub upload_limit_bytes: u64,
    pub cookie_secure: bool,
    pub session_idle_secs: u64,
    pub session_max_secs: u64,
    pub public_url: Option<String>,
    /// With any password in it replaced by `***`.
    pub tsa_url: Option<String>,
    pub login_failures: u32,
    pub verify_per_minute: u32,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceView {
    /// sqlite or postgres.
    pub database_backend: String,
    /// The database URL with its password replaced by `***` (`None`: not known to this
    /// process, e.g. in tests).
    pub database: Option<String>,
    pub listen: Option<String>,
    pub data_dir: Option<String>,
    /// Configured trust folders (read-only to the service).
    pub trust_dirs: Vec<String>,
    /// Where anchors added through the service go.
    pub managed_trust_dir: Option<String>,
    pub ocr_languages: Option<String>,
    /// CPU-bound jobs at once.
    pub jobs: usize,
    pub agency_code: Option<String>,
    pub inbox: Option<String>,
}

/// Cấu hình / the effective configuration that is safe to show (no passwords).
#[utoipa::path(get, path = "/admin/settings", tag = "admin",
    responses(
        (status = 200, body = SettingsView),
        (status = 403, body = ErrorBody),
    ))]
async fn settings(State(state): State<AppState>, caller: Caller) -> Result<Json<SettingsView>> {
    caller.require(Permission::Admin)?;
    let http = &state.settings;
    let pipeline = &state.pipeline;
    let config = pipeline.config();
    let path = |p: &std::path::Path| p.display().to_string();
    Ok(Json(SettingsView {
        http: HttpSettingsView {
            upload_limit_bytes: http.upload_limit_bytes,
            cookie_secure: http.cookie_secure,
            session_idle_secs: http.session_idle.as_secs(),
            session_max_secs: http.session_max.as_secs(),
            public_url: http.public_url.as_deref().map(redact_url),
            tsa_url: http.tsa_url.as_deref().map(redact_url),
            login_failures: http.login_failures,
            verify_per_minute: http.verify_per_minute,
        },
        service: ServiceView {
            database_backend: pipeline.archive().backend().to_owned(),
            database: config.map(|c| match &c.database {
                crate::config::DatabaseTarget::Sqlite { path: file } => {
                    format!("sqlite:{}", file.display())
                }
                crate::config::DatabaseTarget::Postgres { url } => redact_url(url),
            }),
            listen: config.map(|c| c.listen.to_string()),
            data_dir: config.map(|c| path(&c.data_dir)),
            trust_dirs: pipeline.trust_dirs().iter().map(|d| path(d)).collect(),
            managed_trust_dir: pipeline.managed_trust_dir().map(path),
            ocr_languages: config.map(|c| c.ocr_languages.to_string()),
            jobs: pipeline.jobs(),
            agency_code: config.map(|c| c.agency_code.to_string()),
            inbox: config.and_then(|c| c.inbox.as_deref().map(path)),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://hoso:bí-mật@db:5432/hoso"),
            "postgres://hoso:***@db:5432/hoso"
        );
        assert_eq!(
            redact_url("postgres://db/hoso?user=hoso&password=secret&sslmode=require"),
            "postgres://db/hoso?user=hoso&password=***&sslmode=require"
        );
        assert_eq!(redact_url("http://tsa.example/"), "http://tsa.example/");
    }
}
