use std::collections::BTreeMap;

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PathTokenUser, metadata_strings, profile_of};
use crate::http::extract::{ClientIp, Json};
use crate::http::{ApiError, AppState};
use crate::uploads::Intent;

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    filename: String,
    #[serde(rename = "type")]
    content_type: String,
    #[serde(default)]
    metadata: BTreeMap<String, Value>,
}

/// `POST /s3/multipart`: starts a multipart upload whose part size Uppy chooses.
pub async fn create_multipart(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    ClientIp(ip): ClientIp,
    Json(body): Json<CreateBody>,
) -> Result<Json<Value>, ApiError> {
    state.rate_limits.admit(&user, ip)?;
    let metadata = metadata_strings(body.metadata);
    let intent = Intent {
        profile: profile_of(&metadata).map(str::to_owned),
        filename: body.filename,
        content_type: &body.content_type,
        size: None,
        checksum_sha256: None,
        metadata,
    };
    let upload = state.uploads.create_client_parts(&user, intent).await?;
    let upload_id = upload
        .multipart
        .as_ref()
        .map(|m| m.upload_id.clone())
        .unwrap_or_default();
    Ok(Json(json!({
        "key": upload.key,
        "uploadId": upload_id,
        "bucket": state.uploads.config.s3.bucket,
    })))
}
