use std::collections::{BTreeMap, BTreeSet};

use axum::Json as JsonBody;
use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use time::OffsetDateTime;
use uploadgate_api::{SignParts, SignedPart, SignedParts, UploadStatus};

use super::{find_own, url_ttl};
use crate::app::AppState;
use crate::db::{self, Transition, Upload};
use crate::error::ApiError;
use crate::extract::{AuthUser, ClientIp, Json};
use crate::multipart::MAX_PARTS;
use crate::storage::{PartTarget, PresignedPart};

/// Presigns part uploads. Cheap and repeatable: a client whose URL expired asks again.
#[utoipa::path(post, path = "/v1/uploads/{id}/parts", tag = "uploads", request_body = SignParts,
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Missing, invalid or expired token"),
        (status = 503, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The database or storage is unavailable; retry after Retry-After"),
        (status = 413, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Body too large"),
        (status = 415, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Body is not JSON"),
        (status = 429, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Over a rate limit; retry after Retry-After"),
        (status = 200, body = SignedParts),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "A part number outside 1..partCount, or a bad checksum"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not a multipart upload, or no longer in progress")))]
pub async fn sign_parts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Json(req): Json<SignParts>,
) -> Result<JsonBody<SignedParts>, ApiError> {
    state.rate_limits.admit(&user.user, ip)?;
    let upload = find_own(&state, &user, &id).await?;
    let Some(layout) = upload.multipart.as_ref().and_then(|m| m.layout) else {
        return Err(match upload.multipart {
            None => not_multipart(),
            Some(_) => ApiError::conflict(
                "client_chosen_parts",
                "this upload's client chooses its own part sizes; sign its parts through the route it was created by",
            ),
        });
    };
    let numbers = check_numbers(&req.part_numbers, layout.part_count)?;
    let checksums = check_checksums(req.checksums_sha256.as_ref(), &numbers)?;
    let targets: Vec<PartTarget<'_>> = req
        .part_numbers
        .iter()
        .map(|&number| PartTarget {
            part_number: number,
            size: layout.part_len(number),
            checksum_sha256: checksums.get(&number).map(String::as_str),
        })
        .collect();
    let (signed, expires_at) = sign(&state, &upload, &targets).await?;
    Ok(JsonBody(SignedParts {
        parts: signed
            .into_iter()
            .map(|part| SignedPart {
                part_number: part.part_number,
                url: part.url,
                headers: part.headers,
                expires_at,
            })
            .collect(),
    }))
}

/// Presigns `targets` for a multipart upload in progress, whichever door asked,
/// and marks it `uploading`. Returns the URLs and when they expire.
pub async fn sign(
    state: &AppState,
    upload: &Upload,
    targets: &[PartTarget<'_>],
) -> Result<(Vec<PresignedPart>, OffsetDateTime), ApiError> {
    let Some(multipart) = &upload.multipart else {
        return Err(not_multipart());
    };
    if !matches!(
        upload.status,
        UploadStatus::Pending | UploadStatus::Uploading
    ) {
        return Err(ApiError::conflict(
            "upload_not_pending",
            format!(
                "the upload is {} and takes no more parts",
                upload.status.as_str()
            ),
        ));
    }
    let ttl = url_ttl(state, &upload.profile);
    let now = db::now();
    if now > upload.expires_at {
        return Err(ApiError::conflict(
            "upload_expired",
            "the upload ran past its deadline; start a new one",
        ));
    }
    let signed = state
        .store
        .presign_parts(&upload.key, &multipart.upload_id, targets, ttl)
        .await?;
    state.metrics.part_urls_signed.inc_by(signed.len() as u64);
    if upload.status == UploadStatus::Pending {
        let change = Transition::to(UploadStatus::Uploading, now);
        // Losing this race to a completion or an abort is fine: the URLs then fail at storage.
        state
            .db
            .transition(upload.id, UploadStatus::Pending, &change)
            .await?;
    }
    Ok((signed, now + ttl))
}

fn not_multipart() -> ApiError {
    ApiError::conflict(
        "not_multipart",
        "this upload is sent in one request, not in parts",
    )
}

fn check_numbers(numbers: &[u32], part_count: u32) -> Result<BTreeSet<u32>, ApiError> {
    let invalid = |detail: String| ApiError::invalid_field("partNumbers", detail);
    if numbers.is_empty() {
        return Err(invalid("partNumbers: name at least one part".into()));
    }
    if numbers.len() > MAX_PARTS as usize {
        return Err(invalid(format!(
            "partNumbers: at most {MAX_PARTS} parts per call"
        )));
    }
    let mut seen = BTreeSet::new();
    for &number in numbers {
        if number == 0 || number > part_count {
            return Err(invalid(format!(
                "partNumbers: {number} is outside 1..{part_count}"
            )));
        }
        if !seen.insert(number) {
            return Err(invalid(format!("partNumbers: {number} is listed twice")));
        }
    }
    Ok(seen)
}

fn check_checksums(
    given: Option<&BTreeMap<String, String>>,
    numbers: &BTreeSet<u32>,
) -> Result<BTreeMap<u32, String>, ApiError> {
    let invalid = |detail: String| ApiError::invalid_field("checksumsSha256", detail);
    let mut checksums = BTreeMap::new();
    for (key, checksum) in given.into_iter().flatten() {
        let number: u32 = key
            .parse()
            .ok()
            .filter(|n| numbers.contains(n))
            .ok_or_else(|| {
                invalid(format!(
                    "checksumsSha256: {key:?} is not one of partNumbers"
                ))
            })?;
        if BASE64.decode(checksum).map(|d| d.len()) != Ok(32) {
            return Err(invalid(format!(
                "checksumsSha256: part {number} needs the base64 of a 32-byte SHA-256 digest"
            )));
        }
        checksums.insert(number, checksum.clone());
    }
    Ok(checksums)
}
