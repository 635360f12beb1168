//! `[webhooks]`: events to the application's endpoint, on the Standard
//! Webhooks specification.

use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use uploadgate_api::EventType;
use url::Url;

use super::units;
use crate::secret::Secret;

/// The prefix of a Standard Webhooks secret; the base64 of the key follows.
pub const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Where events are POSTed; none are recorded while unset.
    pub url: Option<Url>,
    /// `whsec_` followed by the base64 of 24 to 64 random bytes. Two while
    /// rotating: every delivery then carries a signature under each, so the
    /// receiver can switch at its own pace.
    #[serde(deserialize_with = "secret_list")]
    pub secrets: Vec<Secret>,
    /// The event types sent; every type when left out.
    pub events: Option<Vec<String>>,
    /// Per delivery attempt.
    #[serde(deserialize_with = "units::duration")]
    pub timeout: Duration,
    /// Attempts before a delivery is marked failed (redeliver it by hand).
    pub max_attempts: u32,
    /// Wait before the second attempt, doubled for each one after, up to `max_backoff`.
    #[serde(deserialize_with = "units::duration")]
    pub backoff: Duration,
    #[serde(deserialize_with = "units::duration")]
    pub max_backoff: Duration,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            url: None,
            secrets: Vec::new(),
            events: None,
            timeout: Duration::from_secs(10),
            max_attempts: 10,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl WebhooksConfig {
    /// Whether events of `event` are recorded for delivery.
    pub fn wants(&self, event: EventType) -> bool {
        self.url.is_some()
            && self
                .events
                .as_ref()
                .is_none_or(|events| events.iter().any(|e| e == event.as_str()))
    }

    /// The signing keys, decoded (validated at start).
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.secrets
            .iter()
            .filter_map(|secret| decode_secret(secret.expose()).ok())
            .collect()
    }

    pub fn validate(&self) -> Result<(), String> {
        let Some(url) = &self.url else {
            return Ok(());
        };
        if !matches!(url.scheme(), "http" | "https") {
            // Not the URL itself: it may carry a token of the application's.
            return Err("webhooks.url must be http or https".into());
        }
        if !(1..=2).contains(&self.secrets.len()) {
            return Err(
                "webhooks.secrets takes one secret, or two while rotating (UPLOADGATE_WEBHOOKS_SECRETS)"
                    .into(),
            );
        }
        for secret in &self.secrets {
            decode_secret(secret.expose())?;
        }
        for event in self.events.iter().flatten() {
            if EventType::parse(event).is_none() {
                let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                return Err(format!(
                    "webhooks.events: {event:?} is not an event type ({})",
                    known.join(", ")
                ));
            }
        }
        if self.max_attempts == 0 || self.backoff.is_zero() || self.timeout.is_zero() {
            return Err(
                "webhooks.max_attempts, webhooks.backoff and webhooks.timeout must be positive"
                    .into(),
            );
        }
        Ok(())
    }
}

/// A list of secrets, or one written without brackets; an error never
/// quotes what was written (it may be a secret).
fn secret_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Secret>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(deserializer) {
        Ok(OneOrMany::One(secret)) => Ok(vec![Secret::new(secret)]),
        Ok(OneOrMany::Many(secrets)) => Ok(secrets.into_iter().map(Secret::new).collect()),
        Err(_) => Err(serde::de::Error::custom(
            "webhooks.secrets must be a list of \"whsec_...\" strings",
        )),
    }
}

/// The key of a `whsec_` secret. Never echoes the secret.
fn decode_secret(secret: &str) -> Result<Vec<u8>, String> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .ok_or("webhooks.secrets: each secret is \"whsec_\" and base64 (make one with `uploadgate webhooks secret`)")?;
    if !(24..=64).contains(&key.len()) {
        return Err("webhooks.secrets: a secret's key must be 24 to 64 bytes".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secrets: &[&str]) -> WebhooksConfig {
        WebhooksConfig {
            url: Some("https://app.example/hooks".parse().expect("url")),
            secrets: secrets.iter().map(|s| Secret::new(*s)).collect(),
            ..WebhooksConfig::default()
        }
    }

    #[test]
    fn secrets_are_whsec_base64_of_24_to_64_bytes_and_never_echoed() {
        let good = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        );
        assert!(config(&[&good]).validate().is_ok());
        assert!(config(&[&good, &good]).validate().is_ok());
        assert!(config(&[]).validate().is_err());
        assert!(config(&[&good, &good, &good]).validate().is_err());
        let short = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 8])
        );
        for bad in ["plain-secret-0123456789abcdef", "whsec_!!!", short.as_str()] {
            let err = config(&[bad]).validate().expect_err(bad);
            assert!(!err.contains(bad), "{err}");
        }
        let mut typo = config(&[&good]);
        typo.events = Some(vec!["upload.complete".into()]);
        assert!(typo.validate().is_err());
    }

    #[test]
    fn a_secret_written_as_a_string_or_of_the_wrong_type_is_never_quoted() {
        let one: WebhooksConfig =
            toml::from_str("url = \"https://a.example/h\"\nsecrets = \"whsec_c2VjcmV0\"")
                .expect("one secret without brackets");
        assert_eq!(one.secrets.len(), 1);
        // As `Config::load` reads it: the file's table, then the types.
        let table: toml::Table = toml::from_str("secrets = [\"whsec_abc\", 7]").expect("toml");
        let err = toml::Value::Table(table)
            .try_into::<WebhooksConfig>()
            .expect_err("not strings")
            .to_string();
        assert!(!err.contains("whsec_abc"), "{err}");
    }

    #[test]
    fn only_subscribed_events_are_wanted() {
        let mut config = WebhooksConfig::default();
        assert!(!config.wants(EventType::UploadCompleted), "no url");
        config.url = Some("https://app.example/hooks".parse().expect("url"));
        assert!(config.wants(EventType::ProcessingFailed));
        config.events = Some(vec!["upload.deleted".into()]);
        assert!(config.wants(EventType::UploadDeleted));
        assert!(!config.wants(EventType::UploadCompleted));
    }
}
