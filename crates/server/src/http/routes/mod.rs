//! One file per action, grouped by resource. Each handler extracts, calls the
//! domain (`crate::uploads`), and maps the answer; errors become problem+json
//! in `http::problem`.

mod companion;
mod erasures;
mod events;
mod health;
mod jobs;
mod metrics;
mod openapi;
mod page;
mod paging;
mod responses;
mod simple;
mod tokens;
mod uploads;
mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

pub use openapi::document;

use super::{ApiError, AppState};

/// Room for 10,000 part numbers and as many base64 checksums.
const MAX_PARTS_BODY_BYTES: usize = 1024 * 1024;
/// A storage notification may batch many records.
const MAX_EVENTS_BODY_BYTES: usize = 1024 * 1024;

/// The documented API: each handler's route and its OpenAPI operation come
/// from the same `#[utoipa::path]`, so the two cannot disagree.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(
            uploads::create::create_upload,
            uploads::list::list_uploads
        ))
        .routes(routes!(
            uploads::get::get_upload,
            uploads::delete::delete_upload
        ))
        .routes(routes!(uploads::complete::complete_upload))
        .routes(body_limit(
            routes!(uploads::parts::sign_parts),
            MAX_PARTS_BODY_BYTES,
        ))
        .routes(routes!(uploads::download::download_upload))
        .routes(routes!(jobs::list::list_jobs))
        .routes(routes!(jobs::retry::retry_job))
        .routes(routes!(tokens::create::create_upload_token))
        .routes(routes!(erasures::request::erase_user))
        .routes(routes!(erasures::get::get_erasure))
        .routes(routes!(webhooks::list::list_deliveries))
        .routes(routes!(webhooks::redeliver::redeliver))
        .routes(body_limit(
            routes!(events::s3::s3_event),
            MAX_EVENTS_BODY_BYTES,
        ))
        .routes(body_limit(
            routes!(events::azure::azure_event),
            MAX_EVENTS_BODY_BYTES,
        ))
        .routes(body_limit(
            routes!(events::gcs::gcs_event),
            MAX_EVENTS_BODY_BYTES,
        ))
}

/// Every route: the documented API, then the page, the probes' neighbours and
/// the Companion and simple doors, which are not part of the OpenAPI document.
pub fn router() -> Router<AppState> {
    let (api, _) = api().split_for_parts();
    api.route("/", get(page::index))
        .route("/assets/app.js", get(page::app_js))
        .route("/assets/style.css", get(page::style_css))
        .route("/openapi.json", get(openapi::serve))
        .route("/metrics", get(metrics::serve))
        .nest("/companion/{token}", companion::router())
        .nest("/api/upload", simple::router())
        .fallback(|| async { ApiError::new(uploadgate_api::ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                uploadgate_api::ErrorCode::MethodNotAllowed,
                "this route does not take that method",
            )
        })
}

/// `routes` with a larger body limit than the API's default.
fn body_limit(
    (schemas, paths, method_router): UtoipaMethodRouter<AppState>,
    max: usize,
) -> UtoipaMethodRouter<AppState> {
    (
        schemas,
        paths,
        method_router.layer(DefaultBodyLimit::max(max)),
    )
}
