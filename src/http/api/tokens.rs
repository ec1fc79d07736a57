//! API tokens: every signed-in user manages their own (`Permission::OwnTokens`); an
//! administrator also lists and revokes anyone's.
//!
//! A token's secret (`hst_…`) is returned once, by `POST /tokens`, and only its SHA-256 is
//! stored. A token acts as its user with at most its scopes, so a token is never given a
//! scope its user's role cannot use (a clerk gets no `sign` or `admin` token), and a token
//! cannot make a token with more scopes than itself.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath, ErrorBody};
use crate::archive::ArchiveError;
use crate::archive::accounts::{ApiToken, Role, Scope};
use crate::auth;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::{Caller, Via};
use crate::http::authz::{Permission, role_allows};
use crate::http::error::HttpError;

/// Longest token lifetime, in days (ten years).
const MAX_DAYS: i64 = 3650;

/// Every permission, for [`role_may_hold`].
const PERMISSIONS: [Permission; 11] = [
    Permission::DossierWrite,
    Permission::DossierRead,
    Permission::DocumentWrite,
    Permission::DocumentRead,
    Permission::Sign,
    Permission::Search,
    Permission::Export,
    Permission::Stats,
    Permission::AuditVerify,
    Permission::Admin,
    Permission::OwnTokens,
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(user_tokens))
}

/// Whether a token of a `role` user could ever use `scope`: some permission of the role
/// needs it. Managing one's own tokens (which needs `admin`) does not count: every role
/// does that in a session, and a token that makes tokens is an administrator's tool.
pub fn role_may_hold(role: Role, scope: Scope) -> bool {
    PERMISSIONS
        .into_iter()
        .filter(|p| *p != Permission::OwnTokens && p.scope() == scope)
        .any(|p| role_allows(role, p))
}

/// An API token as listed (never its secret).
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub token_id: i64,
    pub user_id: i64,
    pub name: String,
    /// read, write, sign, admin.
    pub scopes: Vec<String>,
    #[serde(with = "crate::archive::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::archive::calendar::vn_time::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "crate::archive::calendar::vn_time::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(with = "crate::archive::calendar::vn_time::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
    /// Usable now: neither revoked nor expired.
    pub live: bool,
}

fn token_view(token: ApiToken, now: OffsetDateTime) -> TokenView {
    let live = token.revoked_at.is_none() && token.expires_at.is_none_or(|at| at > now);
    TokenView {
        token_id: token.token_id,
        user_id: token.user_id,
        name: token.name,
        scopes: token.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        created_at: token.created_at,
        expires_at: token.expires_at,
        revoked_at: token.revoked_at,
        last_used_at: token.last_used_at,
        live,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for, e.g. `máy quét tầng 1`.
    pub name: String,
    /// Some of read, write, sign, admin, within what the role can use.
    pub scopes: Vec<String>,
    /// Expire after this many days (1 to 3650); absent: never.
    pub days: Option<i64>,
}

/// A new token with its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// `hst_…`: send it as `Authorization: Bearer …`. It is not stored and cannot be shown
    /// again.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
}

fn scopes_invalid(value: &str, reason: &str) -> Error {
    Error::Archive(ArchiveError::FieldInvalid {
        field: "scopes",
        value: value.to_owned(),
        reason: reason.to_owned(),
    })
}

