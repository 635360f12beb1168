use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use super::{PathTokenUser, profile_of};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::intake::{self, Intent};
use crate::quota;
use crate::storage::UploadTarget;

/// `GET /s3/params?filename=&type=&metadata[k]=v`: a POST form for one file.
/// Uppy declares no size, so the policy allows 1 byte to the profile's maximum
/// and the size is checked and recorded at completion.
pub async fn upload_parameters(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    ClientIp(ip): ClientIp,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    state.rate_limits.admit(&user.user, ip)?;
    let mut filename = None;
    let mut content_type = None;
    let mut metadata = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "filename" => filename = Some(value.into_owned()),
            "type" => content_type = Some(value.into_owned()),
            other => {
                if let Some(key) = other
                    .strip_prefix("metadata[")
                    .and_then(|k| k.strip_suffix(']'))
                {
                    metadata.insert(key.to_owned(), value.into_owned());
                }
            }
        }
    }
    let filename =
        filename.ok_or_else(|| ApiError::invalid_field("filename", "filename: required"))?;
    let content_type =
        content_type.ok_or_else(|| ApiError::invalid_field("type", "type: required"))?;
    let profile = profile_of(&metadata).map(str::to_owned);
    let intent = Intent {
        profile: profile.as_deref(),
        filename,
        content_type: &content_type,
        size: None,
        checksum_sha256: None,
        metadata,
    };
    let (upload, profile) = intake::accept(&state.config, &user, intent, "POST")?;
    quota::check(&state, &upload).await?;
    let post = state
        .store
        .presign_post(&UploadTarget {
            key: &upload.staging_key,
            content_type: &upload.content_type,
            size: profile.max_size,
            min_size: 1,
            checksum_sha256: None,
            expires_in: profile.url_ttl,
            sse: profile.encryption().as_ref(),
        })
        .await?;
    intake::record(&state, &upload).await?;
    Ok(Json(json!({
        "method": "POST",
        "url": post.url,
        "fields": post.fields,
        "expires": profile.url_ttl.as_secs(),
    })))
}
