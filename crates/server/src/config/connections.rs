//! How long a client may keep a connection busy without making progress.

use std::time::Duration;

use serde::Deserialize;

use super::units;

/// Deadlines of the connections to the API and to the embedded store, so that
/// a slow or silent client (one header line every few seconds, a body that
/// stops) cannot hold connections open for minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// From the moment a connection is ready for a request (opened, or done
    /// with the previous one) to the end of that request's headers: a
    /// keep-alive connection idle this long is closed too.
    #[serde(deserialize_with = "units::duration")]
    pub header_read_timeout: Duration,
    /// The longest a request body may send nothing; a steady upload of any
    /// size never meets it.
    #[serde(deserialize_with = "units::duration")]
    pub body_idle_timeout: Duration,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(20),
            body_idle_timeout: Duration::from_secs(60),
        }
    }
}

impl ConnectionsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.header_read_timeout.is_zero() || self.body_idle_timeout.is_zero() {
            return Err(
                "connections.header_read_timeout and body_idle_timeout must be more than 0".into(),
            );
        }
        Ok(())
    }
}
