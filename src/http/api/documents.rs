//! Documents through the API: upload (multipart, streamed to temporary files, each file
//! through `ingest`, OCR as background jobs), read a document with its versions, download a
//! version (streamed and checked against its digest), its recognized text and page
//! previews, edit metadata as a new version, start OCR, ask an official to sign, verify a
//! stored version again.
//!
//! Clerks write (`DocumentWrite`); clerks, archivists and officials read (`DocumentRead`),
//! officials only what they were asked to sign: for them a document that exists but was
//! not assigned is 403, one that does not exist 404.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, ReadBuf};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dossiers::dossier_code;
use super::{ApiJson, ApiPath, ApiQuery, ErrorBody, ErrorDetail};
use crate::archive::ArchiveError;
use crate::archive::accounts::SignRequest;
use crate::archive::documents::{DocumentMetadata, DocumentRecord, DocumentRole, Version};
use crate::archive::jobs::Job;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::authz::{Permission, reads_only_assigned};
use crate::http::error::{HttpError, error_body};
use crate::http::upload::Upload;
use crate::pipeline::documents::{Receipt, ReceivedFile};
use crate::pipeline::ingest::IngestOutcome;

pub fn router() -> OpenApiRouter<AppState> {
    // The Upload extractor enforces the service's own limit, streaming to disk.
    let upload = OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(upload)
        .routes(routes!(document))
        .routes(routes!(content))
        .routes(routes!(text))
        .routes(routes!(page))
        .routes(routes!(edit_metadata))
        .routes(routes!(start_ocr))
        .routes(routes!(request_signature))
        .routes(routes!(verify))
}

/// Default and largest preview widths, in pixels.
const PREVIEW_WIDTH: u32 = 400;
/// Chunks of a download.
const DOWNLOAD_CHUNK: usize = 64 * 1024;
/// `Cache-Control` of a document's bytes and pages: no shared cache keeps them, and the
/// browser does not write them to its disk cache (counter computers are shared). API clients
/// may still revalidate with `If-None-Match`.
pub(super) const PRIVATE: &str = "private, no-store";

// ---- access -----------------------------------------------------------------------------

/// `document_id` for a reader: the permission first, then (officials) the assignment.
async fn readable(state: &AppState, caller: &Caller, document_id: i64) -> Result<DocumentRecord> {
    caller.require(Permission::DocumentRead)?;
    let archive = state.pipeline.archive();
    let record = archive.document(document_id).await?;
    if reads_only_assigned(caller.role())
        && !archive
            .is_assigned_to(document_id, caller.user.user_id)
            .await?
    {
        return Err(Error::Http(HttpError::Forbidden {
            action: "read documents not assigned to them",
        }));
    }
    Ok(record)
}

/// Version `number` of `record`.
fn version_of(record: &DocumentRecord, number: i64) -> Result<Version> {
    record
        .versions
        .iter()
        .find(|v| v.version == number)
        .cloned()
        .ok_or(Error::Archive(ArchiveError::VersionNotFound {
            version_id: number,
        }))
}

// ---- upload -----------------------------------------------------------------------------

/// The form fields `POST /documents` reads (besides the `file` parts).
const UPLOAD_FIELDS: [&str; 6] = ["dossier", "role", "metadata", "ocr", "assign_to", "_csrf"];

/// The upload form, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One or more files (PDF, PNG, JPEG, TIFF, …).
    #[schema(content_media_type = "application/octet-stream")]
    file: Vec<Vec<u8>>,
    /// Dossier code.
    dossier: Option<String>,
    /// input (default), result, outgoing, incoming, certified-copy, attachment.
    role: Option<String>,
    /// Decree 30 metadata as a JSON object (`{"subject": "…", "TypeName": "…"}`).
    metadata: Option<String>,
    /// `true`: recognize scans in background jobs (202).
    ocr: Option<String>,
    /// Username of the official asked to sign (role `result`).
    assign_to: Option<String>,
}

