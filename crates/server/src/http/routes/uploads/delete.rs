use axum::Json;
use axum::extract::{Path, State};
use uploadgate_api::UploadRecord;

use crate::http::extract::AuthUser;
use crate::http::routes::responses::{Unauthorized, Unavailable, UploadNotFound};
use crate::http::{ApiError, AppState};
use crate::uploads::record;

/// Cancels an upload in progress (for a multipart upload, storage drops its
/// parts and refuses further ones), or deletes a finished one: its file,
/// thumbnails and any quarantined copy leave storage, and the record stays
/// as a tombstone (`deleted`, with `deletedAt`). Repeating it is harmless.
/// A scoped upload token may only cancel the uploads it started.
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UploadRecord, description = "Now aborted (it was in progress) or deleted"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "An upload token cannot delete a finished upload"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Being completed right now; ask again shortly"),
        Unauthorized, UploadNotFound, Unavailable))]
pub async fn delete_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadRecord>, ApiError> {
    let upload = state.uploads.find_own(&user, &id).await?;
    Ok(Json(record(&state.uploads.delete_by(&user, upload).await?)))
}
