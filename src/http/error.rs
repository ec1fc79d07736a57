//! The HTTP layer's own errors ([`HttpError`]) and the one mapping from [`crate::Error`] to an
//! HTTP response.
//!
//! Body: `{"error": {"code": "...", "message": "<Vietnamese>", "message_en": "<English>"}}`.
//! Client errors carry their own message; internal errors are logged with their full cause
//! chain and answer with a generic message, so no internal detail leaks to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Coded, Error, ErrorClass};

/// What only the HTTP layer can get wrong: who is calling, what they sent, how often.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("sign in first (no session or API token came with the request)")]
    NotSignedIn,
    #[error("the session has expired or was closed; sign in again")]
    SessionExpired,
    #[error("the API token is unknown, revoked or expired")]
    TokenInvalid,
    #[error("wrong user name or password, or the account is disabled")]
    LoginFailed,
    #[error("your role may not {action}")]
    Forbidden { action: &'static str },
    #[error("the CSRF token is missing: send the x-csrf-token header or the _csrf form field")]
    CsrfMissing,
    #[error("the CSRF token does not match the session")]
    CsrfInvalid,
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the upload is larger than the limit of {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: u64 },
    #[error("the multipart body is malformed: {reason}")]
    MultipartInvalid { reason: String },
    #[error("the request body is not valid JSON for this route: {reason}")]
    JsonInvalid { reason: String },
    #[error("invalid query parameter: {reason}")]
    QueryInvalid { reason: String },
    #[error("expected a body of type {expected}")]
    UnsupportedMediaType { expected: &'static str },
    #[error("the upload holds no file (expected a part named `{field}`)")]
    FileMissing { field: &'static str },
    #[error("signing at {level} needs a timestamp authority, and this server has none configured")]
    TsaNotConfigured { level: &'static str },
}

impl Coded for HttpError {
    fn code(&self) -> &'static str {
        match self {
            HttpError::NotSignedIn => "unauthenticated",
            HttpError::SessionExpired => "session-expired",
            HttpError::TokenInvalid => "token-invalid",
            HttpError::LoginFailed => "login-failed",
            HttpError::Forbidden { .. } => "forbidden",
            HttpError::CsrfMissing => "csrf-token-missing",
            HttpError::CsrfInvalid => "csrf-token-invalid",
            HttpError::RateLimited { .. } => "rate-limited",
            HttpError::PayloadTooLarge { .. } => "upload-too-large",
            HttpError::MultipartInvalid { .. } => "multipart-invalid",
            HttpError::JsonInvalid { .. } => "json-invalid",
            HttpError::QueryInvalid { .. } => "query-invalid",
            HttpError::UnsupportedMediaType { .. } => "unsupported-media-type",
            HttpError::FileMissing { .. } => "upload-file-missing",
            HttpError::TsaNotConfigured { .. } => "tsa-not-configured",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            HttpError::NotSignedIn
            | HttpError::SessionExpired
            | HttpError::TokenInvalid
            | HttpError::LoginFailed => ErrorClass::Unauthenticated,
            HttpError::Forbidden { .. } | HttpError::CsrfMissing | HttpError::CsrfInvalid => {
                ErrorClass::Forbidden
            }
            HttpError::RateLimited { .. } => ErrorClass::RateLimited,
            HttpError::PayloadTooLarge { .. } => ErrorClass::TooLarge,
            HttpError::MultipartInvalid { .. }
            | HttpError::JsonInvalid { .. }
            | HttpError::QueryInvalid { .. }
            | HttpError::FileMissing { .. } => ErrorClass::BadRequest,
            HttpError::UnsupportedMediaType { .. } => ErrorClass::UnsupportedMediaType,
            HttpError::TsaNotConfigured { .. } => ErrorClass::InvalidInput,
        }
    }

    fn message_vi(&self) -> String {
        match self {
            HttpError::NotSignedIn => "Cần đăng nhập (hoặc gửi mã truy cập API).".to_owned(),
            HttpError::SessionExpired => {
                "Phiên làm việc đã hết hạn hoặc đã đăng xuất; hãy đăng nhập lại.".to_owned()
            }
            HttpError::TokenInvalid => {
                "Mã truy cập API không đúng, đã bị thu hồi hoặc đã hết hạn.".to_owned()
            }
            HttpError::LoginFailed => {
                "Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản đã bị khóa.".to_owned()
            }
            HttpError::Forbidden { action } => {
                format!("Vai trò của bạn không được phép thực hiện việc này ({action}).")
            }
            HttpError::CsrfMissing => {
                "Thiếu mã chống giả mạo yêu cầu (CSRF); hãy tải lại trang rồi thực hiện lại."
                    .to_owned()
            }
            HttpError::CsrfInvalid => {
                "Mã chống giả mạo yêu cầu (CSRF) không khớp phiên làm việc; hãy tải lại trang."
                    .to_owned()
            }
            HttpError::RateLimited { retry_after_secs } => {
                format!("Quá nhiều lần thử; hãy thử lại sau {retry_after_secs} giây.")
            }
            HttpError::PayloadTooLarge { limit_bytes } => format!(
                "Tệp tải lên vượt quá giới hạn {} MB.",
                limit_bytes.div_ceil(1024 * 1024)
            ),
            HttpError::MultipartInvalid { .. } => {
                "Dữ liệu tải lên (multipart) không đúng định dạng.".to_owned()
            }
            HttpError::JsonInvalid { reason } => {
                format!("Dữ liệu JSON gửi lên không hợp lệ: {reason}.")
            }
            HttpError::QueryInvalid { reason } => {
                format!("Tham số truy vấn không hợp lệ: {reason}.")
            }
            HttpError::UnsupportedMediaType { expected } => {
                format!("Kiểu dữ liệu gửi lên không được chấp nhận; cần {expected}.")
            }
            HttpError::FileMissing { field } => {
                format!("Không có tệp nào trong dữ liệu tải lên (cần phần `{field}`).")
            }
            HttpError::TsaNotConfigured { level } => format!(
                "Máy chủ chưa cấu hình dịch vụ cấp dấu thời gian (TSA) nên không ký được ở mức {level}; hãy ký ở mức B-B hoặc liên hệ quản trị."
            ),
        }
    }
}

/// HTTP status for each class of error.
pub fn status_of(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorClass::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::BadRequest => StatusCode::BAD_REQUEST,
        ErrorClass::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorClass::Forbidden => StatusCode::FORBIDDEN,
        ErrorClass::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorClass::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorClass::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
    }
}

/// The JSON error body for `error`, logging it when it is the server's fault.
pub fn error_body(error: &Error) -> serde_json::Value {
    if matches!(
        error.class(),
        ErrorClass::Internal | ErrorClass::Unavailable
    ) {
        tracing::error!(code = error.code(), error = %error_chain(error), "request failed");
    }
    let (message, message_en) = match error.class() {
        ErrorClass::Internal => (
            "Lỗi nội bộ của máy chủ; chi tiết đã được ghi vào nhật ký.".to_owned(),
            "Internal server error; details were logged.".to_owned(),
        ),
        _ => (error.message_vi(), error.to_string()),
    };
    json!({ "error": { "code": error.code(), "message": message, "message_en": message_en } })
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = (status_of(self.class()), Json(error_body(&self))).into_response();
        if let Error::Http(HttpError::RateLimited { retry_after_secs }) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        response
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        Error::Http(self).into_response()
    }
}

/// `error: cause: cause…`, for logs.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
