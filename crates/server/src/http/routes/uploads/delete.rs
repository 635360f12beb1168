use axum::extract::{Path, State};
use uploadgate_api::UploadRecord;

use serde::Deserialize;

use crate::http::extract::{AuthUser, Json, Query};
use crate::http::routes::responses::{Unauthorized, Unavailable, UploadNotFound};
use crate::http::{ApiError, AppState};
use crate::uploads::record;

/// Cancels an upload in progress (for a multipart upload, storage drops its
/// parts and refuses further ones), or deletes a finished one: its file,
/// thumbnails and any quarantined copy leave storage, and the record stays
/// as a tombstone (`deleted`, with `deletedAt`). Repeating it is harmless.
/// A scoped upload token may only cancel the uploads it started.
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id"), DeleteParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UploadRecord, description = "Now aborted (it was in progress) or deleted"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "An upload token cannot delete a finished upload"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Being completed right now (ask again shortly), or finished when `cancel=true`"),
        Unauthorized, UploadNotFound, Unavailable))]
pub async fn delete_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> Result<Json<UploadRecord>, ApiError> {
    let upload = state.uploads.find_own(&user, &id).await?;
    let cancel_only = params.cancel.unwrap_or(false);
    Ok(Json(record(
        &state.uploads.delete_by(&user, upload, cancel_only).await?,
    )))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// `true`: only cancel an upload in progress; a finished one answers 409
    /// `upload_finished` and is kept (what a client's cancel button wants).
    cancel: Option<bool>,
}
