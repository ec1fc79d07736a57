//! Signing by officials: their keys (`GET /sign/keys`), the documents awaiting their
//! signature (`GET /sign/queue`) and what they signed (`GET /sign/signed`), where a visible
//! signature will go (`GET /sign/placement`), and signing one or many documents with one
//! password (`POST /sign`).
//!
//! Everything needs [`Permission::Sign`] (officials). An official uses only their own keys
//! and signs only documents a clerk asked them to sign (an open request); both are checked
//! for every document before the password is tried and before anything is signed. The
//! password (PKCS#12) or PIN (PKCS#11 token) opens the key for this one batch: it is never
//! logged or stored, and is wiped from memory once the key is open; attempts per key are
//! limited as logins are (`state.limits.signing_key`). The batch is one
//! `pipeline.sign_versions` call (one signing session: certificate checks once), each
//! document stored as its next version, verified, and its request closed.

use std::collections::HashMap;
use std::path::Path;

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::Uri;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use super::{ApiJson, ErrorBody, ErrorDetail, query_of};
use crate::archive::ArchiveError;
use crate::archive::accounts::{
    KeyStorage, SignRequest, SignRequestState, SigningKey, SigningKeyMaterial,
};
use crate::archive::documents::{DocumentRecord, DocumentRole};
use crate::error::{Coded, Error, Result};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::authz::Permission;
use crate::http::error::{HttpError, error_body, status_of};
use crate::pades::PadesError;
use crate::pades::key::{KeySigner, SoftwareKey};
use crate::pades::layout::RequestKind;
use crate::pades::pkcs11::{TokenKey, TokenKeyRef};
use crate::pades::sign::Level;
use crate::pipeline::sign::{AppearanceSettings, SignSettings, SignTarget, SignedVersionOutcome};

/// Most documents in one batch.
pub const MAX_BATCH: usize = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(keys))
        .routes(routes!(queue))
        .routes(routes!(signed))
        .routes(routes!(placement))
        .routes(routes!(sign))
}

// ---- lists --------------------------------------------------------------------------------

/// Chữ ký số của tôi / the caller's own signing keys (never their secret part).
#[utoipa::path(get, path = "/sign/keys", tag = "signing",
    responses(
        (status = 200, description = "SigningKey list", body = serde_json::Value),
        (status = 403, body = ErrorBody),
    ))]
async fn keys(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<SigningKey>>> {
    caller.require(Permission::Sign)?;
    let keys = state
        .pipeline
        .archive()
        .signing_keys(caller.user.user_id)
        .await?;
    Ok(Json(keys))
}

/// What an official sees of a document in their lists.
#[derive(Debug, Clone, Serialize)]
struct DocumentSummary {
    document_id: i64,
    /// Trích yếu, else type and number, else the file name.
    title: String,
    type_name: Option<String>,
    subject: Option<String>,
    /// Số và ký hiệu (`12/QĐ-UBND`).
    number: Option<String>,
    dossier_code: Option<String>,
    role: DocumentRole,
    /// The newest version.
    version: i64,
    version_id: i64,
    media_type: String,
    file_name: String,
}

fn summary_of(record: &DocumentRecord) -> Option<DocumentSummary> {
    let latest = record.latest()?;
    let m = &latest.metadata;
    let number = match (&m.code_number, &m.code_notation) {
        (Some(n), Some(s)) => Some(format!("{n}/{s}")),
        (Some(n), None) => Some(n.clone()),
        (None, Some(s)) => Some(s.clone()),
        (None, None) => None,
    };
    let heading = [m.type_name.clone(), number.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let title = m
        .subject
        .clone()
        .or_else(|| (!heading.is_empty()).then_some(heading))
        .unwrap_or_else(|| latest.file_name.clone());
    Some(DocumentSummary {
        document_id: record.document.document_id,
        title,
        type_name: m.type_name.clone(),
        subject: m.subject.clone(),
        number,
        dossier_code: record.document.dossier_code.clone(),
        role: record.document.role,
        version: latest.version,
        version_id: latest.version_id,
        media_type: latest.media_type.clone(),
        file_name: latest.file_name.clone(),
    })
}

/// A request to sign with the document it is about.
#[derive(Debug, Clone, Serialize)]
struct RequestItem {
    #[serde(flatten)]
    request: SignRequest,
    /// The version number of `signed_version_id` (requests in state `signed`).
    signed_version: Option<i64>,
    document: DocumentSummary,
}

async fn items(
    state: &AppState,
    caller: &Caller,
    wanted: SignRequestState,
) -> Result<Vec<RequestItem>> {
    let archive = state.pipeline.archive();
    let requests = archive
        .sign_requests_for(caller.user.user_id, Some(wanted))
        .await?;
    let mut items = Vec::with_capacity(requests.len());
    for request in requests {
        let record = archive.document(request.document_id).await?;
        let Some(document) = summary_of(&record) else {
            continue;
        };
        let signed_version = request.signed_version_id.and_then(|id| {
            record
                .versions
                .iter()
                .find(|v| v.version_id == id)
                .map(|v| v.version)
        });
        items.push(RequestItem {
            request,
            signed_version,
            document,
        });
    }
    Ok(items)
}

/// Chờ ký / the documents awaiting the caller's signature (open requests), newest request
/// first, each with its title, number, dossier and newest version.
#[utoipa::path(get, path = "/sign/queue", tag = "signing",
    responses(
        (status = 200, description = "Requests with their document", body = serde_json::Value),
        (status = 403, body = ErrorBody),
    ))]
