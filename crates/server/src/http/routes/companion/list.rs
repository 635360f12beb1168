use axum::extract::{Path, State};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use super::{KeyQuery, PathTokenUser, UploadPath, find_multipart};
use crate::http::extract::{Json, Query};
use crate::http::{ApiError, AppState};
use crate::storage::StorageError;
use crate::uploads::UploadError;

/// `GET /s3/multipart/{uploadId}?key=` → a bare array of the parts storage holds.
pub async fn list_parts(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    Path(path): Path<UploadPath>,
    Query(query): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let upload = find_multipart(&state, &user, &query.key, &path.upload_id).await?;
    let stored = match state.uploads.stored_parts(&upload).await {
        Ok(stored) => stored,
        Err(UploadError::Storage(StorageError::NoSuchUpload)) => Vec::new(),
        Err(err) => return Err(err.into()),
    };
    let parts: Vec<Value> = stored
        .iter()
        .map(|part| {
            json!({
                "PartNumber": part.part_number,
                "ETag": part.etag,
                "Size": part.size,
                "LastModified": part.last_modified.and_then(|t| t.format(&Rfc3339).ok()),
            })
        })
        .collect();
    Ok(Json(Value::Array(parts)))
}
