use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{KeyQuery, PathTokenUser, UploadPath, find_multipart};
use crate::http::extract::Query;
use crate::http::{ApiError, AppState};

/// `DELETE /s3/multipart/{uploadId}?key=` → 204; storage refuses further parts.
pub async fn abort_multipart(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    Path(path): Path<UploadPath>,
    Query(query): Query<KeyQuery>,
) -> Result<StatusCode, ApiError> {
    let upload = find_multipart(&state, &user, &query.key, &path.upload_id).await?;
    state.uploads.abort(upload).await?;
    Ok(StatusCode::NO_CONTENT)
}
