use std::time::Duration;

use axum::extract::State;
use serde_json::{Value, json};

use crate::http::extract::Json;
use crate::http::{ApiError, AppState};

/// Readiness gives each dependency this long before calling it down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database and storage both answer. `warnings` lists what would
/// break browser uploads (an external bucket without CORS rules).
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Database and storage reachable"),
    (status = 503, description = "A dependency is down", body = uploadgate_api::Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(CHECK_TIMEOUT, state.uploads.ping_database()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(ApiError::unavailable("the database", err)),
        Err(_) => return Err(ApiError::unavailable("the database", "ping timed out")),
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.uploads.ping_storage()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(ApiError::unavailable("storage", err)),
        Err(_) => return Err(ApiError::unavailable("storage", "ping timed out")),
    }
    let mut warnings = Vec::new();
    if state.check_bucket_cors {
        for origin in state.cors_origins.iter() {
            match tokio::time::timeout(CHECK_TIMEOUT, state.uploads.bucket_cors_allows(origin)).await {
                Ok(Ok(Some(false))) => warnings.push(format!(
                    "the bucket's CORS rules do not let {origin} upload and read ETag: run `uploadgate bucket setup`"
                )),
                Ok(Ok(_)) => {}
                Ok(Err(err)) => {
                    tracing::warn!(%err, "cannot read the bucket's CORS rules");
                    warnings.push("cannot read the bucket's CORS rules (see the logs)".to_owned());
                }
                Err(_) => warnings.push("reading the bucket's CORS rules timed out".to_owned()),
            }
        }
    }
    // Tokens of other issuers, API keys and the server's own tokens still
    // work: a provider that is down is a warning, not an outage.
    for issuer in state.issuers.not_loaded() {
        warnings.push(format!(
            "the keys of identity provider {issuer} are not loaded yet: its tokens are refused until they are"
        ));
    }
    // Server-to-server uploads work without CORS, so this warns rather than fails.
    Ok(Json(json!({ "status": "ready", "warnings": warnings })))
}
