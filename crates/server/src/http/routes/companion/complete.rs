use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use uploadgate_api::CompletedPart;

use super::{KeyQuery, PathTokenUser, UploadPath, find_multipart};
use crate::http::extract::{Json, Query};
use crate::http::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub struct CompleteBody {
    parts: Vec<UppyPart>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UppyPart {
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

/// `POST /s3/multipart/{uploadId}/complete?key=` `{parts}` → `{location, key, bucket}`,
/// after the same verification as API v1.
pub async fn complete_multipart(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    Path(path): Path<UploadPath>,
    Query(query): Query<KeyQuery>,
    Json(body): Json<CompleteBody>,
) -> Result<Json<Value>, ApiError> {
    let upload = find_multipart(&state, &user, &query.key, &path.upload_id).await?;
    let parts: Vec<CompletedPart> = body
        .parts
        .into_iter()
        .map(|p| CompletedPart {
            part_number: p.part_number,
            etag: p.etag,
        })
        .collect();
    let upload = ApiError::unless_rejected(state.uploads.complete(upload, Some(parts)).await?)?;
    Ok(Json(json!({
        "location": format!("/v1/uploads/{}", upload.id),
        "key": upload.key,
        "bucket": state.uploads.config.s3.bucket,
    })))
}
