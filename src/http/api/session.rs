//! Signing in and out through the API: `POST /api/v1/session` opens a cookie session (for the
//! pages' scripts and for tests), `DELETE` closes it, `GET /api/v1/me` says who is calling.
//! Scripts normally use API tokens instead (`hoso token create`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ErrorBody};
use crate::error::Result;
use crate::http::AppState;
use crate::http::auth::{self, Caller, ClientIp, Via};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    /// clerk, official, archivist or admin.
    pub role: String,
    /// For a cookie session: send it as `x-csrf-token` on every state-changing request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// `session` or `token`.
    pub via: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

fn me_of(caller: &Caller) -> Me {
    let user = &caller.user;
    let (via, csrf_token, scopes) = match &caller.via {
        Via::Session { csrf_token } => ("session", Some(csrf_token.clone()), None),
        Via::Token { scopes, .. } => (
            "token",
            None,
            Some(scopes.iter().map(|s| s.as_str().to_owned()).collect()),
        ),
    };
    Me {
        user_id: user.user_id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role.as_str().to_owned(),
        csrf_token,
        via,
        scopes,
    }
}

/// Đăng nhập / sign in: sets the session cookie (HttpOnly, SameSite=Strict, Secure).
#[utoipa::path(post, path = "/session", tag = "session", request_body = LoginRequest,
    security(()),
    responses(
        (status = 200, description = "Signed in", body = Me),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 429, description = "Too many failures", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    Extension(ClientIp(client)): Extension<ClientIp>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response> {
    let session = auth::login(&state, &body.username, &body.password, client).await?;
    let me = Me {
        user_id: session.user.user_id,
        username: session.user.username.clone(),
        display_name: session.user.display_name.clone(),
        role: session.user.role.as_str().to_owned(),
        csrf_token: Some(session.csrf_token.clone()),
        via: "session",
        scopes: None,
    };
    Ok(([(header::SET_COOKIE, session.cookie)], Json(me)).into_response())
}

/// Đăng xuất / sign out: the session is deleted on the server.
#[utoipa::path(delete, path = "/session", tag = "session",
    responses((status = 204, description = "Signed out")))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let cookie = auth::logout(&state, &headers).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Người đang gọi / who is calling.
#[utoipa::path(get, path = "/me", tag = "session",
    responses(
        (status = 200, body = Me),
        (status = 401, body = ErrorBody),
    ))]
async fn me(caller: Caller) -> Json<Me> {
    Json(me_of(&caller))
}
