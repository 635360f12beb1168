use axum::extract::State;
use serde::{Deserialize, Serialize};
use uploadgate_api::{CreateUpload, UploadInstructions};

use crate::http::extract::{AuthUser, ClientIp, Json};
use crate::http::{ApiError, AppState};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateUrl {
    file_name: String,
    file_type: String,
    file_size: u64,
    /// Not in the tutorial; lets the same door serve other profiles.
    #[serde(default)]
    profile: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedUrl {
    presigned_url: String,
    object_key: String,
    /// Seconds the URL stays valid.
    expires_in: u64,
}

/// `POST /api/upload/generate-url`: API v1's creation, always as one PUT.
pub async fn generate_url(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ClientIp(ip): ClientIp,
    Json(body): Json<GenerateUrl>,
) -> Result<Json<GeneratedUrl>, ApiError> {
    state.rate_limits.admit(&user, ip)?;
    let request = CreateUpload {
        filename: body.file_name,
        content_type: body.file_type,
        size: body.file_size,
        profile: body.profile,
        checksum_sha256: None,
        metadata: None,
        method: None,
    };
    let (upload, instructions) = state.uploads.create_single_put(&user, request).await?;
    let UploadInstructions::Put { url, headers } = instructions else {
        return Err(ApiError::internal("the simple door got no PUT"));
    };
    // Its client sends `Content-Type` and nothing else, which the domain
    // promised to need; anything more is a bug to log, not the client's fault.
    if headers.keys().any(|name| name != "content-type") {
        return Err(ApiError::internal(format!(
            "the simple door got a PUT that needs headers: {:?}",
            headers.keys().collect::<Vec<_>>()
        )));
    }
    Ok(Json(GeneratedUrl {
        presigned_url: url,
        object_key: upload.key.clone(),
        expires_in: state.uploads.url_ttl(&upload.profile).as_secs(),
    }))
}
