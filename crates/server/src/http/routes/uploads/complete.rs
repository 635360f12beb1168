use axum::extract::{Path, State};
use axum::http::StatusCode;
use uploadgate_api::{CompleteUpload, UploadRecord, UploadStatus};

use crate::http::extract::{AuthUser, Json, OptionalJson};
use crate::http::routes::responses::{BadJsonBody, Unauthorized, Unavailable, UploadNotFound};
use crate::http::{ApiError, AppState};
use crate::uploads::record;

/// The client says the bytes are sent: the server checks what landed and, if it
/// matches the declaration, promotes it. Completing twice gives the same answer.
#[utoipa::path(post, path = "/v1/uploads/{id}/complete", tag = "uploads",
    request_body(content = Option<CompleteUpload>, description = "Multipart uploads may list their parts; the body may be left out"),
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UploadRecord, description = "Verified: `status` is `completed`"),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Malformed request"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Nothing uploaded yet, parts missing (named in `detail`), or the upload was aborted"),
        (status = 422, body = UploadRecord, description = "What landed does not match: `status` is `rejected`, see `rejectReason`"),
        Unauthorized, UploadNotFound, BadJsonBody, Unavailable))]
pub async fn complete_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<CompleteUpload>,
) -> Result<(StatusCode, Json<UploadRecord>), ApiError> {
    let upload = state.uploads.find_own(&user, &id).await?;
    let upload = state.uploads.complete(upload, body.parts).await?;
    let status = match upload.status {
        UploadStatus::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    Ok((status, Json(record(&upload))))
}
