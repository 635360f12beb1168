use axum::Json;
use axum::extract::{Path, State};
use uploadgate_api::{UploadRecord, UploadStatus, UploadedPart};

use super::{find_own, record, with_jobs, with_thumbnail_links};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::multipart::usable_parts;
use crate::storage::StorageError;

/// One of the caller's uploads; for a multipart upload in progress, with the
/// parts storage holds now (`uploadedParts`), to resume from.
#[utoipa::path(get, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UploadRecord),
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "No such upload, or not the caller's")))]
pub async fn get_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadRecord>, ApiError> {
    let upload = find_own(&state, &user, &id).await?;
    let mut response = record(&upload);
    with_thumbnail_links(&state, &mut response).await?;
    with_jobs(&state, &mut response).await?;
    if let Some(multipart) = &upload.multipart
        && matches!(
            upload.status,
            UploadStatus::Pending | UploadStatus::Uploading
        )
    {
        let stored = match state
            .store
            .list_parts(&upload.key, &multipart.upload_id)
            .await
        {
            Ok(stored) => Some(stored),
            // Storage no longer holds the multipart upload: a completion is
            // assembling it right now, or it was aborted or expired there.
            // Either way there are no parts to resume from, which is not the
            // same as "no parts sent yet": leave the list out.
            Err(StorageError::NoSuchUpload) => None,
            Err(err) => return Err(err.into()),
        };
        response.uploaded_parts = stored.map(|stored| {
            let usable = match &multipart.layout {
                Some(layout) => usable_parts(layout, &stored),
                None => stored.iter().collect(),
            };
            usable
                .into_iter()
                .map(|part| UploadedPart {
                    part_number: part.part_number,
                    size: part.size,
                    etag: part.etag.clone(),
                })
                .collect()
        });
    }
    Ok(Json(response))
}
