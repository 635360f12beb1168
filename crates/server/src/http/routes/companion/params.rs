use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use super::{PathTokenUser, profile_of};
use crate::http::extract::{ClientIp, Json};
use crate::http::{ApiError, AppState};
use crate::uploads::Intent;

/// `GET /s3/params?filename=&type=&metadata[k]=v`: a POST form for one file
/// (Uppy declares no size; see `Uploads::create_form`).
pub async fn upload_parameters(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    ClientIp(ip): ClientIp,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    state.rate_limits.admit(&user, ip)?;
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
    let intent = Intent {
        profile: profile_of(&metadata).map(str::to_owned),
        filename,
        content_type: &content_type,
        size: None,
        checksum_sha256: None,
        metadata,
    };
    let (upload, post) = state.uploads.create_form(&user, intent).await?;
    let ttl = state.uploads.url_ttl(&upload.profile);
    Ok(Json(json!({
        "method": "POST",
        "url": post.url,
        "fields": post.fields,
        "expires": ttl.as_secs(),
    })))
}
