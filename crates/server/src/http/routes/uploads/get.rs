use axum::extract::{Path, State};
use uploadgate_api::UploadRecord;

use crate::http::extract::{AuthUser, Json};
use crate::http::routes::responses::{Unauthorized, UploadNotFound};
use crate::http::{ApiError, AppState};

/// One of the caller's uploads; for a multipart upload in progress, with the
/// parts storage holds now (`uploadedParts`), to resume from.
#[utoipa::path(get, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses((status = 200, body = UploadRecord), Unauthorized, UploadNotFound))]
pub async fn get_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadRecord>, ApiError> {
    let upload = state.uploads.find_own(&user, &id).await?;
    Ok(Json(state.uploads.describe(&user, &upload).await?))
}
