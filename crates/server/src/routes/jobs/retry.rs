use axum::extract::{Path, State};
use axum::http::StatusCode;
use uuid::Uuid;

use crate::app::AppState;
use crate::db;
use crate::error::ApiError;
use crate::extract::AuthUser;

/// Queues one of the caller's dead-lettered jobs again, with fresh attempts
/// (after fixing what made it fail: clamd down, a webhook receiver broken).
#[utoipa::path(post, path = "/v1/jobs/{id}/retry", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued again"),
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "No such dead job of the caller's")))]
pub async fn retry_job(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::job_not_found())?;
    if !state.jobs.retry_dead(&user.user, id, db::now()).await? {
        return Err(ApiError::job_not_found());
    }
    state.work.notify_waiters();
    Ok(StatusCode::ACCEPTED)
}
