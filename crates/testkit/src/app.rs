//! `TestApp`: a real uploadgate server with its real embedded S3 store, both
//! on port 0 in a temp dir (or on the PostgreSQL and S3 store the environment
//! names), configured by typed closures. No mocks.

use std::sync::Arc;

use tokio::sync::oneshot;
use uploadgate_server::AppState;
use uploadgate_server::config::{Config, Profile};
use uploadgate_server::secret::Secret;
use uploadgate_server::server::Server;
use uploadgate_server::storage::ObjectStore;

use crate::{Api, ORIGIN, engines};

type Edit = Box<dyn FnOnce(&mut Config) + Send>;

/// What a test asks of its server, applied in order on top of the test
/// defaults (ports 0, a temp data dir, the browser origin `ORIGIN`).
#[must_use]
pub struct TestAppBuilder {
    edits: Vec<Edit>,
}

impl std::fmt::Debug for TestAppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestAppBuilder")
            .field("edits", &self.edits.len())
            .finish()
    }
}

impl TestAppBuilder {
    /// Changes the configuration.
    pub fn configure(mut self, edit: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// Adds profile `name`: the built-in defaults, changed by `edit`.
    pub fn profile(self, name: &str, edit: impl FnOnce(&mut Profile) + Send + 'static) -> Self {
        let name = name.to_owned();
        self.configure(move |config| {
            let mut profile = Profile::default();
            edit(&mut profile);
            config.profiles.insert(name, profile);
        })
    }

    pub async fn start(self) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            listen: ([127, 0, 0, 1], 0).into(),
            data_dir: dir.path().join("data"),
            cors_origins: vec![ORIGIN.to_owned()],
            ..Config::default()
        };
        config.store.listen = ([127, 0, 0, 1], 0).into();
        config.database_url = engines::test_database().await.map(Secret::new);
        engines::use_external_store(&mut config);
        for edit in self.edits {
            edit(&mut config);
        }
        config.finish().expect("valid config");
        let running = Running::start(config.clone()).await;
        if engines::external_store() {
            // What `uploadgate bucket setup` does; every test sets the same rules.
            running
                .store()
                .configure_bucket(&[ORIGIN.to_owned()], 1)
                .await
                .expect("bucket CORS and lifecycle");
        }
        TestApp {
            api: running.api(),
            running: Some(running),
            config,
            dir,
        }
    }
}

/// One server process's worth of state.
#[derive(Debug)]
struct Running {
    base: String,
    /// The embedded store's endpoint, which further nodes use as their external one.
    store_endpoint: Option<String>,
    tokens: Arc<uploadgate_server::auth::Hs256>,
    state: AppState,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start(config: Config) -> Running {
        let server = Server::start(config).await.expect("server starts");
        let (stop, stopped) = oneshot::channel::<()>();
        Running {
            store_endpoint: server
                .embedded_store()
                .map(|store| store.endpoint.to_string()),
            base: server.api_url().to_owned(),
            tokens: server.tokens(),
            state: server.state().clone(),
            stop,
            task: tokio::spawn(server.run(async {
                let _ = stopped.await;
            })),
        }
    }

    fn api(&self) -> Api {
        Api::minting(self.base.clone(), self.tokens.clone())
    }

    fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.state.uploads.store
    }
}

/// A running server; its `Api` (requests as any user) is one `.` away.
#[derive(Debug)]
pub struct TestApp {
    api: Api,
    running: Option<Running>,
    config: Config,
    dir: tempfile::TempDir,
}

impl std::ops::Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

/// Another API node sharing the first one's database, store and token
/// secret, as behind a load balancer.
#[derive(Debug)]
pub struct Node {
    running: Running,
    api: Api,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base)
    }
}