async fn queue(State(state): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>> {
    caller.require(Permission::Sign)?;
    let items = items(&state, &caller, SignRequestState::Pending).await?;
    to_json(&items)
}

/// Đã ký / the requests the caller completed, newest signature first, with the version
/// their signature made.
#[utoipa::path(get, path = "/sign/signed", tag = "signing",
    responses(
        (status = 200, description = "Signed requests with their document", body = serde_json::Value),
        (status = 403, body = ErrorBody),
    ))]
async fn signed(State(state): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>> {
    caller.require(Permission::Sign)?;
    let mut items = items(&state, &caller, SignRequestState::Signed).await?;
    items.sort_by(|a, b| {
        (b.request.done_at, b.request.request_id).cmp(&(a.request.done_at, a.request.request_id))
    });
    to_json(&items)
}

fn to_json<T: Serialize>(value: &T) -> Result<Json<serde_json::Value>> {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| Error::Task(format!("cannot serialize the response: {e}")))
}

// ---- checks -------------------------------------------------------------------------------

/// The caller's own, enabled key (404 when there is no such key at all, 403 otherwise).
async fn own_key(state: &AppState, caller: &Caller, key_id: i64) -> Result<SigningKeyMaterial> {
    let material = state.pipeline.archive().signing_key(key_id).await?;
    if material.key.user_id != caller.user.user_id {
        return Err(Error::Http(HttpError::Forbidden {
            action: "use another official's signing key",
        }));
    }
    if material.key.disabled {
        return Err(Error::Http(HttpError::Forbidden {
            action: "use a disabled signing key",
        }));
    }
    Ok(material)
}

/// 403 for a document that exists but was never assigned to the caller, 404 for one that
/// does not exist.
async fn not_assigned(state: &AppState, document_id: i64) -> Error {
    match state.pipeline.archive().document(document_id).await {
        Ok(_) => Error::Http(HttpError::Forbidden {
            action: "sign a document not assigned to you",
        }),
        Err(e) => e.into(),
    }
}

/// The appearance kinds of the API.
fn request_kind(
    kind: &str,
    copy_type: Option<&str>,
    doc_number: Option<&str>,
) -> Result<RequestKind> {
    Ok(match kind.trim() {
        "official" => RequestKind::Official,
        "organization" => RequestKind::Organization,
        "none" => RequestKind::None,
        "copy" => RequestKind::Copy {
            copy_type: copy_type.unwrap_or("SAO Y").to_owned(),
        },
        "attachment" => RequestKind::Attachment {
            doc_number: doc_number.map(str::to_owned),
        },
        other => {
            return Err(Error::Archive(ArchiveError::FieldInvalid {
                field: "appearance",
                value: other.chars().take(40).collect(),
                reason: "expected official, organization, none, copy or attachment".to_owned(),
            }));
        }
    })
}

// ---- placement ----------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PlacementParams {
    document_id: i64,
    /// One of the caller's keys (its certificate and signature image shape the stamp).
    key_id: i64,
    /// official (default), organization, none, copy or attachment.
    appearance: Option<String>,
    /// Text under which the official's signature goes, e.g. "CHỦ TỊCH".
    anchor: Option<String>,
    /// 0-based page (default: the anchor's page, else the last).
    page: Option<usize>,
    /// copy: the stamp's first line (default "SAO Y").
    copy_type: Option<String>,
    /// attachment: the number of the document it is attached to.
    doc_number: Option<String>,
}

