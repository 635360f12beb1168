use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::http::extract::{AuthUser, reader};
use crate::http::routes::responses::Unauthorized;
use crate::http::{ApiError, AppState};

/// Queues one of the caller's dead-lettered jobs again, with fresh attempts
/// (after fixing what made it fail: clamd down, say).
#[utoipa::path(post, path = "/v1/jobs/{id}/retry", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued again"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "No such dead job of the caller's"),
        Unauthorized))]
pub async fn retry_job(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.uploads.retry_dead_job(&reader(user)?, &id).await? {
        return Err(ApiError::job_not_found());
    }
    Ok(StatusCode::ACCEPTED)
}
