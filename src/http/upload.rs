//! Receiving uploads: `multipart/form-data` bodies streamed part by part into temporary files,
//! never held whole in memory.
//!
//! The limit is checked twice: against `Content-Length` before a byte of the body is read
//! (413 at once), and while streaming for bodies that do not declare a length. The client's
//! file name is kept only as a display name, cleaned of paths and control characters; stored
//! names are always the content's SHA-256.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use tokio::io::AsyncWriteExt;

use super::AppState;
use super::error::HttpError;
use crate::archive::documents::display_file_name;
use crate::error::{Error, Result};

/// Largest text field of an upload form (metadata JSON, options).
const FIELD_LIMIT: usize = 64 * 1024;
/// Most parts accepted in one upload.
const PART_LIMIT: usize = 200;

/// One file part, in a temporary file removed when this is dropped.
pub struct UploadedFile {
    pub file: tempfile::NamedTempFile,
    /// The form field it came in.
    pub field: String,
    /// The client's file name, cleaned for display.
    pub file_name: String,
    /// What the client said it is (never trusted: content is sniffed).
    pub declared_type: Option<String>,
    pub size: u64,
}

/// A received multipart body.
pub struct Upload {
    pub files: Vec<UploadedFile>,
    pub fields: Vec<(String, String)>,
}

impl Upload {
    /// The first text field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl FromRequest<AppState> for Upload {
    type Rejection = Error;

    async fn from_request(request: Request, state: &AppState) -> Result<Self> {
        receive(request, state.settings.upload_limit_bytes).await
    }
}

fn multipart_error(error: &multer::Error, limit: u64) -> Error {
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            Error::Http(HttpError::PayloadTooLarge { limit_bytes: limit })
        }
        other => Error::Http(HttpError::MultipartInvalid {
            reason: other.to_string(),
        }),
    }
}

/// The `filename` of a part whose `Content-Disposition` is not UTF-8 (a legacy client's
/// Latin-1 or Windows-1258 name, which multer does not decode), decoded lossily: the part is
/// still a file, not a text field.
fn undecoded_file_name(headers: &axum::http::HeaderMap) -> Option<String> {
    let raw = headers.get(header::CONTENT_DISPOSITION)?.as_bytes();
    if std::str::from_utf8(raw).is_ok() {
        return None;
    }
    let at = memchr::memmem::find(&raw.to_ascii_lowercase(), b"filename=")?;
    let rest = &raw[at + b"filename=".len()..];
    let value = match rest.strip_prefix(b"\"") {
        Some(quoted) => &quoted[..memchr::memchr(b'"', quoted).unwrap_or(quoted.len())],
        None => &rest[..memchr::memchr(b';', rest).unwrap_or(rest.len())],
    };
    Some(String::from_utf8_lossy(value).into_owned())
}

/// Streams the parts of `request` (module documentation).
///
/// # Errors
/// 415 when the body is not multipart, 413 past `limit` bytes, 400 for a malformed body,
/// more than [`PART_LIMIT`] parts or an over-long text field; temporary-file failures.
pub async fn receive(request: Request, limit: u64) -> Result<Upload> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !content_type.starts_with("multipart/form-data") {
        return Err(Error::Http(HttpError::UnsupportedMediaType {
            expected: "multipart/form-data",
        }));
    }
    let boundary = multer::parse_boundary(&content_type).map_err(|e| multipart_error(&e, limit))?;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(Error::Http(HttpError::PayloadTooLarge {
            limit_bytes: limit,
        }));
    }
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit)
            .per_field(limit),
    );
    let stream = request.into_body().into_data_stream();
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut upload = Upload {
        files: Vec::new(),
        fields: Vec::new(),
    };
    let mut parts = 0usize;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e, limit))?
    {
        parts += 1;
        if parts > PART_LIMIT {
            return Err(Error::Http(HttpError::MultipartInvalid {
                reason: format!("more than {PART_LIMIT} parts"),
            }));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let client_name = field
            .file_name()
            .map(str::to_owned)
            .or_else(|| undecoded_file_name(field.headers()));
        let Some(client_name) = client_name else {
            let mut text = Vec::new();
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| multipart_error(&e, limit))?
            {
                text.extend_from_slice(&chunk);
                if text.len() > FIELD_LIMIT {
                    return Err(Error::Http(HttpError::MultipartInvalid {
                        reason: format!("field `{name}` is longer than {FIELD_LIMIT} bytes"),
                    }));
                }
            }
            let text = String::from_utf8(text).map_err(|_| {
                Error::Http(HttpError::MultipartInvalid {
                    reason: format!("field `{name}` is not UTF-8 text"),
                })
            })?;
            upload.fields.push((name, text));
            continue;
        };
        let declared_type = field.content_type().map(ToString::to_string);
        let temp = tempfile::Builder::new()
            .prefix(".hoso-upload-")
            .tempfile()
            .map_err(|e| Error::Task(format!("cannot create a temporary file: {e}")))?;
        let mut out = tokio::fs::File::from_std(
            temp.as_file()
                .try_clone()
                .map_err(|e| Error::Task(format!("temporary file: {e}")))?,
        );
        let mut size = 0u64;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| multipart_error(&e, limit))?
        {
            size += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(|e| Error::Task(format!("writing the upload: {e}")))?;
        }
        out.flush()
            .await
            .map_err(|e| Error::Task(format!("writing the upload: {e}")))?;
        upload.files.push(UploadedFile {
            file: temp,
            field: name,
            file_name: display_file_name(&client_name),
            declared_type,
            size,
        });
    }
    Ok(upload)
}
