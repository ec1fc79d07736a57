//! The one mapping from [`crate::Error`] to an HTTP response.
//!
//! Body: `{"error": {"code": "...", "message": "<Vietnamese>", "message_en": "<English>"}}`.
//! Client errors carry their own message; internal errors are logged with their full cause
//! chain and answer with a generic message, so no internal detail leaks to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Coded, Error, ErrorClass};

/// HTTP status for each class of error.
pub fn status_of(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorClass::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
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
        (status_of(self.class()), Json(error_body(&self))).into_response()
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
