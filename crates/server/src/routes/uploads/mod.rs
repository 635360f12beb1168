//! `/v1/uploads`: one file per action.

pub mod abort;
pub mod complete;
pub mod create;
pub mod download;
pub mod get;
pub mod list;
pub mod parts;
pub mod results;

pub use results::{with_jobs, with_thumbnail_links};

use std::time::Duration;

use uploadgate_api::UploadRecord;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Principal;
use crate::config::DEFAULT_PROFILE;
use crate::db::Upload;
use crate::error::ApiError;

pub fn record(upload: &Upload) -> UploadRecord {
    let layout = upload.multipart.as_ref().and_then(|m| m.layout);
    UploadRecord {
        id: upload.id,
        status: upload.status,
        key: upload.key.clone(),
        profile: upload.profile.clone(),
        filename: upload.filename.clone(),
        content_type: upload.content_type.clone(),
        size: upload.size,
        checksum_sha256: upload.checksum_sha256.clone(),
        metadata: upload.metadata.clone(),
        created_at: upload.created_at,
        expires_at: upload.expires_at,
        completed_at: upload.completed_at,
        reject_reason: upload.reject_reason.clone(),
        part_size: layout.map(|l| l.part_size),
        part_count: layout.map(|l| l.part_count),
        uploaded_parts: None,
        processing: upload.processing.clone(),
        upload: None,
    }
}

/// The caller's upload `id`. A malformed id, a missing one and another user's
/// all answer the same 404.
pub async fn find_own(state: &AppState, user: &Principal, id: &str) -> Result<Upload, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::upload_not_found())?;
    state
        .db
        .find(id, &user.user)
        .await?
        .ok_or_else(ApiError::upload_not_found)
}

/// How long URLs for an upload of `profile` stay valid; the default profile's
/// when that profile has since been removed from the config.
pub fn url_ttl(state: &AppState, profile: &str) -> Duration {
    state
        .config
        .profiles
        .get(profile)
        .or_else(|| state.config.profiles.get(DEFAULT_PROFILE))
        .map_or(Duration::from_secs(900), |p| p.url_ttl)
}
