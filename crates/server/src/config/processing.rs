//! Post-processing settings: the job workers and each processor's own section.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units;
use crate::secret::Secret;

/// A step of post-processing, as a profile lists it in `processors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Processor {
    /// Records the media type the content shows.
    Sniff,
    /// Size, SHA-256 and an image's dimensions.
    Metadata,
    /// ClamAV; quarantines what it flags.
    Scan,
    Thumbnail,
}

/// Of earlier versions, which posted the result; webhook events replaced it
/// (migration 0015 ended the jobs it left). A profile naming it is refused
/// with this hint.
const RETIRED_WEBHOOK: &str = "the \"webhook\" processor was replaced by events: remove it and set [webhooks] (processing.ready and others are sent when processing ends; docs/webhooks.md)";

impl Processor {
    /// Every processor, in the order they usually run.
    pub const ALL: [Processor; 4] = [Self::Sniff, Self::Metadata, Self::Scan, Self::Thumbnail];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sniff => "sniff",
            Self::Metadata => "metadata",
            Self::Scan => "scan",
            Self::Thumbnail => "thumbnail",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl std::fmt::Display for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Processor {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        if name == "webhook" {
            return Err(RETIRED_WEBHOOK.to_owned());
        }
        Self::parse(&name).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|p| p.as_str()).collect();
            format!("{name:?} is not one of {}", all.join(", "))
        })
    }
}

impl From<Processor> for &'static str {
    fn from(processor: Processor) -> Self {
        processor.as_str()
    }
}

/// The job workers (`[workers]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkersConfig {
    /// Jobs run at once inside `serve`; 0 leaves them to `uploadgate worker`.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs (new jobs of this process
    /// wake it at once).
    #[serde(deserialize_with = "units::duration")]
    pub poll_interval: Duration,
    /// How long a claimed job stays invisible to other workers; a running job
    /// renews it, so it only runs out when its worker died.
    #[serde(deserialize_with = "units::duration")]
    pub lease: Duration,
    /// Attempts before a job is dead-lettered.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time, up to `max_backoff`.
    #[serde(deserialize_with = "units::duration")]
    pub backoff: Duration,
    #[serde(deserialize_with = "units::duration")]
    pub max_backoff: Duration,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            max_attempts: 5,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
        }
    }
}

/// The virus scan through a ClamAV daemon (`[scan]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// `tcp://HOST:PORT` or `unix:/path/to/clamd.ctl`.
    pub clamd: Option<String>,
    /// What happens to an infected object: `"move"` to `quarantine/` (outside
    /// every profile's prefix, never served) or `"delete"`.
    pub quarantine: String,
    /// The longest one scan may take, streaming included.
    #[serde(deserialize_with = "units::duration")]
    pub timeout: Duration,
    /// Whether an upload whose scan failed for good (clamd down through every
    /// attempt, a file over its StreamMaxLength) may still be downloaded.
    /// Off: a profile that scans gives no download link without a clean verdict.
    pub fail_open: bool,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            clamd: None,
            quarantine: "move".into(),
            timeout: Duration::from_secs(300),
            fail_open: false,
        }
    }
}

/// Thumbnails of images (`[thumbnails]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThumbnailsConfig {
    /// Bounding boxes in pixels; each thumbnail fits inside, ratio kept.
    pub sizes: Vec<u32>,
    /// Images with more pixels are not decoded (decompression bombs).
    pub max_pixels: u64,
    /// Images larger than this are not read at all.
    #[serde(deserialize_with = "units::size")]
    pub max_input_size: u64,
}

impl Default for ThumbnailsConfig {
    fn default() -> Self {
        Self {
            sizes: vec![200, 800],
            max_pixels: 40_000_000,
            max_input_size: 50 * 1024 * 1024,
        }
    }
}

/// Storage event notifications (`[events]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Shared secret `POST /v1/events/s3` requires (`Authorization: Bearer`);
    /// the route answers 404 while unset.
    pub secret: Option<Secret>,
}

impl WorkersConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("workers.max_attempts must be at least 1".into());
        }
        if self.lease < Duration::from_secs(1) {
            return Err("workers.lease must be at least 1s".into());
        }
        if self.poll_interval.is_zero() || self.backoff.is_zero() {
            return Err("workers.poll_interval and workers.backoff must be positive".into());
        }
        Ok(())
    }
}

impl ScanConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.quarantine.as_str(), "move" | "delete") {
            return Err(format!(
                "scan.quarantine {:?} is not \"move\" or \"delete\"",
                self.quarantine
            ));
        }
        if let Some(address) = &self.clamd
            && !(address.starts_with("tcp://") || address.starts_with("unix:"))
        {
            return Err(format!(
                "scan.clamd {address:?} must be tcp://HOST:PORT or unix:/path"
            ));
        }
        Ok(())
    }
}

impl ThumbnailsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.sizes.is_empty() || self.sizes.iter().any(|&s| s == 0 || s > 4096) {
            return Err("thumbnails.sizes must list sizes from 1 to 4096 pixels".into());
        }
        if self.max_pixels == 0 {
            return Err("thumbnails.max_pixels must be positive".into());
        }
        Ok(())
    }
}
