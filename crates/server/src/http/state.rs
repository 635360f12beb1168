//! What a request handler can reach.

use std::sync::Arc;

use crate::auth::{Authenticator, Hs256, Issuers};
use crate::rate_limit::RateLimits;
use crate::uploads::Uploads;

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
    /// The domain: every operation on an upload.
    pub uploads: Uploads,
    pub auth: Arc<dyn Authenticator>,
    /// Signs the scoped upload tokens API keys ask for.
    pub tokens: Arc<Hs256>,
    /// The trusted issuers, for readiness.
    pub issuers: Arc<Issuers>,
    pub rate_limits: Arc<RateLimits>,
    /// Browser origins allowed to call the API.
    pub cors_origins: Arc<[String]>,
    /// Whether readiness should check the bucket's CORS rules (external stores).
    pub check_bucket_cors: bool,
}

impl AppState {
    /// State over `uploads`, with rate limits from its config; the API's CORS
    /// origins default to the configured ones, and the bucket's CORS rules go
    /// unchecked (see the public fields to change either).
    pub fn new(uploads: Uploads, auth: Arc<dyn Authenticator>, tokens: Arc<Hs256>) -> Self {
        Self(Arc::new(Shared {
            tokens,
            issuers: Arc::default(),
            cors_origins: uploads.config.cors_origins.clone().into(),
            check_bucket_cors: false,
            rate_limits: Arc::new(RateLimits::new(&uploads.config.limits)),
            uploads,
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
