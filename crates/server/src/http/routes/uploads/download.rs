use axum::extract::{Path, State};
use uploadgate_api::DownloadLink;

use crate::http::extract::{AuthUser, Json, reader};
use crate::http::routes::responses::{Unauthorized, Unavailable, UploadNotFound};
use crate::http::{ApiError, AppState};

/// A short-lived link to read a completed upload, served as an attachment so
/// that browsers never render user content in the store's origin.
#[utoipa::path(get, path = "/v1/uploads/{id}/download", tag = "uploads",
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DownloadLink),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not completed, or quarantined"),
        (status = 410, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Deleted"),
        Unauthorized, UploadNotFound, Unavailable))]
pub async fn download_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<DownloadLink>, ApiError> {
    let upload = state.uploads.find_own(&reader(user)?, &id).await?;
    let (url, expires_at) = state.uploads.download_link(&upload).await?;
    Ok(Json(DownloadLink { url, expires_at }))
}
