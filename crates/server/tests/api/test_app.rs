//! `TestApp`: a real uploadgate server with its real embedded S3 store, both on
//! port 0 in a temp dir, and a real HTTP client. No mocks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uploadgate_server::AppState;
use uploadgate_server::auth::Hs256;
use uploadgate_server::config::Config;
use uploadgate_server::server::Server;
use uploadgate_server::storage::ObjectStore;

pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";
pub const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";

pub struct TestAppBuilder {
    profiles_toml: String,
    extra_toml: String,
}

impl TestAppBuilder {
    /// Adds `[profiles.NAME]` with the given TOML body.
    pub fn profile(mut self, name: &str, body: &str) -> Self {
        self.profiles_toml
            .push_str(&format!("[profiles.{name}]\n{body}\n"));
        self
    }

    /// Adds a TOML table (e.g. `[janitor]`) to the config.
    pub fn config(mut self, toml: &str) -> Self {
        self.extra_toml.push_str(toml);
        self.extra_toml.push('\n');
        self
    }

    pub async fn start(self) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("uploadgate.toml");
        let database_url = test_database().await;
        let database = match &database_url {
            Some(url) => format!("database_url = {url:?}\n"),
            None => String::new(),
        };
        let store_toml = external_store_toml();
        let toml = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\ncors_origins = [{ORIGIN:?}]\n{database}\
             [store]\nlisten = \"127.0.0.1:0\"\n{}{}",
            dir.path().join("data").display().to_string(),
            store_toml,
            self.extra_toml + &self.profiles_toml
        );
        std::fs::write(&config_path, toml).expect("write config");
        let running = Running::start(&config_path).await;
        if std::env::var_os("UPLOADGATE_TEST_S3_ENDPOINT").is_some() {
            // What `uploadgate bucket setup` does; every test sets the same rules.
            running
                .store
                .configure_bucket(&[ORIGIN.to_owned()], 1)
                .await
                .expect("bucket CORS and lifecycle");
        }
        TestApp {
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            running: Some(running),
            config_path,
            database_url,
            profiles_toml: self.profiles_toml,
            store_toml,
            _dir: dir,
        }
    }
}

/// The browser origin the tests' API and store allow.
pub const ORIGIN: &str = "http://app.test";

/// With `UPLOADGATE_TEST_S3_*` (a Garage, say), an `[s3]` section pointing there;
/// without, nothing, and the server starts its embedded store.
fn external_store_toml() -> String {
    let var = |name: &str| std::env::var(format!("UPLOADGATE_TEST_S3_{name}")).ok();
    let Some(endpoint) = var("ENDPOINT") else {
        return String::new();
    };
    format!(
        "[s3]\nendpoint = {endpoint:?}\nregion = {:?}\nbucket = {:?}\naccess_key_id = {:?}\n\
         secret_access_key = {:?}\nforce_path_style = true\n\
         key_prefix = \"t-{}/\"\n",
        var("REGION").unwrap_or_else(|| "us-east-1".into()),
        var("BUCKET").unwrap_or_else(|| "uploads".into()),
        var("ACCESS_KEY_ID").expect("UPLOADGATE_TEST_S3_ACCESS_KEY_ID"),
        var("SECRET_ACCESS_KEY").expect("UPLOADGATE_TEST_S3_SECRET_ACCESS_KEY"),
        // Tests share the bucket; a prefix each keeps one test's janitor off another's uploads.
        uuid::Uuid::new_v4().simple(),
    )
}

