use axum::http::HeaderValue;
use tower_http::cors::AllowOrigin;

/// The configured origins as a CORS allow-list. An origin that is not a valid
/// header value cannot match any browser's `Origin`, so it is skipped with a warning.
pub fn allow_origins(origins: &[String]) -> AllowOrigin {
    let values: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| match HeaderValue::from_str(origin) {
            Ok(value) => Some(value),
            Err(_) => {
                tracing::warn!(%origin, "ignoring an invalid CORS origin");
                None
            }
        })
        .collect();
    AllowOrigin::list(values)
}
