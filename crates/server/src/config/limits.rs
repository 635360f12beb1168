//! `[limits]`: how fast and how much one caller may ask for.

use serde::Deserialize;

use super::units;

/// Rate limits (per node, in memory) and per-user quotas (from the database).
/// A rate of 0 turns that limit off; a quota left out is unlimited.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Upload creations and part-signing calls per second, per user.
    pub user_rate: u32,
    /// How many such calls a user may make at once before the rate applies.
    pub user_burst: u32,
    /// The same, per client IP address (all users behind it together).
    pub ip_rate: u32,
    pub ip_burst: u32,
    /// Take the client IP from the last `X-Forwarded-For` entry (set by the
    /// reverse proxy in front) instead of the connection's peer address.
    pub trust_forwarded_for: bool,
    /// Uploads a user may have in progress (pending or uploading) at once.
    pub max_uploads_in_progress: Option<u64>,
    /// Bytes a user may declare in uploads created over the last 24 hours
    /// (rejected, aborted and expired uploads do not count).
    #[serde(deserialize_with = "units::optional_size")]
    pub max_bytes_per_day: Option<u64>,
    /// Bytes a user may hold: completed uploads plus those in progress.
    #[serde(deserialize_with = "units::optional_size")]
    pub max_stored_bytes: Option<u64>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            user_rate: 100,
            user_burst: 500,
            ip_rate: 300,
            ip_burst: 1500,
            trust_forwarded_for: false,
            max_uploads_in_progress: None,
            max_bytes_per_day: None,
            max_stored_bytes: None,
        }
    }
}

impl LimitsConfig {
    /// Whether creating an upload must first read the user's usage.
    pub fn has_quotas(&self) -> bool {
        self.max_uploads_in_progress.is_some()
            || self.max_bytes_per_day.is_some()
            || self.max_stored_bytes.is_some()
    }

    pub fn validate(&self) -> Result<(), String> {
        if (self.user_rate > 0 && self.user_burst == 0) || (self.ip_rate > 0 && self.ip_burst == 0)
        {
            return Err(
                "limits: a burst of 0 would refuse every call; set a rate of 0 to turn a limit off"
                    .into(),
            );
        }
        Ok(())
    }
}
