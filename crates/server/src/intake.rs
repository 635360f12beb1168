//! What every door into uploadgate (API v1, the Uppy/Companion routes) does to
//! accept a new upload: hold it to its profile and build its record.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use uploadgate_api::UploadStatus;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Principal;
use crate::config::{Config, DEFAULT_PROFILE, Profile, is_token};
use crate::db::{self, Multipart, Upload};
use crate::error::ApiError;
use crate::keys;
use crate::multipart::Layout;

const MAX_METADATA_ENTRIES: usize = 32;
const MAX_METADATA_KEY_LEN: usize = 64;
const MAX_METADATA_VALUE_LEN: usize = 1024;

/// Starts `upload`'s multipart upload in storage. The upload then lives
/// `janitor.multipart_ttl`, since its parts may be signed again and again.
pub async fn start_multipart(
    state: &AppState,
    upload: &mut Upload,
    layout: Option<Layout>,
) -> Result<(), ApiError> {
    let sse = state.config.encryption(&upload.profile);
    let upload_id = state
        .store
        .create_multipart(&upload.key, &upload.content_type, sse.as_ref())
        .await?;
    upload.expires_at = upload.created_at + state.config.janitor.multipart_ttl;
    upload.multipart = Some(Multipart { upload_id, layout });
    Ok(())
}

/// Stores the record; if that fails, aborts its multipart upload, so storage
/// keeps nothing that no record refers to.
pub async fn record(state: &AppState, upload: &Upload) -> Result<(), ApiError> {
    let Err(err) = state.db.insert(upload).await else {
        state.metrics.upload(&upload.profile, "created");
        return Ok(());
    };
    if let Some(multipart) = &upload.multipart
        && let Err(abort) = state
            .store
            .abort_multipart(&upload.key, &multipart.upload_id)
            .await
    {
        tracing::warn!(upload = %upload.id, %abort, "could not abort the multipart upload of an unrecorded upload");
    }
    Err(err.into())
}

/// A new upload as a client describes it.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    pub profile: Option<&'a str>,
    pub filename: String,
    pub content_type: &'a str,
    /// `None` when the client's protocol does not say (Uppy).
    pub size: Option<u64>,
    pub checksum_sha256: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// Checks `intent` against its profile and builds the pending record; `method`
/// says how the bytes will travel. Nothing is stored yet.
pub fn accept<'c>(
    config: &'c Config,
    user: &Principal,
    intent: Intent<'_>,
    method: &str,
) -> Result<(Upload, &'c Profile), ApiError> {
    let profile_name = intent.profile.unwrap_or(DEFAULT_PROFILE);
    let profile = config.profiles.get(profile_name).ok_or_else(|| {
        ApiError::bad_request(
            "unknown_profile",
            format!("there is no profile {profile_name:?}"),
        )
        .with_field("profile")
    })?;
    keys::check_filename(&intent.filename)
        .map_err(|e| ApiError::bad_request("invalid_filename", e).with_field("filename"))?;
    let content_type = check_content_type(profile, intent.content_type)?;
    if let Some(size) = intent.size {
        check_size(profile, size)?;
    }
    if let Some(checksum) = &intent.checksum_sha256 {
        check_checksum(checksum)?;
    }
    check_metadata(&intent.metadata)?;

    let id = Uuid::now_v7();
    let now = db::now();
    let upload = Upload {
        id,
        owner: user.user.clone(),
        profile: profile_name.to_owned(),
        key: keys::object_key(&profile.key_prefix, &user.user, id, &intent.filename),
        filename: intent.filename,
        content_type,
        size: intent.size,
        checksum_sha256: intent.checksum_sha256,
        method: method.to_owned(),
        staging_key: keys::staging_key(id),
        status: UploadStatus::Pending,
        metadata: intent.metadata,
        reject_reason: None,
        created_at: now,
        expires_at: now + profile.url_ttl,
        completed_at: None,
        multipart: None,
        processing: None,
    };
    Ok((upload, profile))
}

/// The declared type, reduced to a lowercase `type/subtype` that the profile allows.
fn check_content_type(profile: &Profile, declared: &str) -> Result<String, ApiError> {
    let invalid = |detail: String| {
        ApiError::bad_request("invalid_content_type", detail).with_field("contentType")
    };
    let essence = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let valid = essence
        .split_once('/')
        .is_some_and(|(kind, sub)| is_token(kind) && is_token(sub) && kind != "*" && sub != "*");
    if !valid {
        return Err(invalid(format!(
            "{declared:?} is not a media type like image/png"
        )));
    }
    if !profile.allows_type(&essence) {
        return Err(ApiError::bad_request(
            "content_type_not_allowed",
            format!(
                "{essence} is not allowed here; allowed: {}",
                profile.content_types.join(", ")
            ),
        )
        .with_field("contentType"));
    }
    Ok(essence)
}

fn check_size(profile: &Profile, size: u64) -> Result<(), ApiError> {
    if size == 0 {
        return Err(
            ApiError::bad_request("empty_file", "empty files are not accepted").with_field("size"),
        );
    }
    if size > profile.max_size {
        return Err(ApiError::bad_request(
            "file_too_large",
            format!(
                "{size} bytes is over this profile's limit of {} bytes",
                profile.max_size
            ),
        )
        .with_field("size"));
    }
    Ok(())
}

fn check_checksum(checksum: &str) -> Result<(), ApiError> {
    match BASE64.decode(checksum) {
        Ok(digest) if digest.len() == 32 => Ok(()),
        _ => Err(ApiError::bad_request(
            "invalid_checksum",
            "checksumSha256 must be the base64 of a 32-byte SHA-256 digest",
        )
        .with_field("checksumSha256")),
    }
}

fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let invalid =
        |detail: String| ApiError::bad_request("invalid_metadata", detail).with_field("metadata");
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(invalid(format!("at most {MAX_METADATA_ENTRIES} entries")));
    }
    for (key, value) in metadata {
        let key_ok = !key.is_empty()
            && key.len() <= MAX_METADATA_KEY_LEN
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !key_ok {
            return Err(invalid(format!(
                "key {key:?} must be 1 to {MAX_METADATA_KEY_LEN} letters, digits, '-', '_' or '.'"
            )));
        }
        if value.len() > MAX_METADATA_VALUE_LEN || value.chars().any(char::is_control) {
            return Err(invalid(format!(
                "value of {key:?} must be at most {MAX_METADATA_VALUE_LEN} bytes without control characters"
            )));
        }
    }
    Ok(())
}
