use std::collections::BTreeMap;

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{KeyQuery, PathTokenUser, UploadPath, find_multipart};
use crate::http::extract::{ClientIp, Json, Query};
use crate::http::{ApiError, AppState};
use crate::storage::PartLimits;

/// Companion's routes speak S3's multipart protocol, so S3's limits.
const MAX_PARTS: u32 = PartLimits::S3.max_parts;

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
    state.rate_limits.admit(&user, ip)?;
    let number = part_number(&path.part_number)?;
    let upload = find_multipart(&state, &user, &query.key, &path.upload_id).await?;
    let signed = state.uploads.sign_client_parts(&upload, &[number]).await?;
    let url = signed
        .parts
        .into_iter()
        .next()
        .map(|p| p.url)
        .unwrap_or_default();
    Ok(Json(json!({ "url": url, "expires": signed.ttl.as_secs() })))
}

/// `GET /s3/multipart/{uploadId}/batch?key=&partNumbers=1,2` → `{presignedUrls: {"1": url}}`.
pub async fn sign_batch(
    State(state): State<AppState>,
    PathTokenUser(user): PathTokenUser,
    ClientIp(ip): ClientIp,
    Path(path): Path<UploadPath>,
    Query(query): Query<BatchQuery>,
) -> Result<Json<Value>, ApiError> {
    let listed: Vec<&str> = query
        .part_numbers
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    state.rate_limits.admit_n(&user, ip, listed.len())?;
    let numbers = listed
        .into_iter()
        .map(part_number)
        .collect::<Result<Vec<u32>, ApiError>>()?;
    if numbers.is_empty() || numbers.len() > MAX_PARTS as usize {
        return Err(ApiError::invalid_field(
            "partNumbers",
            format!("partNumbers: list 1 to {MAX_PARTS} parts"),
        ));
    }
    let upload = find_multipart(&state, &user, &query.key, &path.upload_id).await?;
    let signed = state.uploads.sign_client_parts(&upload, &numbers).await?;
    let urls: BTreeMap<String, String> = signed
        .parts
        .into_iter()
        .map(|p| (p.part_number.to_string(), p.url))
        .collect();
    Ok(Json(json!({ "presignedUrls": urls })))
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
