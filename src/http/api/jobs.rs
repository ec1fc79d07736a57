//! Background jobs (OCR): `GET /jobs/{id}` gives the state, the progress and, at the end,
//! the result or the error. A job is read by whoever started it (with any of their sessions
//! or tokens) or by an admin; its id is a random UUID.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiPath, ErrorBody};
use crate::archive::jobs::Job;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::authz::Permission;
use crate::http::error::HttpError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(job))
}

/// Whether `created_by` (an audit actor: `name`, or `name (token N)` when a token was used)
/// names the user `username`.
fn started_by(created_by: &str, username: &str) -> bool {
    created_by == username
        || created_by
            .strip_prefix(username)
            .is_some_and(|rest| rest.starts_with(" (token "))
}

/// Tác vụ nền / a background job: `queued`, `running` (`progress_done` of
/// `progress_total` pages), `done` (`result`: the new version) or `failed` (`error_code`,
/// `error_message`, `error_message_en`).
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "Job id (UUID)")),
    responses(
        (status = 200, description = "The job", body = Object),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Started by someone else", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Job>> {
    let job = state.pipeline.archive().job(&id).await?;
    if !started_by(&job.created_by, &caller.user.username) && !caller.may(Permission::Admin) {
        return Err(Error::Http(HttpError::Forbidden {
            action: "read jobs started by others",
        }));
    }
    Ok(Json(job))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_belongs_to_its_user_whatever_the_credential() {
        assert!(started_by("clerk1", "clerk1"));
        assert!(started_by("clerk1 (token 7)", "clerk1"));
        assert!(!started_by("clerk10", "clerk1"));
        assert!(!started_by("clerk1x (token 7)", "clerk1"));
        assert!(!started_by("clerk2", "clerk1"));
    }
}
