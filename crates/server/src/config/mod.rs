//! Configuration: a TOML file (every key optional) overlaid by `UPLOADGATE_*` variables.

pub mod auth;
mod azure;
mod connections;
pub mod env;
mod gcs;
mod limits;
mod processing;
mod profile;
pub mod units;
mod webhooks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

pub use crate::keys::USER_PLACEHOLDER;
pub use auth::AuthConfig;
pub use azure::AzureConfig;
pub use connections::ConnectionsConfig;
pub use gcs::GcsConfig;
pub use limits::LimitsConfig;
pub use processing::{EventsConfig, Processor, ScanConfig, ThumbnailsConfig, WorkersConfig};
pub use profile::{MAX_OBJECT_SIZE, Profile, is_token};
pub use webhooks::{SECRET_PREFIX as WEBHOOK_SECRET_PREFIX, WebhooksConfig};

use crate::secret::Secret;

/// Name of the profile used when a request names none.
pub const DEFAULT_PROFILE: &str = "default";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the API listens.
    pub listen: SocketAddr,
    /// Holds the SQLite database, the embedded store's files and generated secrets.
    pub data_dir: PathBuf,
    /// `sqlite://...`; default: `uploadgate.db` in the data dir.
    pub database_url: Option<Secret>,
    /// HS256 key for bearer tokens; generated into the data dir when absent.
    pub jwt_secret: Option<Secret>,
    /// Claims those tokens must carry.
    pub auth: AuthConfig,
    /// How clients reach the API (used in printed links); default: `http://{listen}`.
    pub public_url: Option<Url>,
    /// Browser origins allowed to call the API and the embedded store.
    /// Default: the API's own origin, plus `localhost` for a loopback listener.
    pub cors_origins: Vec<String>,
    pub connections: ConnectionsConfig,
    pub store: StoreConfig,
    pub s3: S3Config,
    pub azure: AzureConfig,
    pub gcs: GcsConfig,
    pub janitor: JanitorConfig,
    pub limits: LimitsConfig,
    pub workers: WorkersConfig,
    pub scan: ScanConfig,
    pub thumbnails: ThumbnailsConfig,
    /// Events to the application (Standard Webhooks).
    pub webhooks: WebhooksConfig,
    /// The `[webhook]` of earlier versions, read only to say what replaced it.
    pub webhook: Option<toml::Value>,
    pub events: EventsConfig,
    pub profiles: BTreeMap<String, Profile>,
}

/// The background sweep that expires abandoned uploads and frees their storage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JanitorConfig {
    /// Time between sweeps of each node (several nodes may sweep at once safely).
    #[serde(deserialize_with = "units::duration")]
    pub interval: Duration,
    /// How long past its deadline an upload is left alone before it is expired.
    #[serde(deserialize_with = "units::duration")]
    pub grace: Duration,
    /// How long a multipart upload may take from creation to completion.
    #[serde(deserialize_with = "units::duration")]
    pub multipart_ttl: Duration,
}

impl Default for JanitorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
            grace: Duration::from_secs(3600),
            multipart_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The embedded S3 store, used when none of `s3.endpoint`, `azure.account`
/// and `gcs.bucket` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub listen: SocketAddr,
    /// How clients reach the store, when not at `http://{listen}` (proxy, container).
    pub public_url: Option<Url>,
}

