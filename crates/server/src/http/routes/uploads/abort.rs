use axum::Json;
use axum::extract::{Path, State};
use uploadgate_api::UploadRecord;

use crate::http::extract::AuthUser;
use crate::http::routes::responses::{Unauthorized, Unavailable, UploadNotFound};
use crate::http::{ApiError, AppState};
use crate::uploads::record;

/// Cancels an upload that has not completed; for a multipart upload, storage
/// drops its parts and refuses further ones. Aborting twice is harmless.
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UploadRecord, description = "Now aborted"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Already completed, rejected or expired"),
        Unauthorized, UploadNotFound, Unavailable))]
pub async fn abort_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadRecord>, ApiError> {
    let upload = state.uploads.find_own(&user, &id).await?;
    Ok(Json(record(&state.uploads.abort(upload).await?)))
}
