//! Uppy's Companion S3 protocol, so that `@uppy/aws-s3` 6.x works with only
//! `companionEndpoint` set to `<api>/companion/<token>`.
//!
//! Another door into the same house: the same profiles, key rules, records and
//! verification as API v1. The 6.x client sends no custom headers, so the bearer
//! token travels in the path (`/companion/{token}/s3/...`); request logs redact it.

mod abort;
mod complete;
mod create;
mod list;
mod params;
mod sign;

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::{Caller, Principal};
use crate::db::Upload;
use crate::http::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/s3/params", get(params::upload_parameters))
        .route("/s3/multipart", post(create::create_multipart))
        .route(
            "/s3/multipart/{upload_id}",
            get(list::list_parts).delete(abort::abort_multipart),
        )
        .route("/s3/multipart/{upload_id}/batch", get(sign::sign_batch))
        .route(
            "/s3/multipart/{upload_id}/complete",
            post(complete::complete_multipart),
        )
        .route(
            "/s3/multipart/{upload_id}/{part_number}",
            get(sign::sign_part),
        )
}

/// The caller, authenticated by the token in the path.
#[derive(Debug, Clone)]
pub struct PathTokenUser(pub Principal);

impl FromRequestParts<AppState> for PathTokenUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Every Companion route comes through here; they all speak S3.
        state.uploads.companion_served()?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::unauthorized("put a token in the path: /companion/<token>/s3/...")
            })?;
        let token = params
            .iter()
            .find(|(name, _)| *name == "token")
            .map(|(_, value)| value.to_owned())
            .ok_or_else(|| {
                ApiError::unauthorized("put a token in the path: /companion/<token>/s3/...")
            })?;
        match state.auth.authenticate(&token).await? {
            Caller::User(principal) => Ok(PathTokenUser(principal)),
            // A key in a URL would end up in logs and histories.
            Caller::Backend(_) => Err(ApiError::unauthorized(
                "an API key never goes in a path: put a user's token there",
            )),
        }
    }
}

/// `{uploadId}` of the multipart routes (the storage's multipart upload id).
#[derive(Debug, Deserialize)]
pub struct UploadPath {
    upload_id: String,
}

/// `?key=` of the multipart routes.
#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    key: String,
}

/// The caller's multipart upload that has both this storage upload id and this key;
/// anything else is the same 404.
async fn find_multipart(
    state: &AppState,
    user: &Principal,
    key: &str,
    upload_id: &str,
) -> Result<Upload, ApiError> {
    Ok(state.uploads.find_multipart(user, key, upload_id).await?)
}

/// Uppy's metadata values may be any JSON; keep them as the strings the record holds.
fn metadata_strings(
    metadata: impl IntoIterator<Item = (String, serde_json::Value)>,
) -> std::collections::BTreeMap<String, String> {
    metadata
        .into_iter()
        .filter_map(|(key, value)| match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((key, s)),
            other => Some((key, other.to_string())),
        })
        .collect()
}

/// The profile an Uppy upload asks for through its `profile` metadata field.
fn profile_of(metadata: &std::collections::BTreeMap<String, String>) -> Option<&str> {
    metadata.get("profile").map(String::as_str)
}
