use axum::Json;
use axum::extract::{Path, State};
use uploadgate_api::{UploadRecord, UploadStatus};

use super::{find_own, record};
use crate::app::AppState;
use crate::db::{self, Transition, Upload};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::storage::StorageError;

/// Cancels an upload that has not completed; for a multipart upload, storage
/// drops its parts and refuses further ones. Aborting twice is harmless.
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Missing, invalid or expired token"),
        (status = 503, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The database or storage is unavailable; retry after Retry-After"),
        (status = 200, body = UploadRecord, description = "Now aborted"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Already completed, rejected or expired")))]
pub async fn abort_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadRecord>, ApiError> {
    let upload = find_own(&state, &user, &id).await?;
    Ok(Json(record(&abort(&state, upload).await?)))
}

/// Aborts `upload` (its owner already checked), whichever door asked.
pub async fn abort(state: &AppState, mut upload: Upload) -> Result<Upload, ApiError> {
    match upload.status {
        // A repeated abort also repeats the storage clean-up, so a retry after a
        // storage failure still stops the part URLs.
        UploadStatus::Aborted => {
            release_storage(state, &upload).await?;
            return Ok(upload);
        }
        UploadStatus::Pending | UploadStatus::Uploading => {}
        finished => return Err(finished_error(finished)),
    }
    let change = Transition::to(UploadStatus::Aborted, db::now());
    if !state
        .db
        .transition(upload.id, upload.status, &change)
        .await?
    {
        // Someone else moved it first (completed, say): report what it is now.
        let current = state
            .db
            .find(upload.id, &upload.owner)
            .await?
            .ok_or_else(ApiError::upload_not_found)?;
        if current.status != UploadStatus::Aborted {
            return Err(finished_error(current.status));
        }
        release_storage(state, &current).await?;
        return Ok(current);
    }
    release_storage(state, &upload).await?;
    upload.status = UploadStatus::Aborted;
    state.metrics.upload(&upload.profile, "aborted");
    Ok(upload)
}

/// Stops an aborted upload's part URLs (aborting its multipart upload, which
/// storage treats as done when repeated) and deletes its staged object.
async fn release_storage(state: &AppState, upload: &Upload) -> Result<(), StorageError> {
    if let Some(multipart) = &upload.multipart {
        state
            .store
            .abort_multipart(&upload.key, &multipart.upload_id)
            .await?;
    }
    // Best effort: a leftover staging object is never served and the janitor removes it.
    if let Err(err) = state.store.delete(&upload.staging_key).await {
        tracing::warn!(upload = %upload.id, %err, "could not delete the staging object of an aborted upload");
    }
    Ok(())
}

fn finished_error(status: UploadStatus) -> ApiError {
    ApiError::conflict(
        "upload_finished",
        format!("the upload is already {}", status.as_str()),
    )
}
