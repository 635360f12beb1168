//! One file per action, grouped by resource.

pub mod companion;
pub mod events;
mod health;
pub mod jobs;
pub mod openapi;
mod page;
pub mod uploads;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::error::ApiError;

/// Room for 10,000 part numbers and as many base64 checksums.
const MAX_PARTS_BODY_BYTES: usize = 1024 * 1024;
const MAX_EVENTS_BODY_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(page::index))
        .route("/assets/app.js", get(page::app_js))
        .route("/assets/style.css", get(page::style_css))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi::serve))
        .route(
            "/v1/uploads",
            post(uploads::create::create_upload).get(uploads::list::list_uploads),
        )
        .route(
            "/v1/uploads/{id}",
            get(uploads::get::get_upload).delete(uploads::abort::abort_upload),
        )
        .route(
            "/v1/uploads/{id}/complete",
            post(uploads::complete::complete_upload),
        )
        .route(
            "/v1/uploads/{id}/parts",
            // 10,000 part numbers with their checksums need more than the default.
            post(uploads::parts::sign_parts).layer(DefaultBodyLimit::max(MAX_PARTS_BODY_BYTES)),
        )
        .route(
            "/v1/uploads/{id}/download",
            get(uploads::download::download_upload),
        )
        .route("/v1/jobs", get(jobs::list::list_jobs))
        .route("/v1/jobs/{id}/retry", post(jobs::retry::retry_job))
        .route(
            "/v1/events/s3",
            // A notification may batch many records.
            post(events::s3::s3_event).layer(DefaultBodyLimit::max(MAX_EVENTS_BODY_BYTES)),
        )
        .nest("/companion/{token}", companion::router())
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
}
