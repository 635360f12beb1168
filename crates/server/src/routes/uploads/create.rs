use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use uploadgate_api::{CreateUpload, UploadInstructions, UploadMethod, UploadRecord, UploadStatus};
use uuid::Uuid;

use super::record;
use crate::app::AppState;
use crate::config::{DEFAULT_PROFILE, Profile, is_token};
use crate::db::{self, Multipart, Upload};
use crate::error::ApiError;
use crate::extract::{AuthUser, Json};
use crate::keys;
use crate::multipart::Layout;
use crate::storage::UploadTarget;

const MAX_METADATA_ENTRIES: usize = 32;
const MAX_METADATA_KEY_LEN: usize = 64;
const MAX_METADATA_VALUE_LEN: usize = 1024;

/// Authorizes an upload: checks it against the profile, records it, and answers
/// with the presigned request that sends the bytes straight to storage.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", request_body = CreateUpload,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UploadRecord, description = "Authorized; `upload` says how to send the bytes"),
        (status = 400, body = uploadgate_api::Problem, description = "Refused by the profile or malformed"),
        (status = 401, body = uploadgate_api::Problem)))]
pub async fn create_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(req): Json<CreateUpload>,
) -> Result<(StatusCode, HeaderMap, axum::Json<UploadRecord>), ApiError> {
    let profile_name = req.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
    let profile = state.config.profiles.get(profile_name).ok_or_else(|| {
        ApiError::bad_request(
            "unknown_profile",
            format!("there is no profile {profile_name:?}"),
        )
        .with_field("profile")
    })?;
    keys::check_filename(&req.filename)
        .map_err(|e| ApiError::bad_request("invalid_filename", e).with_field("filename"))?;
    let content_type = check_content_type(profile, &req.content_type)?;
    check_size(profile, req.size)?;
    if let Some(checksum) = &req.checksum_sha256 {
        check_checksum(checksum)?;
    }
    let layout = plan_parts(profile, &req)?;
    let metadata = req.metadata.clone().unwrap_or_default();
    check_metadata(&metadata)?;
    let method = req.method.unwrap_or(UploadMethod::Put);

    let id = Uuid::now_v7();
    let now = db::now();
    let key = keys::object_key(&profile.key_prefix, &user.user, id, &req.filename);
    let mut upload = Upload {
        id,
        owner: user.user.clone(),
        profile: profile_name.to_owned(),
        filename: req.filename,
        content_type,
        size: Some(req.size),
        checksum_sha256: req.checksum_sha256,
        method: match (layout, method) {
            (Some(_), _) => "MULTIPART",
            (None, UploadMethod::Put) => "PUT",
            (None, UploadMethod::Post) => "POST",
        }
        .to_owned(),
        key,
        staging_key: keys::staging_key(id),
        status: UploadStatus::Pending,
        metadata,
        reject_reason: None,
        created_at: now,
        expires_at: now + profile.url_ttl,
        completed_at: None,
        multipart: None,
    };

    let instructions = match layout {
        Some(layout) => {
            let upload_id = state
                .store
                .create_multipart(&upload.key, &upload.content_type)
                .await?;
            upload.multipart = Some(Multipart {
                upload_id,
                layout: Some(layout),
            });
            UploadInstructions::Multipart {
                part_size: layout.part_size,
                part_count: layout.part_count,
            }
        }
        None => presign_single(&state, &upload, method, profile).await?,
    };
    if let Err(err) = state.db.insert(&upload).await {
        if let Some(multipart) = &upload.multipart {
            // Leave no storage behind for an upload nobody can refer to.
            let _ = state
                .store
                .abort_multipart(&upload.key, &multipart.upload_id)
                .await;
        }
        return Err(err.into());
    }

    let mut response = record(&upload);
    response.upload = Some(instructions);
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/uploads/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, axum::Json(response)))
}

async fn presign_single(
    state: &AppState,
    upload: &Upload,
    method: UploadMethod,
    profile: &Profile,
) -> Result<UploadInstructions, ApiError> {
    let req_size = upload.size.unwrap_or_default();
    let target = UploadTarget {
        key: &upload.staging_key,
        content_type: &upload.content_type,
        size: req_size,
        min_size: req_size,
        checksum_sha256: upload.checksum_sha256.as_deref(),
        expires_in: profile.url_ttl,
    };
    Ok(match method {
        UploadMethod::Put => {
            let put = state.store.presign_put(&target).await?;
            UploadInstructions::Put {
                url: put.url,
                headers: put.headers,
            }
        }
        UploadMethod::Post => {
            let post = state.store.presign_post(&target).await?;
            UploadInstructions::Post {
                url: post.url,
                fields: post.fields,
            }
        }
    })
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

/// The part layout when `size` is over the profile's multipart threshold.
fn plan_parts(profile: &Profile, req: &CreateUpload) -> Result<Option<Layout>, ApiError> {
    if req.size <= profile.multipart_threshold {
        return Ok(None);
    }
    if req.method == Some(UploadMethod::Post) {
        return Err(ApiError::bad_request(
            "multipart_required",
            format!(
                "files over {} bytes are sent in parts: leave method out",
                profile.multipart_threshold
            ),
        )
        .with_field("method"));
    }
    if req.checksum_sha256.is_some() {
        return Err(ApiError::bad_request(
            "checksum_per_part",
            "a file sent in parts is checked part by part: pass checksumsSha256 when signing parts",
        )
        .with_field("checksumSha256"));
    }
    Layout::plan(req.size, profile.part_size)
        .map(Some)
        .map_err(|e| ApiError::bad_request("no_part_layout", e).with_field("size"))
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
