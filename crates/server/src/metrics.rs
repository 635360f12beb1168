//! Prometheus metrics, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// One of HTTP's methods, or `other`.
    pub method: &'static str,
    /// The route pattern (`/v1/uploads/{id}`), never the raw path: bounded
    /// cardinality, and no token from a Companion path.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct UploadLabels {
    pub profile: String,
    /// `created`, `completed`, `rejected`, `aborted` or `expired`.
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ProfileLabels {
    pub profile: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StorageLabels {
    /// The store operation (`head`, `copy`, `complete_multipart`, ...).
    pub op: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StorageErrorLabels {
    pub op: &'static str,
    /// `unavailable` (unreachable, 5xx, timeout) or `refused` (credentials,
    /// bucket, signing); expected outcomes such as a changed object are not errors.
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct JobLabels {
    /// The processor (`scan`, `thumbnail`, ...).
    pub kind: &'static str,
    /// `done`, `retry` (failed, will run again) or `dead` (dead-lettered).
    pub outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct WebhookLabels {
    /// The event type (`upload.completed`, ...).
    pub event: &'static str,
    /// `delivered`, `retry` (failed, will be tried again) or `failed` (out of attempts).
    pub outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct JobKindLabels {
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct QueueLabels {
    /// `queued`, `running` or `dead`.
    pub state: &'static str,
}

/// Every metric uploadgate exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Every family's name as exposed (`uploadgate_...`), for checking docs.
    names: Vec<String>,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram>,
    pub uploads: Family<UploadLabels, Counter>,
    pub bytes_completed: Family<ProfileLabels, Counter>,
    pub part_urls_signed: Counter,
    pub storage_seconds: Family<StorageLabels, Histogram>,
    pub storage_errors: Family<StorageErrorLabels, Counter>,
    pub jobs: Family<JobLabels, Counter>,
    pub webhooks: Family<WebhookLabels, Counter>,
    pub job_seconds: Family<JobKindLabels, Histogram>,
    /// Read from the database at each scrape: shared by every node and worker.
    pub queue_depth: Family<QueueLabels, Gauge>,
    pub janitor_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("uploadgate");
        let mut names = Vec::new();
        let requests = Family::<RequestLabels, Counter>::default();
        register(
            &mut registry,
            &mut names,
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 100 µs to ~13 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 18))
        });
        register(
            &mut registry,
            &mut names,
            "http_request_duration_seconds",
            "HTTP request latency by route",
            request_seconds.clone(),
        );
        let uploads = Family::<UploadLabels, Counter>::default();
        register(
            &mut registry,
            &mut names,
            "uploads",
            "Uploads by profile and outcome",
            uploads.clone(),
        );
        let bytes_completed = Family::<ProfileLabels, Counter>::default();
        register(
            &mut registry,
            &mut names,
            "completed_bytes",
            "Bytes of verified uploads by profile",
            bytes_completed.clone(),
        );
        let part_urls_signed = Counter::default();
        register(
            &mut registry,
            &mut names,
            "part_urls_signed",
            "Multipart part URLs presigned",
            part_urls_signed.clone(),
        );
        let storage_seconds = Family::<StorageLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to ~65 s: storage calls time out at 30 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 17))
        });
        register(
            &mut registry,
            &mut names,
            "storage_request_duration_seconds",
            "Latency of calls to the object store by operation",
            storage_seconds.clone(),
        );
        let storage_errors = Family::<StorageErrorLabels, Counter>::default();
        register(
            &mut registry,
            &mut names,
            "storage_errors",
            "Failed calls to the object store by operation and kind",
            storage_errors.clone(),
        );
        let jobs = Family::<JobLabels, Counter>::default();
        register(
            &mut registry,
            &mut names,
            "jobs",
            "Post-processing job attempts by processor and outcome",
            jobs.clone(),
        );
        let webhooks = Family::<WebhookLabels, Counter>::default();
        register(
            &mut registry,
            &mut names,
            "webhook_attempts",
            "Webhook delivery attempts by event type and outcome",
            webhooks.clone(),
        );
        let job_seconds = Family::<JobKindLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to ~9 min: a scan streams the whole object.
            Histogram::new(exponential_buckets(0.001, 2.0, 20))
        });
        register(
            &mut registry,
            &mut names,
            "job_duration_seconds",
            "Post-processing job attempt duration by processor",
            job_seconds.clone(),
        );
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        register(
            &mut registry,
            &mut names,
            "job_queue_depth",
            "Jobs in the queue by state (all nodes)",
            queue_depth.clone(),
        );
        // 1 ms to ~9 min: a sweep pages through every upload past its deadline.
        let janitor_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 20));
        register(
            &mut registry,
            &mut names,
            "janitor_sweep_duration_seconds",
            "Duration of this node's janitor sweeps",
            janitor_seconds.clone(),
        );
        Self {
            registry,
            names,
            janitor_seconds,
            jobs,
            webhooks,
            job_seconds,
            queue_depth,
            requests,
            request_seconds,
            uploads,
            bytes_completed,
            part_urls_signed,
            storage_seconds,
            storage_errors,
        }
    }
}

/// Registers `metric` under `uploadgate_{name}` and remembers the name.
fn register(
    registry: &mut Registry,
    names: &mut Vec<String>,
    name: &str,
    help: &str,
    metric: impl prometheus_client::registry::Metric,
) {
    names.push(format!("uploadgate_{name}"));
    registry.register(name, help, metric);
}

impl Metrics {
    pub fn webhook(&self, event: &'static str, outcome: &'static str) {
        self.webhooks
            .get_or_create(&WebhookLabels { event, outcome })
            .inc();
    }

    pub fn upload(&self, profile: &str, outcome: &str) {
        self.uploads
            .get_or_create(&UploadLabels {
                profile: profile.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// The metric families exported, by their exposed names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