/// A file that was not stored.
#[derive(Serialize, ToSchema)]
pub struct FailedFile {
    pub file: String,
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct UploadResponse {
    /// One per stored file: `id`, `version`, `sha256`, `media_type`, `duplicate`,
    /// `ocr_skipped`, `signatures` …
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<IngestOutcome>,
    /// OCR jobs started (poll `GET /jobs/{id}`).
    #[schema(value_type = Vec<Object>)]
    pub jobs: Vec<Job>,
    /// Signature requests made (with `assign_to`).
    #[schema(value_type = Vec<Object>)]
    pub sign_requests: Vec<SignRequest>,
    pub failed: Vec<FailedFile>,
}

fn detail_of(error: &Error) -> ErrorDetail {
    let body = error_body(error);
    let text = |key: &str| body["error"][key].as_str().unwrap_or_default().to_owned();
    ErrorDetail {
        code: text("code"),
        message: text("message"),
        message_en: text("message_en"),
    }
}

fn field_invalid(field: &'static str, value: &str, reason: &str) -> Error {
    Error::Archive(ArchiveError::FieldInvalid {
        field,
        value: value.chars().take(200).collect(),
        reason: reason.to_owned(),
    })
}

fn role_of(text: &str) -> Result<DocumentRole> {
    DocumentRole::parse(&text.trim().replace('-', "_")).ok_or_else(|| {
        field_invalid(
            "role",
            text,
            "expected input, result, outgoing, incoming, certified-copy or attachment",
        )
    })
}

fn flag_of(field: &'static str, text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" | "" => Ok(false),
        _ => Err(field_invalid(field, text, "expected true or false")),
    }
}

/// The batch options of an upload form, checked before any file is stored.
fn receipt_of(upload: &Upload, actor: String) -> Result<Receipt> {
    if let Some((name, _)) = upload
        .fields
        .iter()
        .find(|(name, _)| !UPLOAD_FIELDS.contains(&name.as_str()))
    {
        return Err(Error::Http(HttpError::MultipartInvalid {
            reason: format!(
                "unknown field `{}`",
                name.chars().take(64).collect::<String>()
            ),
        }));
    }
    if let Some(other) = upload.files.iter().find(|f| f.field != "file") {
        return Err(Error::Http(HttpError::MultipartInvalid {
            reason: format!(
                "files go in parts named `file`, not `{}`",
                other.field.chars().take(64).collect::<String>()
            ),
        }));
    }
    let present = |name: &str| upload.field(name).map(str::trim).filter(|v| !v.is_empty());
    Ok(Receipt {
        dossier: present("dossier").map(dossier_code).transpose()?,
        role: present("role").map_or(Ok(DocumentRole::Input), role_of)?,
        metadata: present("metadata")
            .map(DocumentMetadata::from_json)
            .transpose()?
            .unwrap_or_default(),
        ocr: present("ocr").map_or(Ok(false), |v| flag_of("ocr", v))?,
        assign_to: present("assign_to").map(str::to_owned),
        actor,
    })
}

