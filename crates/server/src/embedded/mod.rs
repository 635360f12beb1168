//! The zero-configuration store: an S3 endpoint served in-process from the data dir.
//!
//! The S3 protocol and SigV4 verification (headers, presigned URLs, POST policies,
//! checksums) are `s3s`'s; files live under `data_dir/store/<bucket>/` through
//! `s3s-fs`, which `s3.rs` makes answer as S3 does for finished multipart uploads
//! and deleted objects. A CORS layer in front answers browsers' preflights, which `s3s-fs`
//! does not.

mod s3;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use http::{HeaderName, Method};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::cors::{AllowHeaders, CorsLayer};
use url::Url;

use crate::config::ConnectionsConfig;
use crate::data_dir;
use crate::secret::Secret;

/// The running store; dropping it stops accepting connections.
#[derive(Debug)]
pub struct EmbeddedStore {
    /// Where uploadgate reaches it.
    pub endpoint: Url,
    /// Where clients reach it.
    pub public_url: Url,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    stop: watch::Sender<bool>,
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedStoreError {
    #[error("cannot prepare the store's files under {path}: {source}")]
    Files {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr} for the embedded store: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid store URL: {0}")]
    Url(String),
}

pub struct StoreOptions<'a> {
    pub data_dir: &'a Path,
    pub listen: SocketAddr,
    pub public_url: Option<&'a Url>,
    pub bucket: &'a str,
    pub cors_origins: &'a [String],
    pub deadlines: ConnectionsConfig,
}

impl std::fmt::Debug for StoreOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("listen", &self.listen)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

pub async fn start(options: StoreOptions<'_>) -> Result<EmbeddedStore, EmbeddedStoreError> {
    let files = |path: &Path| {
        let path = path.display().to_string();
        move |source| EmbeddedStoreError::Files { path, source }
    };
    let access_key_id = data_dir::load_or_create(
        &options.data_dir.join("secrets/store-access-key-id"),
        || {
            format!(
                "UG{}",
                data_dir::random_token(12)
                    .to_uppercase()
                    .replace(['-', '_'], "X")
            )
        },
    )
    .map_err(files(options.data_dir))?;
    let secret_access_key = Secret::new(
        data_dir::load_or_create(
            &options.data_dir.join("secrets/store-secret-access-key"),
            || data_dir::random_token(30),
        )
        .map_err(files(options.data_dir))?,
    );

    let root = options.data_dir.join("store");
    let bucket_dir = root.join(options.bucket);
    std::fs::create_dir_all(&bucket_dir).map_err(files(&bucket_dir))?;
    let fs = s3s_fs::FileSystem::new(&root).map_err(|e| EmbeddedStoreError::Files {
        path: root.display().to_string(),
        source: std::io::Error::other(format!("{e:?}")),
    })?;

    let mut builder = S3ServiceBuilder::new(s3::Store::new(fs, root.clone()));
    builder.set_auth(SimpleAuth::from_single(
        access_key_id.clone(),
        secret_access_key.expose().to_owned(),
    ));
    let s3 = builder.build();
    let service = ServiceBuilder::new()
        .layer(cors(options.cors_origins))
        .service(s3);

    let listener =
        TcpListener::bind(options.listen)
            .await
            .map_err(|source| EmbeddedStoreError::Bind {
                addr: options.listen,
                source,
            })?;
    let bound = listener
        .local_addr()
        .map_err(|source| EmbeddedStoreError::Bind {
            addr: options.listen,
            source,
        })?;
    let endpoint = Url::parse(&format!("http://{bound}"))
        .map_err(|e| EmbeddedStoreError::Url(e.to_string()))?;
    let public_url = options
        .public_url
        .cloned()
        .unwrap_or_else(|| endpoint.clone());

    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(crate::connections::serve(
        "embedded store",
        listener,
        options.deadlines,
        move |_| service.clone(),
        async move {
            let _ = stopped.changed().await;
        },
    ));

    tracing::info!(%endpoint, %public_url, "embedded S3 store listening");
    Ok(EmbeddedStore {
        endpoint,
        public_url,
        access_key_id,
        secret_access_key,
        stop,
    })
}

/// Browsers PUT and POST straight to the store, so it must answer their preflights
/// and let them read the ETag (needed to complete multipart uploads).
fn cors(origins: &[String]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(crate::cors::allow_origins(origins))
        .allow_methods([Method::GET, Method::HEAD, Method::PUT, Method::POST])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([HeaderName::from_static("etag")])
        .max_age(Duration::from_secs(3600))
}
