use axum::Json;
use axum::extract::{Path, State};
use time::OffsetDateTime;
use uploadgate_api::{DownloadLink, ProcessingState, UploadStatus};

use super::{find_own, url_ttl};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::AuthUser;

/// A short-lived link to read a completed upload, served as an attachment so
/// that browsers never render user content in the store's origin.
#[utoipa::path(get, path = "/v1/uploads/{id}/download", tag = "uploads",
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Missing, invalid or expired token"),
        (status = 503, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The database or storage is unavailable; retry after Retry-After"),
        (status = 200, body = DownloadLink),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not completed, or quarantined")))]
pub async fn download_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<DownloadLink>, ApiError> {
    let upload = find_own(&state, &user, &id).await?;
    if upload.status != UploadStatus::Completed {
        return Err(ApiError::conflict(
            "upload_not_completed",
            format!(
                "only completed uploads can be downloaded; this one is {}",
                upload.status.as_str()
            ),
        ));
    }
    if upload
        .processing
        .as_ref()
        .is_some_and(|p| p.state == ProcessingState::Quarantined)
    {
        return Err(ApiError::conflict(
            "upload_quarantined",
            "the virus scan flagged this file; it is quarantined and cannot be downloaded",
        ));
    }
    let ttl = url_ttl(&state, &upload.profile);
    let url = state
        .store
        .presign_get(&upload.key, &upload.filename, ttl)
        .await?;
    Ok(Json(DownloadLink {
        url,
        expires_at: OffsetDateTime::now_utc() + ttl,
    }))
}