/// Tải tệp lên / upload documents (multipart). 201 when stored; 202 when OCR jobs started.
#[utoipa::path(post, path = "/documents", tag = "documents",
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored (see `failed` for files that were not)", body = UploadResponse),
        (status = 202, description = "Stored; OCR runs in the jobs listed", body = UploadResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such dossier or official", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Response> {
    // Before a byte of the body is read.
    caller.require(Permission::DocumentWrite)?;
    let upload = Upload::from_request(request, &state).await?;
    let receipt = receipt_of(&upload, caller.actor())?;
    if upload.files.is_empty() {
        return Err(Error::Http(HttpError::FileMissing { field: "file" }));
    }
    let files: Vec<ReceivedFile> = upload
        .files
        .iter()
        .map(|f| ReceivedFile {
            path: f.file.path().to_owned(),
            file_name: f.file_name.clone(),
        })
        .collect();
    let received = state
        .pipeline
        .receive_files(&files, &receipt, state.now())
        .await?;
    // The temporary files go only now that everything has been read from them.
    drop(upload);
    if received.documents.is_empty() {
        // Every file failed: the first failure is the answer.
        if let Some(first) = received.failed.into_iter().next() {
            return Err(first.error);
        }
        return Err(Error::Http(HttpError::FileMissing { field: "file" }));
    }
    let status = if received.jobs.is_empty() {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    let body = UploadResponse {
        failed: received
            .failed
            .iter()
            .map(|f| FailedFile {
                file: f.file.clone(),
                error: detail_of(&f.error),
            })
            .collect(),
        documents: received.documents,
        jobs: received.jobs,
        sign_requests: received.sign_requests,
    };
    Ok((status, Json(body)).into_response())
}

// ---- reading ----------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct DocumentView {
    /// `document_id`, `dossier_code`, `role`, `versions` (oldest first, with metadata),
    /// `reports`, `signatures`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub record: DocumentRecord,
    #[schema(value_type = Vec<Object>)]
    pub sign_requests: Vec<SignRequest>,
}

/// Xem tài liệu / a document with its versions, verifications and signature requests.
#[utoipa::path(get, path = "/documents/{id}", tag = "documents",
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, body = DocumentView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn document(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DocumentView>> {
    let record = readable(&state, &caller, id).await?;
    let sign_requests = state
        .pipeline
        .archive()
        .sign_requests_of_document(id)
        .await?;
    Ok(Json(DocumentView {
        record,
        sign_requests,
    }))
}

/// Passes a reader on as a body stream, chunk by chunk; its error ends the body broken.
struct ReaderStream<R> {
    reader: R,
    buffer: Vec<u8>,
    done: bool,
}

impl<R: AsyncRead + Unpin> futures_core::Stream for ReaderStream<R> {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let mut buf = ReadBuf::new(&mut this.buffer);
        match Pin::new(&mut this.reader).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(Bytes::copy_from_slice(buf.filled())))),
        }
    }
}

/// RFC 5987 `attr-char`: sent as it is in `filename*`.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// `Content-Disposition: attachment` with the display name: an ASCII fallback (diacritics
/// folded) and the exact name in UTF-8 (RFC 6266 §4.3, RFC 8187).
fn attachment(name: &str) -> HeaderValue {
    let fallback: String = crate::archive::search::fold(name)
        .chars()
        .map(|c| {
            if c == ' ' || (c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%')) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if is_attr_char(b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Tải phiên bản / a version's content, streamed, checked against its SHA-256 on the way.
#[utoipa::path(get, path = "/documents/{id}/versions/{version}/content", tag = "documents",
    params(
        ("id" = i64, Path, description = "Document id"),
        ("version" = i64, Path, description = "Version number, from 1"),
    ),
    responses(
        (status = 200, description = "The bytes, with the stored media type; ETag is the SHA-256", content_type = "application/octet-stream"),
        (status = 304, description = "Unchanged (If-None-Match)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn content(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, version)): ApiPath<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response> {
    let record = readable(&state, &caller, id).await?;
    let (actor, now) = (caller.actor(), state.now());
    let archive = state.pipeline.archive();
    // Confidential documents: the read goes into the audit trail.
    let version = archive
        .open_version(version_of(&record, version)?.version_id, &actor, now)
        .await?;
    let etag = format!("\"{}\"", version.sha256);
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| Error::Task(e.to_string()))?;
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
    }
    let reader = state
        .pipeline
        .open_version_stream(&version, &actor, now)
        .await?;
    let body = Body::from_stream(ReaderStream {
        reader,
        buffer: vec![0; DOWNLOAD_CHUNK],
        done: false,
    });
    let content_type = HeaderValue::from_str(&version.media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_LENGTH,
                HeaderValue::from(version.size_bytes),
            ),
            (header::CONTENT_DISPOSITION, attachment(&version.file_name)),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE)),
        ],
        body,
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct VersionText {
    pub text: String,
    /// Mean word confidence of OCR, 0–100.
    pub confidence: Option<f64>,
}

/// Văn bản nhận dạng / the recognized text of a version.
#[utoipa::path(get, path = "/documents/{id}/versions/{version}/text", tag = "documents",
    params(
        ("id" = i64, Path, description = "Document id"),
        ("version" = i64, Path, description = "Version number, from 1"),
    ),
    responses(
        (status = 200, body = VersionText),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such version, or no text (`text-not-found`)", body = ErrorBody),
    ))]
