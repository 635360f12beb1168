use axum::Json;
use axum::extract::{Path, State};
use uploadgate_api::UploadRecord;

use super::{find_own, record};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::AuthUser;

/// One of the caller's uploads.
#[utoipa::path(get, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UploadRecord),
        (status = 401, body = uploadgate_api::Problem),
        (status = 404, body = uploadgate_api::Problem, description = "No such upload, or not the caller's")))]
pub async fn get_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadRecord>, ApiError> {
    Ok(Json(record(&find_own(&state, &user, &id).await?)))
}
