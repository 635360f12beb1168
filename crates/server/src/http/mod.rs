//! The HTTP layer: extract, call the domain, map the answer. Nothing below it
//! (`uploads`, `db`, `storage`, the workers, the janitor) imports from here.

mod extract;
mod problem;
mod redact;
pub mod routes;
mod state;
mod track;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, header};
use axum::{Router, middleware};
use tower_http::cors::{AllowHeaders, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use problem::ApiError;
pub use state::{AppState, Shared};

/// Largest JSON body the API reads; upload requests are metadata, never file bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP API, ready to serve or to call in-process with `oneshot`.
pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let cors = cors(&state.cors_origins);
    routes::router()
        .route_layer(middleware::from_fn_with_state(state.clone(), track::track))
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(
            |request: &axum::http::Request<axum::body::Body>| {
                // The path only: query strings may carry tokens.
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let path = redact::redact_path(request.uri().path());
                tracing::info_span!("request", method = %request.method(), %path, request_id = %id)
            },
        ))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

fn cors(origins: &[String]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(crate::cors::allow_origins(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        // Uppy's client adds its own headers; no credentials are allowed, so mirroring is safe.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([header::LOCATION, header::RETRY_AFTER])
        .max_age(Duration::from_secs(3600))
}
