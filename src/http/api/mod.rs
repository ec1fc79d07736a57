//! The REST API under `/api/v1`, documented by the OpenAPI 3 document at
//! `/api/openapi.json` (generated from the handlers' annotations) with an interactive page at
//! `/api/docs`.
//!
//! Every handler extracts the [`Caller`](super::auth::Caller) (401 without one), states the
//! [`Permission`](super::authz::Permission) it needs (403), checks the object it loaded
//! (officials: only documents assigned to them), and calls the pipeline or the archive.
//! Request bodies are read through [`ApiJson`] and [`ApiQuery`], which refuse unknown fields
//! and wrong types with the project's error body (never axum's plain-text rejections), and
//! path parameters through [`ApiPath`].

use axum::Router;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;
use super::error::HttpError;
use crate::archive::ArchiveError;
use crate::error::Error;

pub mod admin;
pub mod archive;
pub mod documents;
pub mod dossiers;
pub mod jobs;
pub mod session;
pub mod signing;
pub mod tokens;
pub mod verification;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hoso API",
        description = "Số hóa, ký số, kiểm tra và lưu trữ hồ sơ cho Bộ phận Một cửa. \
Document engine for one-stop offices: digitize, sign, verify, archive.\n\n\
Errors: `{\"error\": {\"code\", \"message\" (Vietnamese), \"message_en\"}}` with a stable code.\n\
Authentication: `Authorization: Bearer hst_…` (API token, scoped) or the session cookie \
from `POST /api/v1/session` (then every state-changing request sends `x-csrf-token`)."
    ),
    modifiers(&SecuritySchemes),
    security(("token" = []), ("session" = [])),
    tags(
        (name = "session", description = "Đăng nhập / sign in"),
        (name = "dossiers", description = "Hồ sơ / dossiers"),
        (name = "documents", description = "Tài liệu, phiên bản / documents and versions"),
        (name = "jobs", description = "Tác vụ nền (OCR) / background jobs"),
        (name = "signing", description = "Ký số / signing"),
        (name = "verification", description = "Kiểm tra chữ ký / verification"),
        (name = "archive", description = "Tìm kiếm, thống kê, xuất, kiểm toán / search, statistics, export, audit"),
        (name = "admin", description = "Quản trị / administration"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The API routes, the OpenAPI document and its page.
pub fn router(_state: &AppState) -> Router<AppState> {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1())
        .split_for_parts();
    router.merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi))
}

/// Every `/api/v1` route; each module adds its own.
fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(session::router())
        .merge(admin::router())
        .merge(tokens::router())
        .merge(dossiers::router())
        .merge(documents::router())
        .merge(jobs::router())
        .merge(signing::router())
        .merge(verification::router())
        .merge(archive::router())
}

/// `Json<T>` whose rejections are the project's errors (400 `json-invalid`, 415 for another
/// content type). Request types use `#[serde(deny_unknown_fields)]`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(Error::Http(HttpError::UnsupportedMediaType {
                    expected: "application/json",
                }))
            }
            Err(JsonRejection::BytesRejection(_)) => Err(Error::Http(HttpError::PayloadTooLarge {
                limit_bytes: 2 * 1024 * 1024,
            })),
            Err(rejection) => Err(Error::Http(HttpError::JsonInvalid {
                reason: rejection.body_text(),
            })),
        }
    }
}

/// `Query<T>` with the project's error (400 `query-invalid`).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_error(&rejection)),
        }
    }
}

/// `Path<T>` with the project's error: 422 `field-invalid` naming the parameter (an id that
/// is not a number or does not fit, text that is not UTF-8), never axum's plain text.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_error(parts, rejection)),
        }
    }
}

fn path_error(parts: &Parts, rejection: PathRejection) -> Error {
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        // A handler on a route without parameters: the server's bug, not the client's.
        return Error::Task(rejection.body_text());
    };
    // Tuples are parsed by position: the route's template names them.
    let template = parts
        .extensions
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or_default();
    let names: Vec<&str> = template
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    let (name, value) = match failed.kind() {
        ErrorKind::ParseErrorAtKey { key, value, .. }
        | ErrorKind::DeserializeError { key, value, .. } => (Some(key.as_str()), value.as_str()),
        ErrorKind::ParseErrorAtIndex { index, value, .. } => {
            (names.get(*index).copied(), value.as_str())
        }
        ErrorKind::ParseError { value, .. } => (names.first().copied(), value.as_str()),
        ErrorKind::InvalidUtf8InPathParam { key } => (Some(key.as_str()), ""),
        _ => (None, ""),
    };
    Error::Archive(ArchiveError::FieldInvalid {
        field: match name {
            Some("id") => "id",
            Some("version") => "version",
            Some("page") => "page",
            Some("code") => "code",
            Some("sha256") => "sha256",
            Some("username") => "username",
            _ => "path",
        },
        value: value.chars().take(80).collect(),
        reason: failed.body_text(),
    })
}

/// The query of `uri` as `T`, for handlers that check the caller's permission before they
/// read their parameters (the same errors as [`ApiQuery`]).
///
/// # Errors
/// 400 `query-invalid`.
pub fn query_of<T: DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, Error> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|axum::extract::Query(value)| value)
        .map_err(|rejection| query_error(&rejection))
}

fn query_error(rejection: &QueryRejection) -> Error {
    Error::Http(HttpError::QueryInvalid {
        reason: rejection.body_text(),
    })
}

/// The error body in the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable kebab-case code, e.g. `forbidden`, `document-not-found`.
    pub code: String,
    /// Vietnamese.
    pub message: String,
    pub message_en: String,
}
