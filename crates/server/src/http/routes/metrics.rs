//! `GET /metrics` in the Prometheus text format.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::{ApiError, AppState};
use crate::metrics::QueueLabels;

pub async fn serve(State(state): State<AppState>) -> Result<Response, ApiError> {
    let metrics = &state.uploads.metrics;
    match state.uploads.queue_depth().await {
        Ok(depth) => {
            for (name, n) in [
                ("queued", depth.queued),
                ("running", depth.running),
                ("dead", depth.dead),
            ] {
                metrics
                    .queue_depth
                    .get_or_create(&QueueLabels { state: name })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        // The rest of the metrics matter most when the database is in trouble.
        Err(err) => tracing::warn!(%err, "cannot read the job queue depth"),
    }
    let text = metrics.render().map_err(ApiError::internal)?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}
