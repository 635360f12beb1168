use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, header};
use axum::routing::get;
use axum::{Router, middleware};
use tower_http::cors::{AllowHeaders, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::{Database, JobQueue, UploadRepo};
use crate::metrics::{self, Metrics};
use crate::rate_limit::RateLimits;
use crate::routes;
use crate::storage::{MeteredStore, ObjectStore};

/// Largest JSON body the API reads; upload requests are metadata, never file bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a handler can reach, behind one `Arc`: the router clones the
/// state several times per request, and one reference count is cheaper to
/// bump than one per dependency. Reads go through `Deref`; a write (before
/// serving, or in a test) goes through `DerefMut`, which copies the fields
/// first if the state is already shared.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// The fields of `AppState`. Dependencies are trait objects so tests and
/// deployments can swap the database, the store or the identity provider.
#[derive(Debug, Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    pub db: Arc<dyn UploadRepo>,
    /// The same database's job queue.
    pub jobs: Arc<dyn JobQueue>,
    /// Wakes this process's idle workers when it queues a job.
    pub work: Arc<tokio::sync::Notify>,
    /// Outgoing HTTP (webhooks); one pool for the process.
    pub http: reqwest::Client,
    pub store: Arc<dyn ObjectStore>,
    pub auth: Arc<dyn Authenticator>,
    /// Browser origins allowed to call the API.
    pub cors_origins: Arc<[String]>,
    /// Whether readiness should check the bucket's CORS rules (external stores).
    pub check_bucket_cors: bool,
    pub metrics: Arc<Metrics>,
    pub rate_limits: Arc<RateLimits>,
}

impl AppState {
    /// State for `config` with fresh metrics (the store's calls included) and
    /// rate limits; the API's CORS
    /// origins default to the configured ones, and the bucket's CORS rules go
    /// unchecked (see the public fields to change either).
    pub fn new(
        config: Config,
        db: Arc<dyn Database>,
        store: Arc<dyn ObjectStore>,
        auth: Arc<dyn Authenticator>,
    ) -> Self {
        let metrics = Arc::<Metrics>::default();
        let store = Arc::new(MeteredStore::new(store, metrics.clone()));
        Self(Arc::new(Shared {
            cors_origins: config.cors_origins.clone().into(),
            check_bucket_cors: false,
            metrics,
            rate_limits: Arc::new(RateLimits::new(&config.limits)),
            config: Arc::new(config),
            jobs: db.clone(),
            db,
            work: Arc::default(),
            // Redirects could send a signed delivery somewhere else.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            store,
            auth,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

/// The whole HTTP API, ready to serve or to call in-process with `oneshot`.
pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let cors = cors(&state.cors_origins);
    routes::router()
        .route("/metrics", get(metrics::serve))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
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
                let path = crate::routes::companion::redact_path(request.uri().path());
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
