use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use uploadgate_api::{CompleteUpload, UploadRecord, UploadStatus};

use super::{find_own, record};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{AuthUser, OptionalJson};
use crate::verify;

/// The client says the bytes are sent: the server checks what landed and, if it
/// matches the declaration, promotes it. Completing twice gives the same answer.
#[utoipa::path(post, path = "/v1/uploads/{id}/complete", tag = "uploads",
    request_body(content = Option<CompleteUpload>, description = "Multipart uploads may list their parts; the body may be left out"),
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Missing, invalid or expired token"),
        (status = 503, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The database or storage is unavailable; retry after Retry-After"),
        (status = 413, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Body too large"),
        (status = 415, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Body is not JSON"),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Malformed request"),
        (status = 200, body = UploadRecord, description = "Verified: `status` is `completed`"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Nothing uploaded yet, parts missing (named in `detail`), or the upload was aborted"),
        (status = 422, body = UploadRecord, description = "What landed does not match: `status` is `rejected`, see `rejectReason`")))]
pub async fn complete_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<CompleteUpload>,
) -> Result<(StatusCode, Json<UploadRecord>), ApiError> {
    let upload = find_own(&state, &user, &id).await?;
    let upload = verify::complete_detached(&state, upload, body.parts).await?;
    let status = match upload.status {
        UploadStatus::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    Ok((status, Json(record(&upload))))
}
