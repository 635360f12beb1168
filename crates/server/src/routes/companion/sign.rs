use std::collections::BTreeMap;

use crate::extract::{ClientIp, Query};
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{KeyQuery, PathTokenUser, UploadPath, find_multipart};
use crate::app::AppState;
use crate::error::ApiError;
use crate::multipart::MAX_PARTS;
use crate::routes::uploads::parts;
use crate::storage::PartTarget;

#[derive(Debug, Deserialize)]
pub struct PartPath {
    upload_id: String,
    part_number: String,
}

#[derive(Debug, Deserialize)]
pub struct BatchQuery {
    key: String,
    #[serde(rename = "partNumbers")]
    part_numbers: String,
}

/// `GET /s3/multipart/{uploadId}/{partNumber}?key=` → `{url, expires}`.
pub async fn sign_part(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    ClientIp(ip): ClientIp,
    Path(path): Path<PartPath>,
    Query(query): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    state.rate_limits.admit(&user.user, ip)?;
    let number = part_number(&path.part_number)?;
    let upload = find_multipart(&state, &user, &query.key, &path.upload_id).await?;
    let (signed, _) = parts::sign(&state, &upload, &[target(number)]).await?;
    let url = signed.into_iter().next().map(|p| p.url).unwrap_or_default();
    let ttl = crate::routes::uploads::url_ttl(&state, &upload.profile);
    Ok(Json(json!({ "url": url, "expires": ttl.as_secs() })))
}

/// `GET /s3/multipart/{uploadId}/batch?key=&partNumbers=1,2` → `{presignedUrls: {"1": url}}`.
pub async fn sign_batch(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    ClientIp(ip): ClientIp,
    Path(path): Path<UploadPath>,
    Query(query): Query<BatchQuery>,
) -> Result<Json<Value>, ApiError> {
    state.rate_limits.admit(&user.user, ip)?;
    let numbers = query
        .part_numbers
        .split(',')
        .filter(|s| !s.is_empty())
        .map(part_number)
        .collect::<Result<Vec<u32>, ApiError>>()?;
    if numbers.is_empty() || numbers.len() > MAX_PARTS as usize {
        return Err(ApiError::invalid_field(
            "partNumbers",
            format!("partNumbers: list 1 to {MAX_PARTS} parts"),
        ));
    }
    let upload = find_multipart(&state, &user, &query.key, &path.upload_id).await?;
    let targets: Vec<PartTarget<'_>> = numbers.iter().map(|&n| target(n)).collect();
    let (signed, _) = parts::sign(&state, &upload, &targets).await?;
    let urls: BTreeMap<String, String> = signed
        .into_iter()
        .map(|p| (p.part_number.to_string(), p.url))
        .collect();
    Ok(Json(json!({ "presignedUrls": urls })))
}

/// Uppy picks its own part sizes, so the length is not signed; completion checks
/// that the parts it sent are even and large enough.
fn target(part_number: u32) -> PartTarget<'static> {
    PartTarget {
        part_number,
        size: None,
        checksum_sha256: None,
    }
}

fn part_number(text: &str) -> Result<u32, ApiError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_PARTS).contains(n))
        .ok_or_else(|| {
            ApiError::invalid_field(
                "partNumber",
                format!("partNumber: {text:?} is not between 1 and {MAX_PARTS}"),
            )
        })
}