async fn text(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, version)): ApiPath<(i64, i64)>,
) -> Result<Json<VersionText>> {
    let record = readable(&state, &caller, id).await?;
    let archive = state.pipeline.archive();
    let found = version_of(&record, version)?;
    let opened = archive
        .open_version(found.version_id, &caller.actor(), state.now())
        .await?;
    let text =
        archive
            .version_text(opened.version_id)
            .await?
            .ok_or(ArchiveError::TextNotFound {
                document_id: id,
                version,
            })?;
    Ok(Json(VersionText {
        text,
        confidence: opened.ocr_confidence,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// Pixels, 1 to 1200; default 400.
    pub width: Option<u32>,
}

/// Xem trước trang / a PNG of one page of a version.
#[utoipa::path(get, path = "/documents/{id}/versions/{version}/pages/{page}", tag = "documents",
    params(
        ("id" = i64, Path, description = "Document id"),
        ("version" = i64, Path, description = "Version number, from 1"),
        ("page" = usize, Path, description = "Page number, from 1"),
        PreviewQuery,
    ),
    responses(
        (status = 200, description = "PNG", content_type = "image/png"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, description = "`preview-unavailable` (no PDF renderer)", body = ErrorBody),
    ))]
async fn page(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, version, page)): ApiPath<(i64, i64, usize)>,
    ApiQuery(query): ApiQuery<PreviewQuery>,
) -> Result<Response> {
    let record = readable(&state, &caller, id).await?;
    if page == 0 {
        return Err(field_invalid("page", "0", "pages are numbered from 1"));
    }
    let (actor, now) = (caller.actor(), state.now());
    let version = state
        .pipeline
        .archive()
        .open_version(version_of(&record, version)?.version_id, &actor, now)
        .await?;
    let png = state
        .pipeline
        .render_page(
            &version,
            page - 1,
            query.width.unwrap_or(PREVIEW_WIDTH),
            &actor,
            now,
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE)),
        ],
        png,
    )
        .into_response())
}

// ---- changes ----------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataEdit {
    /// The version the edit starts from: it must still be the newest (409 otherwise).
    pub expected_version: i64,
    /// Fields to set; `null` clears one. Keys as in the Decree 30 metadata (`subject` or
    /// `Subject`, `issued_date`, …).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Why (kept with the version).
    pub reason: String,
}

/// Sửa siêu dữ liệu / edit a document's metadata: a new `metadata` version.
#[utoipa::path(patch, path = "/documents/{id}/metadata", tag = "documents",
    params(("id" = i64, Path, description = "Document id")),
    request_body = MetadataEdit,
    responses(
        (status = 200, description = "The new version", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`version-conflict`: reload and try again", body = ErrorBody),
        (status = 422, description = "`metadata-invalid`", body = ErrorBody),
    ))]
async fn edit_metadata(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MetadataEdit>,
) -> Result<Json<Version>> {
    caller.require(Permission::DocumentWrite)?;
    let patch = serde_json::Value::Object(body.metadata).to_string();
    let stored = state
        .pipeline
        .edit_metadata(
            id,
            Some(body.expected_version),
            &patch,
            &body.reason,
            &caller.actor(),
            state.now(),
        )
        .await?;
    let record = state.pipeline.archive().document(id).await?;
    let version = record
        .versions
        .into_iter()
        .find(|v| v.version_id == stored.version_id)
        .ok_or_else(|| Error::Task("the stored version vanished".to_owned()))?;
    Ok(Json(version))
}

