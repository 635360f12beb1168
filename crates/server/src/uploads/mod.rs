//! The domain: everything that happens to an upload, whoever asks for it.
//!
//! API v1, the Companion routes, storage events, the janitor and the job
//! workers all call these operations and never each other. They depend on the
//! database, the store, the configuration and the metrics (`Uploads`), never
//! on HTTP, and fail with `UploadError`.

mod abort;
mod announce;
mod complete;
mod converge;
mod create;
mod delete;
mod deliveries;
mod erase;
mod error;
mod event;
mod expire;
mod grants;
mod idempotency;
mod intake;
mod jobs;
mod parts;
mod probes;
mod quota;
mod read;
mod retain;
mod view;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use complete::COMPLETION_LEASE;
pub use delete::Reason;
pub use erase::{Batch, ErasureProgress};
pub use error::{Invalid, UploadError};
pub use event::EventOutcome;
pub use expire::{Expiry, Orphans};
pub use idempotency::{Created, KEY_LIFETIME};
pub use intake::{Intent, check_metadata};
pub use parts::{SignedParts, check_part_numbers};
pub use read::UploadedParts;
pub use retain::PURGE_GRACE;
pub use view::{job_record, record};

use crate::config::{Config, DEFAULT_PROFILE, Profile};
use crate::db::Database;
use crate::metrics::Metrics;
use crate::storage::{MeteredStore, ObjectStore};

/// What the operations on uploads need, and nothing of HTTP.
#[derive(Debug, Clone)]
pub struct Uploads {
    pub config: Arc<Config>,
    /// Upload records and, in the same database, the job queue.
    pub db: Arc<dyn Database>,
    pub store: Arc<dyn ObjectStore>,
    pub metrics: Arc<Metrics>,
    /// Wakes this process's idle workers when it queues a job.
    pub work: Arc<Notify>,
    /// Outgoing HTTP (webhooks); one pool for the process.
    pub http: reqwest::Client,
}

impl Uploads {
    /// The domain over `db` and `store`, with fresh metrics that also time
    /// every call to the store.
    pub fn new(config: Config, db: Arc<dyn Database>, store: Arc<dyn ObjectStore>) -> Self {
        let metrics = Arc::<Metrics>::default();
        Self {
            store: Arc::new(MeteredStore::new(store, metrics.clone())),
            metrics,
            config: Arc::new(config),
            db,
            work: Arc::default(),
            // Redirects could send a signed delivery somewhere else.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                // Fails only if the TLS backend cannot start, which no input
                // causes; a default client would follow redirects.
                .expect("the webhook HTTP client builds"),
        }
    }

    /// The profile an upload was recorded under; the default profile when
    /// that one has since been removed from the config.
    fn profile_of(&self, name: &str) -> Option<&Profile> {
        self.config
            .profiles
            .get(name)
            .or_else(|| self.config.profiles.get(DEFAULT_PROFILE))
    }

    /// Whether `profile` keeps one upload per user (`replace = true`). A
    /// profile removed from the config since replaces nothing.
    fn replaces(&self, profile: &str) -> bool {
        self.config.profiles.get(profile).is_some_and(|p| p.replace)
    }

    /// How long URLs for an upload of `profile` stay valid.
    pub fn url_ttl(&self, profile: &str) -> Duration {
        self.profile_of(profile)
            .map_or(Duration::from_secs(900), |p| p.url_ttl)
    }
}