/// An external S3-compatible store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:3900`; none: embedded store.
    pub endpoint: Option<Url>,
    pub bucket: String,
    pub region: String,
    /// With neither key set, the standard AWS credential chain applies (env, profile, IAM role).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`.
    pub force_path_style: bool,
    /// Prefix of every key uploadgate writes, lists or expires (`""` or ending
    /// in `/`), so a bucket can be shared with other deployments or data.
    pub key_prefix: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            jwt_secret: None,
            auth: AuthConfig::default(),
            public_url: None,
            cors_origins: Vec::new(),
            connections: ConnectionsConfig::default(),
            store: StoreConfig::default(),
            s3: S3Config::default(),
            azure: AzureConfig::default(),
            gcs: GcsConfig::default(),
            janitor: JanitorConfig::default(),
            limits: LimitsConfig::default(),
            workers: WorkersConfig::default(),
            scan: ScanConfig::default(),
            thumbnails: ThumbnailsConfig::default(),
            webhooks: WebhooksConfig::default(),
            webhook: None,
            events: EventsConfig::default(),
            profiles: BTreeMap::new(),
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9000)),
            public_url: None,
        }
    }
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: "uploads".into(),
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            force_path_style: false,
            key_prefix: String::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads `file` (if any), applies the environment from `lookup`, and validates.
    pub fn load(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<toml::Table>(&text)
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        env::apply(&mut table, lookup).map_err(ConfigError::Invalid)?;
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.finish()?;
        Ok(config)
    }

    /// Fills in the built-in default profile and checks cross-key rules.
    pub fn finish(&mut self) -> Result<(), ConfigError> {
        self.profiles.entry(DEFAULT_PROFILE.into()).or_default();
        for (name, profile) in &self.profiles {
            if !is_token(name) {
                return Err(ConfigError::Invalid(format!(
                    "profile name {name:?} must be letters, digits, '-', '_' or '.'"
                )));
            }
            profile.validate(name).map_err(ConfigError::Invalid)?;
            self.check_processors(name, profile)
                .map_err(ConfigError::Invalid)?;
        }
        self.limits.validate().map_err(ConfigError::Invalid)?;
        self.connections.validate().map_err(ConfigError::Invalid)?;
        self.auth.validate().map_err(ConfigError::Invalid)?;
        self.workers.validate().map_err(ConfigError::Invalid)?;
        self.scan.validate().map_err(ConfigError::Invalid)?;
        self.thumbnails.validate().map_err(ConfigError::Invalid)?;
        if self.webhook.is_some() {
            return Err(ConfigError::Invalid(
                "[webhook] was replaced by [webhooks]: url, secrets (whsec_...) and events, on the Standard Webhooks specification (docs/webhooks.md)".into(),
            ));
        }
        self.webhooks.validate().map_err(ConfigError::Invalid)?;
        if self.s3.bucket.is_empty() {
            return Err(ConfigError::Invalid("s3.bucket must not be empty".into()));
        }
        check_key_prefix("s3.key_prefix", &self.s3.key_prefix).map_err(ConfigError::Invalid)?;
        self.azure.validate().map_err(ConfigError::Invalid)?;
        self.gcs.validate().map_err(ConfigError::Invalid)?;
        let named: Vec<&str> = [
            (self.s3.endpoint.is_some(), "s3.endpoint"),
            (self.azure.account.is_some(), "azure.account"),
            (self.gcs.bucket.is_some(), "gcs.bucket"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
        if named.len() > 1 {
            return Err(ConfigError::Invalid(format!(
                "{} are all set: uploadgate uses one store",
                named.join(" and ")
            )));
        }
        if self.s3.access_key_id.is_some() != self.s3.secret_access_key.is_some() {
            return Err(ConfigError::Invalid(
                "s3.access_key_id and s3.secret_access_key go together: set both or neither".into(),
            ));
        }
        Ok(())
    }

    /// A profile's processors exist, run once each, and have what they need.
    fn check_processors(&self, name: &str, profile: &Profile) -> Result<(), String> {
        for (i, processor) in profile.processors.iter().enumerate() {
            if profile.processors[..i].contains(processor) {
                return Err(format!(
                    "profiles.{name}.processors lists {:?} twice",
                    processor.as_str()
                ));
            }
        }
        let uses = |p: Processor| profile.processors.contains(&p);
        if uses(Processor::Scan) && self.scan.clamd.is_none() {
            return Err(format!(
                "profiles.{name} runs \"scan\": set scan.clamd (UPLOADGATE_SCAN_CLAMD)"
            ));
        }
        Ok(())
    }

    /// The processors uploads of `profile` go through (none for a profile
    /// removed from the config since).
    pub fn processors(&self, profile: &str) -> &[Processor] {
        self.profiles
            .get(profile)
            .map_or(&[], |p| p.processors.as_slice())
    }

    /// The encryption uploads of `profile` ask for (recorded uploads keep
    /// their profile's name; a profile removed since has none).
    pub fn encryption(&self, profile: &str) -> Option<crate::storage::Sse> {
        self.profiles.get(profile).and_then(Profile::encryption)
    }

    /// The database to use: `database_url`, or SQLite's `uploadgate.db` in
    /// the data dir.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.default_database().display()),
        }
    }

    /// Where the database lives when `database_url` is not set.
    pub fn default_database(&self) -> PathBuf {
        self.data_dir.join("uploadgate.db")
    }

    /// Each encryption some profile asks for, with the profiles that ask for it.
    pub fn encryptions(&self) -> Vec<(crate::storage::Sse, Vec<&str>)> {
        let mut asked: Vec<(crate::storage::Sse, Vec<&str>)> = Vec::new();
        for (name, profile) in &self.profiles {
            let Some(sse) = profile.encryption() else {
                continue;
            };
            match asked.iter_mut().find(|(known, _)| *known == sse) {
                Some((_, names)) => names.push(name),
                None => asked.push((sse, vec![name])),
            }
        }
        asked
    }

    /// Whether uploads go to the embedded store (no external one is named).
    pub fn uses_embedded_store(&self) -> bool {
        self.s3.endpoint.is_none() && self.azure.account.is_none() && self.gcs.bucket.is_none()
    }

    /// The bucket (or Azure container) uploads land in, and the prefix of
    /// every key uploadgate uses there.
    pub fn store_location(&self) -> (&str, &str) {
        if self.azure.account.is_some() {
            (&self.azure.container, &self.azure.key_prefix)
        } else if let Some(bucket) = &self.gcs.bucket {
            (bucket, &self.gcs.key_prefix)
        } else {
            (&self.s3.bucket, &self.s3.key_prefix)
        }
    }

    /// Base URL clients use to reach the API.
    pub fn api_public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }

    /// Origins allowed by CORS, given the address the API actually bound.
    pub fn allowed_origins(&self, bound: SocketAddr) -> Vec<String> {
        if !self.cors_origins.is_empty() {
            return self.cors_origins.clone();
        }
        let mut origins = vec![self.api_public_url(bound)];
        if bound.ip().is_loopback() {
            origins.push(format!("http://localhost:{}", bound.port()));
            origins.push(format!("http://127.0.0.1:{}", bound.port()));
        }
        // The public URL may be one of the loopback spellings pushed after it.
        let mut seen = std::collections::BTreeSet::new();
        origins.retain(|origin| seen.insert(origin.clone()));
        origins
    }
}