/// Where the visible signature will go, in PDF points from the bottom left of the page as
/// displayed.
#[derive(Serialize, ToSchema)]
struct PlacementResponse {
    /// `{page (0-based), rect: [x0, y0, x1, y1], page_width, page_height}`; null for an
    /// invisible signature.
    #[schema(value_type = Option<Object>)]
    placement: Option<crate::pipeline::sign::Placement>,
}

/// Vị trí chữ ký / where the visible signature will go on the newest version of a document
/// assigned to the caller, for the preview.
#[utoipa::path(get, path = "/sign/placement", tag = "signing", params(PlacementParams),
    responses(
        (status = 200, body = PlacementResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Anchor not found, page out of range, no signature image", body = ErrorBody),
    ))]
async fn placement(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<PlacementResponse>> {
    caller.require(Permission::Sign)?;
    let params: PlacementParams = query_of(&uri)?;
    let material = own_key(&state, &caller, params.key_id).await?;
    let archive = state.pipeline.archive();
    if !archive
        .is_assigned_to(params.document_id, caller.user.user_id)
        .await?
    {
        return Err(not_assigned(&state, params.document_id).await);
    }
    let settings = AppearanceSettings {
        kind: request_kind(
            params.appearance.as_deref().unwrap_or("official"),
            params.copy_type.as_deref(),
            params.doc_number.as_deref(),
        )?,
        image_png: material.signature_image.clone(),
        page: params.page,
        anchor: params.anchor.filter(|a| !a.trim().is_empty()),
        qr_base_url: state.settings.public_url.clone(),
        ..AppearanceSettings::default()
    };
    let placement = state
        .pipeline
        .signature_placement(
            params.document_id,
            &settings,
            &material.certificate_der,
            state.now(),
        )
        .await?;
    Ok(Json(PlacementResponse { placement }))
}

// ---- signing ------------------------------------------------------------------------------

/// A batch to sign. Not `Debug`: it holds the password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    /// One of the caller's keys (`GET /sign/keys`).
    pub key_id: i64,
    /// The PKCS#12 password, or the PIN of a token key. Never stored.
    pub password: String,
    /// 1 to 100 documents, each assigned to the caller.
    pub documents: Vec<SignDocument>,
    pub appearance: SignAppearance,
    /// B-B, B-T, B-LT or B-LTA [default: B-T when the server has a timestamp authority,
    /// else B-B].
    pub level: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignDocument {
    pub document_id: i64,
    /// The version the official saw: refused with `version-conflict` if another was added
    /// meanwhile.
    pub expected_version: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignAppearance {
    /// official, organization, none, copy or attachment.
    pub kind: String,
    /// 0-based page.
    pub page: Option<usize>,
    /// Text under which the official's signature goes, e.g. "CHỦ TỊCH".
    pub anchor: Option<String>,
    /// `/Reason` of the signature.
    pub reason: Option<String>,
    /// `/Location` of the signature.
    pub location: Option<String>,
    /// copy: the stamp's first line (default "SAO Y").
    pub copy_type: Option<String>,
    /// attachment: the number of the document it is attached to.
    pub doc_number: Option<String>,
}

/// What happened to one document of the batch.
#[derive(Serialize, ToSchema)]
pub struct SignResult {
    pub document_id: i64,
    pub ok: bool,
    /// The new version (signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The verification of the stored result (TOTAL-PASSED …); absent when it could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indication: Option<String>,
    /// The HTTP status this document's error would have alone (403, 404, 409, 422 …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

#[derive(Serialize, ToSchema)]
pub struct SignResults {
    /// One per document, in the order asked.
    pub results: Vec<SignResult>,
}

impl SignResult {
    fn failed(document_id: i64, error: &Error) -> SignResult {
        let body = error_body(error);
        let text = |key: &str| body["error"][key].as_str().unwrap_or_default().to_owned();
        SignResult {
            document_id,
            ok: false,
            version: None,
            version_id: None,
            sha256: None,
            indication: None,
            status: Some(status_of(error.class()).as_u16()),
            error: Some(ErrorDetail {
                code: text("code"),
                message: text("message"),
                message_en: text("message_en"),
            }),
        }
    }

    fn signed(outcome: &SignedVersionOutcome) -> SignResult {
        SignResult {
            document_id: outcome.document_id,
            ok: true,
            version: Some(outcome.version),
            version_id: Some(outcome.version_id),
            sha256: Some(outcome.sha256.clone()),
            indication: outcome.indication.clone(),
            status: None,
            error: None,
        }
    }
}

/// The level asked for, checked against the server's timestamp authority.
fn level_of(state: &AppState, asked: Option<&str>) -> Result<Level> {
    let level = match asked.map(str::trim).filter(|l| !l.is_empty()) {
        Some(text) => Level::parse(text).ok_or_else(|| {
            Error::Archive(ArchiveError::FieldInvalid {
                field: "level",
                value: text.chars().take(20).collect(),
                reason: "expected B-B, B-T, B-LT or B-LTA".to_owned(),
            })
        })?,
        None if state.settings.tsa_url.is_some() => Level::BT,
        None => Level::BB,
    };
    if level != Level::BB && state.settings.tsa_url.is_none() {
        return Err(Error::Http(HttpError::TsaNotConfigured {
            level: level.name(),
        }));
    }
    Ok(level)
}

/// For each document asked, its open request (by id), or why it may not be signed.
async fn open_requests(
    state: &AppState,
    caller: &Caller,
    documents: &[SignDocument],
) -> Result<Vec<std::result::Result<i64, Error>>> {
    let archive = state.pipeline.archive();
    let mut pending: HashMap<i64, i64> = HashMap::new();
    let mut closed: HashMap<i64, SignRequest> = HashMap::new();
    // Newest first: the first seen per document is its latest request.
    for request in archive.sign_requests_for(caller.user.user_id, None).await? {
        if request.state == SignRequestState::Pending {
            pending
                .entry(request.document_id)
                .or_insert(request.request_id);
        } else {
            closed.entry(request.document_id).or_insert(request);
        }
    }
    let mut checked = Vec::with_capacity(documents.len());
    for document in documents {
        let id = document.document_id;
        checked.push(match (pending.get(&id), closed.get(&id)) {
            (Some(request_id), _) => Ok(*request_id),
            (None, Some(request)) => Err(Error::Archive(ArchiveError::SignRequestClosed {
                request_id: request.request_id,
                state: request.state.as_str().to_owned(),
            })),
            (None, None) => Err(not_assigned(state, id).await),
        });
    }
    Ok(checked)
}

/// Opens the key with the password (PKCS#12) or PIN (token) on a blocking thread (600 000
/// PBKDF2 iterations, or a token login), wiping the password afterwards; the key must be the
/// one whose certificate was registered.
async fn open_key(
    state: &AppState,
    material: SigningKeyMaterial,
    password: Zeroizing<String>,
) -> Result<Box<dyn KeySigner + Send>> {
    state
        .pipeline
        .run_blocking(move || {
            // OpenSSL and tokens take C strings (the openssl crate panics on a NUL), and no
            // stored key has such a password: sealing refuses them.
            if password.contains('\0') {
                return Err(match material.storage {
                    KeyStorage::Pkcs12 { .. } => PadesError::WrongPassword,
                    KeyStorage::Pkcs11 { .. } => PadesError::WrongPin,
                }
                .into());
            }
            let key: Box<dyn KeySigner + Send> = match &material.storage {
                KeyStorage::Pkcs12 { sealed } => {
                    Box::new(SoftwareKey::from_pkcs12(sealed, password.as_str())?)
                }
                KeyStorage::Pkcs11 {
                    module,
                    token_label,
                    key_label,
                } => Box::new(TokenKey::open(TokenKeyRef {
                    module: Path::new(module),
                    token_label,
                    key_label,
                    pin: password.as_str(),
                    extra_chain: Vec::new(),
                })?),
            };
            drop(password);
            if key.certificate() != material.certificate_der.as_slice() {
                return Err(PadesError::KeyUnusable {
                    reason: "the key's certificate is not the one registered for it".to_owned(),
                }
                .into());
            }
            Ok(key)
        })
        .await
}

/// Ký số / signs documents assigned to the caller with one of their keys: one password
/// for the whole batch. Each document is checked first (assigned to the caller, request
/// open); the others go on when one fails. Each signed document becomes its next version,
/// is verified, and its request is closed.
#[utoipa::path(post, path = "/sign", tag = "signing", request_body = SignBody,
    responses(
        (status = 200, description = "One result per document", body = SignResults),
        (status = 403, description = "Not an official, or not the caller's key", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
        (status = 422, description = "Wrong password or PIN (`signing-key-wrong-password`, \
`pkcs11-wrong-pin`), invalid level or appearance, no TSA for B-T and above; nothing signed", body = ErrorBody),
        (status = 429, description = "Too many attempts with this key's password or PIN; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<SignResults>> {
    // Before the body is read.
    caller.require(Permission::Sign)?;
    let ApiJson(mut body) = ApiJson::<SignBody>::from_request(request, &state).await?;
    // Taken out of the body at once so that it is wiped on every path.
    let password = Zeroizing::new(std::mem::take(&mut body.password));
    if body.documents.is_empty() || body.documents.len() > MAX_BATCH {
        return Err(Error::Archive(ArchiveError::FieldInvalid {
            field: "documents",
            value: body.documents.len().to_string(),
            reason: format!("expected 1 to {MAX_BATCH} documents"),
        }));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = body.documents.iter().find(|d| !seen.insert(d.document_id)) {
        return Err(Error::Archive(ArchiveError::FieldInvalid {
            field: "documents",
            value: twice.document_id.to_string(),
            reason: "a document is listed twice".to_owned(),
        }));
    }
    let level = level_of(&state, body.level.as_deref())?;
    let appearance = &body.appearance;
    let kind = request_kind(
        &appearance.kind,
        appearance.copy_type.as_deref(),
        appearance.doc_number.as_deref(),
    )?;
    let material = own_key(&state, &caller, body.key_id).await?;
    let requests = open_requests(&state, &caller, &body.documents).await?;

    let mut results: Vec<Option<SignResult>> = Vec::with_capacity(body.documents.len());
    // Per target: where its result goes and the request it closes.
    let mut targets = Vec::new();
    let mut slots = Vec::new();
    let mut target_requests = Vec::new();
    for (document, request) in body.documents.iter().zip(requests) {
        match request {
            Ok(request_id) => {
                targets.push(SignTarget {
                    document_id: document.document_id,
                    expected_version: document.expected_version,
                });
                slots.push(results.len());
                target_requests.push(request_id);
                results.push(None);
            }
            Err(e) => results.push(Some(SignResult::failed(document.document_id, &e))),
        }
    }
    if targets.is_empty() {
        // Nothing may be signed: the key is not even opened.
        return Ok(Json(SignResults {
            results: results.into_iter().flatten().collect(),
        }));
    }

    let settings = SignSettings {
        level,
        tsa_url: state.settings.tsa_url.clone(),
        reason: appearance.reason.clone().filter(|r| !r.trim().is_empty()),
        location: appearance.location.clone().filter(|l| !l.trim().is_empty()),
        appearance: AppearanceSettings {
            kind,
            image_png: material.signature_image.clone(),
            page: appearance.page,
            anchor: appearance.anchor.clone().filter(|a| !a.trim().is_empty()),
            qr_base_url: state.settings.public_url.clone(),
            ..AppearanceSettings::default()
        },
        ..SignSettings::default()
    };
    // Counted before the password is tried (guesses sent at once cannot all start before
    // the first is counted); a key that opens forgets them.
    let limiter_key = format!("key {}", body.key_id);
    state.limits.signing_key.hit(&limiter_key)?;
    let key = open_key(&state, material, password).await?;
    state.limits.signing_key.succeed(&limiter_key);
    let actor = caller.actor();
    let now = state.now();
    let outcomes = state
        .pipeline
        .sign_versions(key, &targets, &settings, &actor, now)
        .await?;

    let archive = state.pipeline.archive();
    let done = outcomes
        .into_iter()
        .zip(&targets)
        .zip(slots.into_iter().zip(target_requests));
    for ((outcome, target), (slot, request_id)) in done {
        results[slot] = Some(match outcome {
            Ok(signed) => {
                if let Err(e) = archive
                    .complete_sign_request(request_id, signed.version_id, &actor, now)
                    .await
                {
                    // The signature is stored either way; the request stays open.
                    tracing::warn!(
                        request = request_id,
                        code = e.code(),
                        "the signed request could not be closed: {e}"
                    );
                }
                SignResult::signed(&signed)
            }
            Err(e) => SignResult::failed(target.document_id, &e),
        });
    }
    Ok(Json(SignResults {
        results: results.into_iter().flatten().collect(),
    }))
}
