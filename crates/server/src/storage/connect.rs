//! The one place a configuration becomes a store: the Azure container
//! `[azure]` names, the GCS bucket `[gcs]` names, the external bucket `[s3]`
//! names or, without any, the embedded store, started here. Every
//! command (`serve`, `worker`, `janitor --once`, `check`, `bucket setup`)
//! gets its store from `connect_store`, as the trait the rest of the server
//! uses.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;

use super::{
    AzureSettings, AzureStore, GcsSettings, GcsStore, ObjectStore, S3Store, S3StoreSettings,
};
use crate::config::Config;
use crate::embedded::{self, EmbeddedStore, StoreOptions};

/// What a command does when the configuration names no external store.
#[derive(Debug, Clone, Copy)]
pub enum Embedded<'a> {
    /// Starts the embedded store on `listen`, serving browsers at
    /// `public_url` (its own address when `None`) from `cors_origins`.
    Start {
        listen: SocketAddr,
        public_url: Option<&'a url::Url>,
        cors_origins: &'a [String],
    },
    /// Refuses, saying why: the command needs a store another process can share.
    Refuse(&'static str),
}

/// A store, and the embedded one behind it when that is what it is (kept
/// for as long as the store is used: dropping it stops it).
#[derive(Debug)]
pub struct Connected {
    pub store: Arc<dyn ObjectStore>,
    pub embedded: Option<EmbeddedStore>,
}

/// The store `config` names; see `Embedded` for when it names none.
pub async fn connect_store(config: &Config, embedded: Embedded<'_>) -> anyhow::Result<Connected> {
    if let Some(settings) = azure_settings(config) {
        let store = AzureStore::connect(settings).context("cannot set up the Azure client")?;
        return Ok(Connected {
            store: Arc::new(store),
            embedded: None,
        });
    }
    if let Some(settings) = gcs_settings(config) {
        let store = GcsStore::connect(settings).context("cannot set up the GCS client")?;
        return Ok(Connected {
            store: Arc::new(store),
            embedded: None,
        });
    }
    let (settings, running) = match external_settings(config) {
        Some(settings) => (settings, None),
        None => match embedded {
            Embedded::Refuse(why) => {
                anyhow::bail!(
                    "no external store is configured (s3.endpoint, azure.account or gcs.bucket): {why}"
                )
            }
            Embedded::Start {
                listen,
                public_url,
                cors_origins,
            } => {
                let (settings, store) =
                    start_embedded(config, listen, public_url, cors_origins).await?;
                (settings, Some(store))
            }
        },
    };
    let store = S3Store::connect(settings)
        .await
        .context("cannot set up the storage client")?;
    Ok(Connected {
        store: Arc::new(store),
        embedded: running,
    })
}

/// The embedded store on `listen`, and the settings to reach it.
async fn start_embedded(
    config: &Config,
    listen: SocketAddr,
    public_url: Option<&url::Url>,
    cors_origins: &[String],
) -> anyhow::Result<(S3StoreSettings, EmbeddedStore)> {
    let store = embedded::start(StoreOptions {
        data_dir: &config.data_dir,
        listen,
        public_url,
        bucket: &config.s3.bucket,
        cors_origins,
        deadlines: config.connections,
    })
    .await?;
    let settings = S3StoreSettings {
        endpoint: Some(store.endpoint.clone()),
        public_endpoint: Some(store.public_url.clone()),
        bucket: config.s3.bucket.clone(),
        region: config.s3.region.clone(),
        force_path_style: true,
        credentials: Some((store.access_key_id.clone(), store.secret_access_key.clone())),
        key_prefix: config.s3.key_prefix.clone(),
    };
    Ok((settings, store))
}

/// Settings for the configured external store; `None` means the embedded one.
fn external_settings(config: &Config) -> Option<S3StoreSettings> {
    let endpoint = config.s3.endpoint.as_ref()?;
    Some(S3StoreSettings {
        endpoint: Some(endpoint.clone()),
        public_endpoint: None,
        bucket: config.s3.bucket.clone(),
        region: config.s3.region.clone(),
        force_path_style: config.s3.force_path_style,
        credentials: config
            .s3
            .access_key_id
            .clone()
            .zip(config.s3.secret_access_key.clone()),
        key_prefix: config.s3.key_prefix.clone(),
    })
}

/// Settings for the configured Azure container, if one is.
fn azure_settings(config: &Config) -> Option<AzureSettings> {
    let azure = &config.azure;
    Some(AzureSettings {
        account: azure.account.clone()?,
        // `Config::finish` refuses an account without a key.
        key: azure.key.clone()?,
        container: azure.container.clone(),
        endpoint: azure.endpoint.clone(),
        key_prefix: azure.key_prefix.clone(),
    })
}

/// Settings for the configured GCS bucket, if one is.
fn gcs_settings(config: &Config) -> Option<GcsSettings> {
    let gcs = &config.gcs;
    Some(GcsSettings {
        bucket: gcs.bucket.clone()?,
        // `Config::finish` refuses a bucket without a key file.
        credentials: gcs.credentials.clone()?,
        endpoint: gcs.endpoint.clone(),
        key_prefix: gcs.key_prefix.clone(),
    })
}
