use axum::extract::State;
use serde::{Deserialize, Serialize};
use uploadgate_api::UploadRecord;

use crate::http::extract::{AuthUser, Json};
use crate::http::{ApiError, AppState};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complete {
    object_key: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Completed {
    success: bool,
    message: &'static str,
    object_key: String,
    upload: UploadRecord,
}

/// `POST /api/upload/complete`: API v1's verification of the upload stored
/// under `objectKey`; a file that does not match its declaration is an error.
pub async fn complete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<Complete>,
) -> Result<Json<Completed>, ApiError> {
    let upload = state.uploads.find_by_key(&user, &body.object_key).await?;
    let upload = ApiError::unless_rejected(state.uploads.complete(upload, None).await?)?;
    let record = state.uploads.describe(&user, &upload).await?;
    Ok(Json(Completed {
        success: true,
        message: "the file is uploaded and verified",
        object_key: upload.key,
        upload: record,
    }))
}
