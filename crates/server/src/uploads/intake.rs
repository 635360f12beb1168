//! What every door into uploadgate (API v1, the Uppy/Companion routes) does to
//! accept a new upload: hold it to its profile and build its record.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use uploadgate_api::UploadStatus;
use uuid::Uuid;

use super::Invalid;
use crate::auth::{Principal, Via};
use crate::config::{Config, DEFAULT_PROFILE, Profile, is_token};
use crate::db::{self, Method, Upload};
use crate::keys;

const MAX_METADATA_ENTRIES: usize = 32;
const MAX_METADATA_KEY_LEN: usize = 64;
const MAX_METADATA_VALUE_LEN: usize = 1024;

/// A new upload as a client describes it.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    pub profile: Option<String>,
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
    method: Method,
) -> Result<(Upload, &'c Profile), Invalid> {
    let profile_name = intent.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
    let profile = config
        .profiles
        .get(profile_name)
        .ok_or_else(|| Invalid::UnknownProfile(profile_name.to_owned()))?;
    keys::check_filename(&intent.filename).map_err(Invalid::Filename)?;
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
        method,
        staging_key: keys::staging_key(id),
        status: UploadStatus::Pending,
        metadata: intent.metadata,
        reject_reason: None,
        created_at: now,
        expires_at: now + profile.url_ttl,
        completed_at: None,
        multipart: None,
        processing: None,
        reserved: if intent.size.is_some() {
            0
        } else {
            profile.max_size
        },
        grant: match &user.via {
            Via::UploadToken(grant) => Some(grant.id),
            Via::Token | Via::ApiKey(_) => None,
        },
        deleted_at: None,
        purged_at: None,
    };
    Ok((upload, profile))
}

/// The declared type reduced to lowercase `type/subtype`, the form that is
/// recorded and signed.
pub fn essence(declared: &str) -> String {
    declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The declared type, reduced to a lowercase `type/subtype` that the profile allows.
fn check_content_type(profile: &Profile, declared: &str) -> Result<String, Invalid> {
    let essence = essence(declared);
    let valid = essence
        .split_once('/')
        .is_some_and(|(kind, sub)| is_token(kind) && is_token(sub) && kind != "*" && sub != "*");
    if !valid {
        return Err(Invalid::ContentType(declared.to_owned()));
    }
    if !profile.allows_type(&essence) {
        return Err(Invalid::ContentTypeNotAllowed {
            essence,
            allowed: profile.content_types.clone(),
        });
    }
    Ok(essence)
}

fn check_size(profile: &Profile, size: u64) -> Result<(), Invalid> {
    if size == 0 {
        return Err(Invalid::EmptyFile);
    }
    if size > profile.max_size {
        return Err(Invalid::FileTooLarge {
            size,
            max: profile.max_size,
        });
    }
    Ok(())
}

/// Whether `checksum` is the base64 of a 32-byte SHA-256 digest.
pub fn is_sha256(checksum: &str) -> bool {
    BASE64
        .decode(checksum)
        .is_ok_and(|digest| digest.len() == 32)
}

fn check_checksum(checksum: &str) -> Result<(), Invalid> {
    if is_sha256(checksum) {
        Ok(())
    } else {
        Err(Invalid::Checksum)
    }
}

pub fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), Invalid> {
    let invalid = Invalid::Metadata;
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