impl std::ops::Deref for Node {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder { edits: Vec::new() }
    }

    pub async fn start() -> TestApp {
        Self::builder().start().await
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("server running")
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Stops the server (and its embedded store) and starts a new one on the same
    /// data dir, as after a crash or a deploy. Ports change; everything else must not.
    pub async fn restart(&mut self) {
        let previous = self.running.take().expect("running");
        let _ = previous.stop.send(());
        previous
            .task
            .await
            .expect("joined")
            .expect("clean shutdown");
        let running = Running::start(self.config.clone()).await;
        self.api = running.api();
        self.running = Some(running);
    }

    /// The configuration of another process sharing this server's database,
    /// store and secret (its embedded store reached as an external one), with
    /// a data dir of its own.
    pub fn shared_config(&self) -> Config {
        let data = &self.config.data_dir;
        let secret = |name: &str| {
            std::fs::read_to_string(data.join("secrets").join(name))
                .expect("first node's secret")
                .trim()
                .to_owned()
        };
        let mut config = self.config.clone();
        config.data_dir = self.dir.path().join("node2");
        config.jwt_secret = Some(Secret::new(secret("jwt-secret")));
        if config.database_url.is_none() {
            config.database_url = Some(Secret::new(format!(
                "sqlite://{}",
                data.join("uploadgate.db").display()
            )));
        }
        if let Some(endpoint) = &self.running().store_endpoint {
            config.s3.endpoint = Some(endpoint.parse().expect("store endpoint"));
            config.s3.access_key_id = Some(secret("store-access-key-id"));
            config.s3.secret_access_key = Some(Secret::new(secret("store-secret-access-key")));
            config.s3.force_path_style = true;
        }
        config
    }

    /// Starts another node on the same database, store and secret.
    pub async fn second_node(&self) -> Node {
        let running = Running::start(self.shared_config()).await;
        Node {
            api: running.api(),
            running,
        }
    }

    /// The server's own dependencies, for driving what has no HTTP route (the janitor).
    pub fn state(&self) -> &AppState {
        &self.running().state
    }

    /// A new API key named `name` with `scopes`, as `uploadgate keys create` makes one.
    pub async fn api_key(&self, name: &str, scopes: &[uploadgate_server::auth::Scope]) -> String {
        uploadgate_server::auth::ApiKeys::new(self.state().uploads.db.clone())
            .create(name, scopes)
            .await
            .expect("the database answers")
            .expect("a name not taken")
            .key
    }

    /// The stored record of upload `id` (any owner's), as the server sees it.
    pub async fn record(&self, id: &str) -> uploadgate_server::db::Upload {
        self.state()
            .uploads
            .db
            .get(id.parse().expect("an upload id"))
            .await
            .expect("the database answers")
            .expect("the upload is recorded")
    }

    /// `owner`'s stored record whose object key is `key` (how Uppy names uploads).
    pub async fn record_by_key(&self, owner: &str, key: &str) -> uploadgate_server::db::Upload {
        self.state()
            .uploads
            .db
            .find_by_key(owner, key)
            .await
            .expect("the database answers")
            .expect("the upload is recorded")
    }

    /// The same store the server uses, for checking what is really there.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        self.running().store()
    }

    /// The ids of the multipart uploads storage holds open under this test's
    /// keys. The embedded store cannot list them over S3, so they are read
    /// from the files it keeps one per open upload (`.upload-<id>.json`).
    pub async fn open_multipart_uploads(&self) -> Vec<String> {
        let mut ids: Vec<String> = if engines::external_store() {
            let later = time::OffsetDateTime::now_utc() + time::Duration::days(1);
            self.store()
                .list_multipart_uploads(later, 10_000)
                .await
                .expect("storage answers")
                .expect("the external test store lists multipart uploads")
                .into_iter()
                .map(|open| open.upload_id)
                .collect()
        } else {
            std::fs::read_dir(self.config.data_dir.join("store"))
                .expect("the embedded store's files")
                .filter_map(|entry| {
                    let name = entry.expect("a directory entry").file_name();
                    let name = name.to_str()?;
                    Some(
                        name.strip_prefix(".upload-")?
                            .strip_suffix(".json")?
                            .to_owned(),
                    )
                })
                .collect()
        };
        ids.sort();
        ids
    }
}