/// The requested scopes, each one the caller's role can use (and, for a token caller, one
/// of its own scopes).
fn checked_scopes(caller: &Caller, requested: &[String]) -> Result<Vec<Scope>> {
    let mut scopes = Vec::new();
    for text in requested {
        let scope = Scope::parse(text)
            .ok_or_else(|| scopes_invalid(text, "expected read, write, sign or admin"))?;
        if !role_may_hold(caller.role(), scope) {
            return Err(scopes_invalid(
                text,
                &format!("a {} cannot use this scope", caller.role().as_str()),
            ));
        }
        if let Via::Token { scopes: own, .. } = &caller.via
            && !own.contains(&scope)
        {
            return Err(scopes_invalid(
                text,
                "beyond the scopes of the token making the request",
            ));
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(scopes_invalid("", "a token needs at least one scope"));
    }
    Ok(scopes)
}

/// Mã truy cập API của tôi / the caller's own API tokens (revoked and expired included).
#[utoipa::path(get, path = "/tokens", tag = "session",
    responses(
        (status = 200, body = [TokenView]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>> {
    caller.require(Permission::OwnTokens)?;
    let now = state.now();
    let tokens = state.pipeline.archive().tokens(caller.user.user_id).await?;
    Ok(Json(
        tokens.into_iter().map(|t| token_view(t, now)).collect(),
    ))
}

/// Tạo mã truy cập API / create an API token for oneself; its secret is in this response
/// only.
#[utoipa::path(post, path = "/tokens", tag = "session", request_body = NewTokenRequest,
    responses(
        (status = 201, body = CreatedToken),
        (status = 403, body = ErrorBody),
        (status = 422, description = "field-invalid (a scope the role cannot use, days)", body = ErrorBody),
    ))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    caller.require(Permission::OwnTokens)?;
    let scopes = checked_scopes(&caller, &body.scopes)?;
    let now = state.now();
    let expires_at = match body.days {
        None => None,
        Some(days) if (1..=MAX_DAYS).contains(&days) => Some(now + time::Duration::days(days)),
        Some(days) => {
            return Err(Error::Archive(ArchiveError::FieldInvalid {
                field: "days",
                value: days.to_string(),
                reason: format!("expected 1 to {MAX_DAYS}"),
            }));
        }
    };
    let secret = auth::new_secret(auth::TOKEN_PREFIX);
    let token = state
        .pipeline
        .archive()
        .create_token(
            caller.user.user_id,
            &body.name,
            &scopes,
            &auth::secret_digest(&secret),
            expires_at,
            &caller.actor(),
            now,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: secret,
            info: token_view(token, now),
        }),
    ))
}

/// Thu hồi mã truy cập / revoke one of one's own tokens (an administrator: anyone's).
/// Another user's token is refused with 403 whether or not it exists.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "session",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Revoked (or already revoked)", body = TokenView),
        (status = 403, body = ErrorBody),
        (status = 404, description = "token-not-found (administrators only)", body = ErrorBody),
    ))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(token_id): ApiPath<i64>,
) -> Result<Json<TokenView>> {
    caller.require(Permission::OwnTokens)?;
    let archive = state.pipeline.archive();
    let own = archive.tokens(caller.user.user_id).await?;
    if !own.iter().any(|t| t.token_id == token_id) && !caller.may(Permission::Admin) {
        return Err(Error::Http(HttpError::Forbidden {
            action: "revoke another user's API token",
        }));
    }
    let now = state.now();
    let token = archive.revoke_token(token_id, &caller.actor(), now).await?;
    Ok(Json(token_view(token, now)))
}

/// Mã truy cập của một người dùng / a user's API tokens (administrators).
#[utoipa::path(get, path = "/admin/users/{username}/tokens", tag = "admin",
    params(("username" = String, Path)),
    responses(
        (status = 200, body = [TokenView]),
        (status = 403, body = ErrorBody),
        (status = 404, description = "user-not-found", body = ErrorBody),
    ))]
async fn user_tokens(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<Vec<TokenView>>> {
    caller.require(Permission::Admin)?;
    let archive = state.pipeline.archive();
    let user = archive
        .user_by_name(&username)
        .await?
        .map(|(user, _)| user)
        .ok_or(Error::Archive(ArchiveError::UserNotFound {
            user: username,
        }))?;
    let now = state.now();
    let tokens = archive.tokens(user.user_id).await?;
    Ok(Json(
        tokens.into_iter().map(|t| token_view(t, now)).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_hold_only_the_scopes_they_can_use() {
        let holds = |role| {
            Scope::ALL
                .into_iter()
                .filter(|s| role_may_hold(role, *s))
                .collect::<Vec<_>>()
        };
        assert_eq!(holds(Role::Clerk), [Scope::Read, Scope::Write]);
        assert_eq!(holds(Role::Official), [Scope::Read, Scope::Sign]);
        assert_eq!(holds(Role::Archivist), [Scope::Read]);
        assert_eq!(holds(Role::Admin), [Scope::Read, Scope::Admin]);
    }
}
