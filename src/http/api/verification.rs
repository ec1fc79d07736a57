//! Public verification (no sign-in): `POST /verify` checks an uploaded PDF (or any file with
//! a detached signature) and answers with the verification report; `GET /verify/{sha256}`
//! is where the QR code on a signed copy leads, and says what the archive knows about that
//! document ([`Archive::public_lookup`](crate::archive::Archive::public_lookup)).
//!
//! Both are rate limited per client address (`state.limits.verify`, per minute); the limit
//! is counted before the upload is read. Nothing is stored. An invalid signature is a
//! verdict (200 with `TOTAL-FAILED`), not an error; a file that is not a PDF is a coded
//! error.

use std::str::FromStr;

use axum::extract::{Request, State};
use axum::{Extension, Json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiPath, ErrorBody};
use crate::archive::ArchiveError;
use crate::archive::public::PublicLookup;
use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::ClientIp;
use crate::http::error::HttpError;
use crate::http::upload::{Upload, UploadedFile, receive};
use crate::verify::report::{Lang, summary};

/// Largest detached signature file read (a CMS signature with its chain and revocation
/// data is tens of kilobytes; anything this large is not one).
const MAX_SIGNATURE_BYTES: u64 = 16 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_upload))
        .routes(routes!(lookup))
        // The Upload reader enforces the service's own limit.
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// Counts one verification for the client (in-process tests have no address: "unknown").
fn hit(state: &AppState, client: Option<std::net::IpAddr>) -> Result<()> {
    let key = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    state.limits.verify.hit(&key)
}

/// The part called `name`, if any.
fn part<'u>(upload: &'u Upload, name: &str) -> Option<&'u UploadedFile> {
    upload.files.iter().find(|f| f.field == name)
}

/// Kiểm tra chữ ký / verify an uploaded PDF, or a file with its detached signature (part
/// `signature`, .p7s/.sig). Anyone may call it (rate limited per address). Answers with the
/// verification report (ETSI indications, one entry per signature, messages in Vietnamese
/// and English) plus `summary_vi` / `summary_en`: the verdict in one plain line.
#[utoipa::path(post, path = "/verify", tag = "verification",
    security(()),
    request_body(content_type = "multipart/form-data",
        description = "Part `file`: the PDF (or signed file); optional part `signature`: a detached CMS signature"),
    responses(
        (status = 200, description = "The verification report", body = serde_json::Value),
        (status = 400, description = "No `file` part, or a malformed body", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "Not a PDF hoso can read", body = ErrorBody),
        (status = 429, description = "Too many verifications from this address", body = ErrorBody),
    ))]
async fn verify_upload(
    State(state): State<AppState>,
    Extension(ClientIp(client)): Extension<ClientIp>,
    request: Request,
) -> Result<Json<serde_json::Value>> {
    // Counted before the body is read: a refused client costs nothing.
    hit(&state, client)?;
    let upload = receive(request, state.settings.public_verify_limit_bytes).await?;
    let file =
        part(&upload, "file").ok_or(Error::Http(HttpError::FileMissing { field: "file" }))?;
    let detached = match part(&upload, "signature") {
        Some(signature) if signature.size > MAX_SIGNATURE_BYTES => {
            return Err(Error::Http(HttpError::PayloadTooLarge {
                limit_bytes: MAX_SIGNATURE_BYTES,
            }));
        }
        Some(signature) => Some(
            tokio::fs::read(signature.file.path())
                .await
                .map_err(|e| Error::Task(format!("reading the uploaded signature: {e}")))?,
        ),
        None => None,
    };
    let report = state
        .pipeline
        .verify_file(
            file.file.path(),
            &file.file_name,
            detached,
            false,
            state.now(),
        )
        .await?;
    let mut json = serde_json::to_value(&report)
        .map_err(|e| Error::Task(format!("cannot serialize the report: {e}")))?;
    if let Some(object) = json.as_object_mut() {
        object.insert("summary_vi".to_owned(), summary(&report, Lang::Vi).into());
        object.insert("summary_en".to_owned(), summary(&report, Lang::En).into());
    }
    Ok(Json(json))
}

/// Tra cứu theo mã QR / what the archive knows about the document whose content before
/// signing has this SHA-256 (the QR code on a signed copy encodes it): its type, number and
/// date, and who signed it when with the archive's verdict. Confidential documents: only
/// `found` and the signatures. Anyone may call it (rate limited per address).
#[utoipa::path(get, path = "/verify/{sha256}", tag = "verification",
    security(()),
    params(("sha256" = String, Path, description = "SHA-256, 64 hex digits")),
    responses(
        (status = 200, description = "found: false for content the archive does not hold", body = serde_json::Value),
        (status = 422, description = "Not a SHA-256", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
async fn lookup(
    State(state): State<AppState>,
    Extension(ClientIp(client)): Extension<ClientIp>,
    ApiPath(sha256): ApiPath<String>,
) -> Result<Json<PublicLookup>> {
    hit(&state, client)?;
    let digest = Sha256Digest::from_str(&sha256.to_ascii_lowercase()).map_err(|_| {
        Error::Archive(ArchiveError::FieldInvalid {
            field: "sha256",
            value: sha256.chars().take(80).collect(),
            reason: "expected 64 hexadecimal digits".to_owned(),
        })
    })?;
    Ok(Json(state.pipeline.archive().public_lookup(&digest).await?))
}