/// With `UPLOADGATE_TEST_DATABASE_URL` (a PostgreSQL server), a fresh database
/// for this test on that server; without it, the default SQLite in the data dir.
pub async fn test_database() -> Option<String> {
    let base = std::env::var("UPLOADGATE_TEST_DATABASE_URL").ok()?;
    let name = format!("ug_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("test PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let mut url = url::Url::parse(&base).expect("database URL");
    url.set_path(&name);
    Some(url.into())
}

/// One server process's worth of state.
struct Running {
    base: String,
    /// The first node's embedded store, which further nodes use as their external one.
    store_endpoint: Option<String>,
    tokens: Arc<Hs256>,
    store: Arc<dyn ObjectStore>,
    state: AppState,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start(config_path: &std::path::Path) -> Running {
        let config = Config::load(Some(config_path), |_| None).expect("valid config");
        let server = Server::start(config).await.expect("server starts");
        let (stop, stopped) = oneshot::channel::<()>();
        Running {
            store_endpoint: server
                .embedded_store()
                .map(|store| store.endpoint.to_string()),
            base: server.api_url().to_owned(),
            tokens: server.tokens(),
            store: server.state().uploads.store.clone(),
            state: server.state().clone(),
            stop,
            task: tokio::spawn(server.run(async {
                let _ = stopped.await;
            })),
        }
    }
}

pub struct TestApp {
    pub client: Client,
    running: Option<Running>,
    config_path: std::path::PathBuf,
    database_url: Option<String>,
    profiles_toml: String,
    /// The `[s3]` section, shared by further nodes.
    store_toml: String,
    _dir: tempfile::TempDir,
}

/// A second API node sharing the first one's database, store and token secret,
/// as behind a load balancer.
pub struct Node {
    running: Running,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base)
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            profiles_toml: String::new(),
            extra_toml: String::new(),
        }
    }

    pub async fn start() -> TestApp {
        Self::builder().start().await
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
        self.running = Some(Running::start(&self.config_path).await);
    }

    /// Starts another node on the same database, store and secret.
    pub async fn second_node(&self) -> Node {
        let data = self._dir.path().join("data");
        let secret = |name: &str| {
            std::fs::read_to_string(data.join("secrets").join(name))
                .expect("first node's secret")
                .trim()
                .to_owned()
        };
        let database_url = self
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", data.join("uploadgate.db").display()));
        let store = match &self.running().store_endpoint {
            Some(endpoint) => format!(
                "[s3]\nendpoint = {endpoint:?}\naccess_key_id = {:?}\nsecret_access_key = {:?}\nforce_path_style = true\n",
                secret("store-access-key-id"),
                secret("store-secret-access-key"),
            ),
            None => self.store_toml.clone(),
        };
        let toml = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\ndatabase_url = {database_url:?}\njwt_secret = {:?}\n{store}{}",
            self._dir.path().join("node2").display().to_string(),
            secret("jwt-secret"),
            self.profiles_toml,
        );
        std::fs::write(self._dir.path().join("node2.toml"), toml).expect("write config");
        let path = self._dir.path().join("node2.toml");
        Node {
            running: Running::start(&path).await,
        }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("server running")
    }

    /// The server's own dependencies, for driving what has no HTTP route (the janitor).
    pub fn state(&self) -> &AppState {
        &self.running().state
    }

    /// The same store the server uses, for checking what is really there.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.running().store
    }

    pub fn token(&self, user: &str) -> String {
        self.running()
            .tokens
            .mint(user, Duration::from_secs(600))
            .expect("mint")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running().base)
    }

    pub async fn post_json(&self, user: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(self.token(user))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, user: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(self.token(user))
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, user: &str, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(self.token(user))
            .send()
            .await
            .expect("request")
    }

    /// `POST /v1/uploads`, expecting 201; returns the record.
    pub async fn create(&self, user: &str, body: Value) -> Value {
        let response = self.post_json(user, "/v1/uploads", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        response.json().await.expect("json")
    }

    /// Creates a PUT upload for `bytes` declared as `content_type`.
    pub async fn create_put(&self, user: &str, content_type: &str, bytes: &[u8]) -> Value {
        self.create(
            user,
            json!({"filename": "file.bin", "contentType": content_type, "size": bytes.len()}),
        )
        .await
    }

    /// Creates a PUT upload for `PNG` and sends it to storage; returns the record.
    pub async fn send_png(&self, user: &str) -> Value {
        let record = self.create_put(user, "image/png", PNG).await;
        let response = put_as_instructed(&self.client, &record, PNG.to_vec(), &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        record
    }

    /// `GET path` expecting 200; returns the body.
    pub async fn get_json(&self, user: &str, path: &str) -> Value {
        let response = self.get(user, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.expect("json")
    }

    pub async fn complete(&self, user: &str, id: &str) -> Response {
        self.post_json(user, &format!("/v1/uploads/{id}/complete"), &json!({}))
            .await
    }

    /// Downloads a completed upload's bytes through its presigned GET.
    pub async fn download(&self, user: &str, id: &str) -> Vec<u8> {
        let response = self.get(user, &format!("/v1/uploads/{id}/download")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let link: Value = response.json().await.expect("json");
        let url = link["url"].as_str().expect("url");
        let object = self.client.get(url).send().await.expect("download");
        assert_eq!(object.status(), StatusCode::OK);
        object.bytes().await.expect("bytes").to_vec()
    }
}

/// Sends `body` as the record's presigned PUT instructs, with `extra` headers on top.
pub async fn put_as_instructed(
    client: &Client,
    record: &Value,
    body: Vec<u8>,
    overrides: &[(&str, &str)],
) -> Response {
    let upload = &record["upload"];
    assert_eq!(upload["method"], "PUT");
    let mut headers: BTreeMap<String, String> =
        serde_json::from_value(upload["headers"].clone()).expect("headers");
    for (name, value) in overrides {
        headers.insert((*name).to_owned(), (*value).to_owned());
    }
    let mut request = client.put(upload["url"].as_str().expect("url"));
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    request.body(body).send().await.expect("PUT to storage")
}

pub fn id_of(record: &Value) -> String {
    record["id"].as_str().expect("id").to_owned()
}

pub async fn problem(response: Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    response.json().await.expect("problem json")
}
