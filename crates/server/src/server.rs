//! Wiring: from a `Config` to a bound, migrated, ready-to-serve API.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::ConnectInfo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::auth::{ApiKeys, Gate, Hs256, Issuers};
use crate::check;
use crate::config::Config;
use crate::data_dir;
use crate::db::{Database, PgRepo, SqliteRepo};
use crate::embedded::EmbeddedStore;
use crate::http::{AppState, app};
use crate::processing;
use crate::secret::Secret;
use crate::storage::{Connected, Embedded, connect_store};
use crate::uploads::Uploads;
use crate::{erasures, janitor, store_fit, webhooks};

/// A server that has bound its ports and reached its dependencies, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
    /// Keeps the embedded store running as long as the server.
    store: Option<EmbeddedStore>,
    tokens: Arc<Hs256>,
    api_url: String,
}

impl Server {
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        data_dir::create_private(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let bound = listener.local_addr()?;
        let cors_origins: Arc<[String]> = config.allowed_origins(bound).into();

        let db = connect_db(&database_url(&config)?)
            .await
            .context("cannot open the database")?;

        let Connected {
            store: object_store,
            embedded: embedded_store,
        } = connect_store(
            &config,
            Embedded::Start {
                listen: config.store.listen,
                public_url: config.store.public_url.as_ref(),
                cors_origins: &cors_origins,
            },
        )
        .await?;
        store_fit::check(&config, object_store.as_ref()).await?;

        let tokens = Arc::new(Hs256::new(&jwt_secret(&config)?, &config.auth));
        let api_url = config.api_public_url(bound);
        let issuers = Arc::new(Issuers::new(&config.auth.issuers));
        let gate = Gate {
            tokens: tokens.clone(),
            issuers: issuers.clone(),
            api_keys: ApiKeys::new(db.clone()),
        };
        let uploads = Uploads::new(config, db, object_store);
        let mut state = AppState::new(uploads, Arc::new(gate), tokens.clone());
        state.issuers = issuers;
        state.cors_origins = cors_origins;
        // The embedded store brings its own CORS layer; an external bucket needs rules.
        state.check_bucket_cors = embedded_store.is_none();
        Ok(Self {
            listener,
            state,
            store: embedded_store,
            tokens,
            api_url,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Base URL of the API as clients should use it.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The embedded store, when that is what the server uses.
    pub fn embedded_store(&self) -> Option<&EmbeddedStore> {
        self.store.as_ref()
    }

    /// Mints tokens with the server's own secret (demo token, `uploadgate token`).
    pub fn tokens(&self) -> Arc<Hs256> {
        self.tokens.clone()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The checks of `uploadgate check`, run against the parts this server
    /// uses (`serve` runs them once it listens, and logs what fails).
    pub fn checks(&self) -> impl Future<Output = check::Report> + Send + 'static {
        let uploads = self.state.uploads.clone();
        let origins = self.state.cors_origins.clone();
        async move { check::run(&uploads.config, uploads.store.as_ref(), &origins).await }
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            state,
            store,
            ..
        } = self;
        let (stop_background, background_stopped) = watch::channel(false);
        state.issuers.spawn_refreshers(&background_stopped);
        let janitor = janitor::spawn(state.uploads.clone(), background_stopped.clone());
        let erasures = erasures::spawn(state.uploads.clone(), background_stopped.clone());
        let senders = webhooks::spawn(state.uploads.clone(), background_stopped.clone());
        let workers = processing::spawn(state.uploads.clone(), background_stopped);
        let deadlines = state.uploads.config.connections;
        let app = app(state);
        crate::connections::serve(
            "api",
            listener,
            deadlines,
            // The peer address feeds the per-IP rate limit.
            move |peer| {
                app.clone()
                    .map_request(move |mut request: axum::extract::Request| {
                        request.extensions_mut().insert(ConnectInfo(peer));
                        request
                    })
            },
            shutdown,
        )
        .await;
        // A sweep in progress finishes its current upload's transition first;
        // anything it did not reach is swept next time, by any node.
        let _ = stop_background.send(true);
        if let Err(err) = janitor.await {
            tracing::warn!(%err, "janitor task ended abnormally");
        }
        if let Err(err) = erasures.await {
            tracing::warn!(%err, "erasure task ended abnormally");
        }
        if let Err(err) = senders.await {
            tracing::warn!(%err, "webhook senders ended abnormally");
        }
        stop_workers(workers).await;
        drop(store);
        Ok(())
    }
}

/// How long shutdown waits for jobs under way. One that takes longer is cut
/// off; its lease runs out and a worker (of any node) runs it again.
const JOBS_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

async fn stop_workers(workers: tokio::task::JoinHandle<()>) {
    let abort = workers.abort_handle();
    match tokio::time::timeout(JOBS_GRACE, workers).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(%err, "job workers ended abnormally"),
        Err(_) => {
            tracing::warn!("jobs still running at shutdown were cut off; they will run again");
            abort.abort();
        }
    }
}

/// Job workers only, against the configured external store and database
/// (`uploadgate worker`), until `shutdown` resolves.
pub async fn run_workers(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = connect_store(
        &config,
        Embedded::Refuse("with the embedded store, `serve` runs the workers"),
    )
    .await?
    .store;
    store_fit::check(&config, store.as_ref()).await?;
    anyhow::ensure!(
        config.workers.concurrency > 0,
        "workers.concurrency is 0: this worker would do nothing"
    );
    let db = connect_db(&database_url(&config)?).await?;
    let uploads = Uploads::new(config, db, store);
    let (stop, stopped) = watch::channel(false);
    let workers = processing::spawn(uploads, stopped);
    shutdown.await;
    let _ = stop.send(true);
    stop_workers(workers).await;
    Ok(())
}

/// `uploadgate check`: every part `config` names, checked from outside any
/// server. With the embedded store, one is started on a free loopback port
/// over the same data dir for the length of the check, so that a running
/// `serve` keeps its own.
pub async fn check(config: &Config) -> anyhow::Result<check::Report> {
    let origins = config.allowed_origins(config.listen);
    if config.uses_embedded_store() {
        data_dir::create_private(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    }
    let connected = connect_store(
        config,
        Embedded::Start {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            cors_origins: &origins,
        },
    )
    .await?;
    let report = check::run(config, connected.store.as_ref(), &origins).await;
    drop(connected);
    Ok(report)
}

/// One janitor sweep against the configured external store and database
/// (`uploadgate janitor --once`, e.g. from cron). With the embedded store the
/// sweep runs inside `serve`, which owns the store.
pub async fn sweep_once(config: Config) -> anyhow::Result<janitor::Sweep> {
    let store = connect_store(
        &config,
        Embedded::Refuse("with the embedded store, `serve` runs the janitor"),
    )
    .await?
    .store;
    let db = connect_db(&database_url(&config)?).await?;
    let uploads = Uploads::new(config, db, store);
    Ok(janitor::sweep(&uploads).await?)
}

/// What `uploadgate bucket setup` did.
#[derive(Debug)]
pub struct BucketSetup {
    /// `bucket "uploads"`, `container "uploads" of account "acme"`.
    pub location: String,
    /// The origins CORS now allows.
    pub origins: Vec<String>,
    /// Whether lifecycle rules were set too (not on Azure, whose rules live
    /// in its management API).
    pub lifecycle: bool,
}

/// Applies CORS and, where the store's API has them, lifecycle rules to the
/// configured external bucket (`uploadgate bucket setup`).
pub async fn setup_bucket(config: &Config, days: u32) -> anyhow::Result<BucketSetup> {
    let store = connect_store(
        config,
        Embedded::Refuse("the embedded store needs no setup"),
    )
    .await?
    .store;
    let origins = config.allowed_origins(config.listen);
    store
        .configure_bucket(&origins, days)
        .await
        .context("cannot configure the bucket")?;
    Ok(BucketSetup {
        location: store.location(),
        origins,
        lifecycle: store.capabilities().lifecycle_rules,
    })
}

/// The configured database's URL, with the default SQLite file created
/// owner-only first: SQLite gives its WAL and shared-memory files the database
/// file's mode, so all three are.
fn database_url(config: &Config) -> anyhow::Result<String> {
    if config.database_url.is_none() {
        let path = config.default_database();
        // `janitor --once` or `keys` may be the first to use the data dir.
        data_dir::create_private(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
        data_dir::create_private_file(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    Ok(config.database_url())
}

/// The configured database, migrated (`uploadgate keys`, and `serve`).
pub async fn open_database(config: &Config) -> anyhow::Result<Arc<dyn Database>> {
    connect_db(&database_url(config)?).await
}

/// SQLite for `sqlite:` URLs, PostgreSQL for `postgres://` and `postgresql://`.
async fn connect_db(url: &str) -> anyhow::Result<Arc<dyn Database>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteRepo::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgRepo::connect(url).await?))
    } else {
        anyhow::bail!("unsupported database URL: use sqlite:// or postgres://")
    }
}

/// The configured secret, or one generated once into the data dir.
pub fn jwt_secret(config: &Config) -> anyhow::Result<Secret> {
    if let Some(secret) = &config.jwt_secret {
        anyhow::ensure!(
            secret.expose().len() >= 32,
            "jwt_secret must be at least 32 bytes long"
        );
        return Ok(secret.clone());
    }
    let path = config.data_dir.join("secrets/jwt-secret");
    let secret = data_dir::load_or_create(&path, || data_dir::random_token(32))
        .with_context(|| format!("cannot read or create {}", path.display()))?;
    Ok(Secret::new(secret))
}