#[derive(Serialize, ToSchema)]
pub struct JobStarted {
    /// Poll `GET /jobs/{job_id}`.
    #[schema(value_type = Object)]
    pub job: Job,
}

/// Nhận dạng chữ / OCR the newest version in a background job.
#[utoipa::path(post, path = "/documents/{id}/ocr", tag = "jobs",
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 202, body = JobStarted),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`ocr-not-applicable`: not a scan, signed, already recognized", body = ErrorBody),
    ))]
async fn start_ocr(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<JobStarted>)> {
    caller.require(Permission::DocumentWrite)?;
    let job = state
        .pipeline
        .start_ocr_job(id, &caller.actor(), state.now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(JobStarted { job })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequestBody {
    /// Username of the official.
    pub official: String,
    pub note: Option<String>,
}

/// Trình ký / ask an official to sign a document (an open request is returned as it is).
#[utoipa::path(post, path = "/documents/{id}/sign-requests", tag = "signing",
    params(("id" = i64, Path, description = "Document id")),
    request_body = SignRequestBody,
    responses(
        (status = 201, description = "The request", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such document or user", body = ErrorBody),
        (status = 409, description = "The official's account is disabled", body = ErrorBody),
        (status = 422, description = "Not an official", body = ErrorBody),
    ))]
async fn request_signature(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SignRequestBody>,
) -> Result<(StatusCode, Json<SignRequest>)> {
    caller.require(Permission::DocumentWrite)?;
    let official = state.pipeline.official(&body.official).await?;
    let request = state
        .pipeline
        .archive()
        .request_signature(
            id,
            official.user_id,
            body.note.as_deref(),
            &caller.actor(),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(request)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// Version number; default the newest.
    pub version: Option<i64>,
    /// Do not fetch OCSP/CRL: only what the file carries.
    pub offline: Option<bool>,
}

/// Kiểm tra lại chữ ký / verify a stored version again; the report is stored beside the
/// earlier ones.
#[utoipa::path(post, path = "/documents/{id}/verify", tag = "verification",
    params(("id" = i64, Path, description = "Document id"), VerifyQuery),
    responses(
        (status = 200, description = "The verification report (an invalid signature is a verdict, not an error)", body = Object),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Not a PDF that can be verified", body = ErrorBody),
    ))]
async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<VerifyQuery>,
) -> Result<Json<crate::verify::Report>> {
    let record = readable(&state, &caller, id).await?;
    let version = match query.version {
        Some(number) => version_of(&record, number)?,
        None => record
            .latest()
            .cloned()
            .ok_or_else(|| Error::Task(format!("document {id} has no version")))?,
    };
    let report = state
        .pipeline
        .reverify(
            &version,
            query.offline.unwrap_or(false),
            &caller.actor(),
            state.now(),
        )
        .await?;
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_keep_utf8_and_an_ascii_fallback() {
        let value = attachment("Tờ khai \"mới\" 100%.pdf");
        let text = value.to_str().unwrap();
        assert!(
            text.starts_with("attachment; filename=\"to khai _moi_ 100_.pdf\""),
            "{text}"
        );
        assert!(
            text.ends_with("filename*=UTF-8''T%E1%BB%9D%20khai%20%22m%E1%BB%9Bi%22%20100%25.pdf"),
            "{text}"
        );
    }

    #[test]
    fn roles_and_flags_accept_both_spellings() {
        assert_eq!(
            role_of("certified-copy").unwrap(),
            DocumentRole::CertifiedCopy
        );
        assert_eq!(
            role_of("certified_copy").unwrap(),
            DocumentRole::CertifiedCopy
        );
        assert!(role_of("draft").is_err());
        assert!(flag_of("ocr", "true").unwrap());
        assert!(!flag_of("ocr", "0").unwrap());
        assert!(flag_of("ocr", "maybe").is_err());
    }
}
