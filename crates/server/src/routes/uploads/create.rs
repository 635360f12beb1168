use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use uploadgate_api::{CreateUpload, UploadInstructions, UploadMethod, UploadRecord};

use super::record;
use crate::app::AppState;
use crate::config::{DEFAULT_PROFILE, Profile};
use crate::db::Upload;
use crate::error::ApiError;
use crate::extract::{AuthUser, ClientIp, Json};
use crate::intake::{self, Intent};
use crate::multipart::Layout;
use crate::quota;
use crate::storage::UploadTarget;

/// Authorizes an upload: checks it against the profile, records it, and answers
/// with the presigned request that sends the bytes straight to storage.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", request_body = CreateUpload,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UploadRecord, description = "Authorized; `upload` says how to send the bytes"),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Refused by the profile or malformed"),
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Missing, invalid or expired token"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Over a per-user quota (`quota_exceeded`)"),
        (status = 413, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Body too large"),
        (status = 415, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Body is not JSON"),
        (status = 429, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Over a rate limit; retry after Retry-After"),
        (status = 503, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The database or storage is unavailable; retry after Retry-After")))]
pub async fn create_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ClientIp(ip): ClientIp,
    Json(req): Json<CreateUpload>,
) -> Result<(StatusCode, HeaderMap, axum::Json<UploadRecord>), ApiError> {
    state.rate_limits.admit(&user.user, ip)?;
    let method = req.method.unwrap_or(UploadMethod::Put);
    let profile = state
        .config
        .profiles
        .get(req.profile.as_deref().unwrap_or(DEFAULT_PROFILE));
    let layout = match profile {
        Some(profile) => plan_parts(profile, &req)?,
        None => None,
    };
    let intent = Intent {
        profile: req.profile.as_deref(),
        filename: req.filename.clone(),
        content_type: &req.content_type,
        size: Some(req.size),
        checksum_sha256: req.checksum_sha256.clone(),
        metadata: req.metadata.clone().unwrap_or_default(),
    };
    let how = match (layout, method) {
        (Some(_), _) => "MULTIPART",
        (None, UploadMethod::Put) => "PUT",
        (None, UploadMethod::Post) => "POST",
    };
    let (mut upload, profile) = intake::accept(&state.config, &user, intent, how)?;
    quota::check(&state, &upload).await?;

    let instructions = match layout {
        Some(layout) => {
            intake::start_multipart(&state, &mut upload, Some(layout)).await?;
            UploadInstructions::Multipart {
                part_size: layout.part_size,
                part_count: layout.part_count,
            }
        }
        None => presign_single(&state, &upload, method, profile).await?,
    };
    intake::record(&state, &upload).await?;

    let mut response = record(&upload);
    response.upload = Some(instructions);
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/uploads/{}", upload.id)) {
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
    let sse = profile.encryption();
    let target = UploadTarget {
        key: &upload.staging_key,
        content_type: &upload.content_type,
        size: req_size,
        min_size: req_size,
        checksum_sha256: upload.checksum_sha256.as_deref(),
        expires_in: profile.url_ttl,
        sse: sse.as_ref(),
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