/// A key prefix is empty or like `name/`: keys are joined to it as they are.
fn check_key_prefix(name: &str, prefix: &str) -> Result<(), String> {
    if !prefix.is_empty() && (!prefix.ends_with('/') || prefix.starts_with('/')) {
        return Err(format!(
            "{name} {prefix:?} must be empty or like \"name/\" (ending in '/', not starting with it)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_and_no_env_gives_working_defaults() {
        let config = Config::load(None, |_| None).expect("defaults are valid");
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(config.store.listen.port(), 9000);
        assert_eq!(config.s3.bucket, "uploads");
        assert!(config.profiles.contains_key(DEFAULT_PROFILE));
    }

    #[test]
    fn env_overrides_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:1\"\n[profiles.avatars]\ncontent_types = [\"image/*\"]\nmax_size = \"2MiB\"\n",
        )
        .expect("write");
        let config = Config::load(Some(&path), |name| {
            (name == "UPLOADGATE_LISTEN").then(|| "127.0.0.1:2".into())
        })
        .expect("valid");
        assert_eq!(config.listen.port(), 2);
        let avatars = &config.profiles["avatars"];
        assert_eq!(avatars.max_size, 2 * 1024 * 1024);
        assert_eq!(avatars.url_ttl, Profile::default().url_ttl);
    }

    #[test]
    fn encryption_settings_are_checked() {
        let load = |profile: &str| {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("c.toml");
            std::fs::write(&path, format!("[profiles.p]\n{profile}\n")).expect("write");
            Config::load(Some(&path), |_| None).map(|c| c.encryption("p"))
        };
        assert_eq!(
            load("sse = \"AES256\"").expect("valid"),
            Some(crate::storage::Sse::Aes256)
        );
        assert_eq!(
            load("sse = \"aws:kms\"\nsse_kms_key_id = \"k\"").expect("valid"),
            Some(crate::storage::Sse::Kms {
                key_id: Some("k".into())
            })
        );
        let err = load("sse = \"DES\"").expect_err("unknown algorithm");
        assert!(err.to_string().contains("profiles.p"), "{err}");
        load("sse = \"AES256\"\nsse_kms_key_id = \"k\"").expect_err("key without KMS");
        load("sse_kms_key_id = \"k\"").expect_err("key without sse");
    }

    #[test]
    fn the_retired_webhook_processor_is_refused_with_a_hint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[profiles.p]\nprocessors = [\"sniff\", \"webhook\"]\n",
        )
        .expect("write");
        let err = Config::load(Some(&path), |_| None).expect_err("retired");
        let err = err.to_string();
        assert!(
            err.contains("profiles") && err.contains("[webhooks]"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:1\"\n").expect("write");
        let err = Config::load(Some(&path), |_| None).expect_err("typo");
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn the_sample_config_is_valid_and_documents_every_variable() {
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../uploadgate.sample.toml");
        let text = std::fs::read_to_string(sample).expect("sample config exists");
        for name in env::names() {
            assert!(
                text.contains(name),
                "{name} is not documented in the sample"
            );
        }
        Config::load(Some(Path::new(sample)), |_| None).expect("sample config loads");
    }
}
