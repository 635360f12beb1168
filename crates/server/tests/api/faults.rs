//! Dependencies down: a clear 503 with Retry-After, never a hang or a leaked cause.
//! Driven in-process through `app(state)` with `oneshot`, no listening socket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt as _;
use uploadgate_server::auth::Hs256;
use uploadgate_server::config::{AuthConfig, Config};
use uploadgate_server::db::{PgRepo, SqliteRepo};
use uploadgate_server::secret::Secret;
use uploadgate_server::storage::{S3Store, S3StoreSettings};
use uploadgate_server::uploads::Uploads;
use uploadgate_server::{AppState, app};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    closed.local_addr().expect("addr").port()
}

/// A state whose store is a closed port on loopback.
async fn state_with_dead_store(dir: &tempfile::TempDir) -> (AppState, Arc<Hs256>) {
    state_with_dead_store_and(dir, |_| {}).await
}

/// `state_with_dead_store`, with the default configuration changed by `edit`.
async fn state_with_dead_store_and(
    dir: &tempfile::TempDir,
    edit: impl FnOnce(&mut Config),
) -> (AppState, Arc<Hs256>) {
    let port = closed_port();
    let store = S3Store::connect(S3StoreSettings {
        endpoint: Some(format!("http://127.0.0.1:{port}").parse().expect("url")),
        public_endpoint: None,
        bucket: "uploads".into(),
        region: "us-east-1".into(),
        force_path_style: true,
        credentials: Some(("AKID".into(), Secret::new("secret"))),
        key_prefix: String::new(),
    })
    .await
    .expect("client");
    let db = SqliteRepo::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .expect("db");
    let auth = Arc::new(Hs256::new(
        &Secret::new("a-test-secret-of-at-least-32-bytes"),
        &AuthConfig::default(),
    ));
    let mut config = Config::load(None, |_| None).expect("defaults");
    edit(&mut config);
    let uploads = Uploads::new(config, Arc::new(db), Arc::new(store));
    let state = AppState::new(uploads, auth.clone(), auth.clone());
    (state, auth)
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn storage_down_is_a_quick_503_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, auth) = state_with_dead_store(&dir).await;
    let token = auth.mint("alice", Duration::from_secs(60)).expect("token");
    let router = app(state.clone());

    let started = Instant::now();
    let ready = router
        .clone()
        .oneshot(
            Request::get("/readyz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.headers().contains_key(header::RETRY_AFTER));

    // Authorizing needs no storage round trip (signing is local)...
    let create = router
        .clone()
        .oneshot(
            Request::post("/v1/uploads")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"filename":"a.png","contentType":"image/png","size":10}"#,
                ))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(create.status(), StatusCode::CREATED);
    let record: serde_json::Value = serde_json::from_str(&body_text(create).await).expect("json");

    // ...but verifying does: 503, in the API's error shape, with no internal detail.
    let complete = router
        .oneshot(
            Request::post(format!(
                "/v1/uploads/{}/complete",
                record["id"].as_str().expect("id")
            ))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(complete.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(complete.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        complete.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let text = body_text(complete).await;
    assert!(text.contains("service_unavailable"), "{text}");
    assert!(
        !text.contains("127.0.0.1") && !text.contains("dispatch"),
        "leaked: {text}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "no hang");
    let metrics = state.uploads.metrics.render().expect("metrics");
    assert!(
        metrics.contains(r#"uploadgate_storage_errors_total{op="head",kind="unavailable"}"#),
        "{metrics}"
    );

    // The record is untouched and can be completed once storage is back.
    let id = record["id"].as_str().expect("id").parse().expect("uuid");
    let upload = state
        .uploads
        .db
        .find(id, "alice")
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(upload.status, uploadgate_api::UploadStatus::Pending);
}

#[tokio::test]
async fn database_down_is_a_quick_503_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut state, auth) = state_with_dead_store(&dir).await;
    // A PostgreSQL server that went away: every connection attempt is refused.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy(&format!(
            "postgres://uploadgate:hunter2@127.0.0.1:{}/uploads",
            closed_port()
        ))
        .expect("lazy pool");
    state.uploads.db = Arc::new(PgRepo::from_pool(pool));
    let token = auth.mint("alice", Duration::from_secs(60)).expect("token");
    let router = app(state);

    let started = Instant::now();
    for (method, path, body) in [
        (
            "POST",
            "/v1/uploads",
            r#"{"filename":"a.png","contentType":"image/png","size":10}"#,
        ),
        ("GET", "/v1/uploads", ""),
    ] {
        let response = router
            .clone()
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        let text = body_text(response).await;
        assert!(text.contains("the database is unavailable"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("127.0.0.1") && !text.contains("refused"),
            "leaked: {text}"
        );
    }
    let ready = router
        .oneshot(
            Request::get("/readyz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(15), "no hang");
}

/// A creation that fails after it spent its upload token's grant (storage
/// down when the multipart upload starts) gives back what it took.
#[tokio::test]
async fn a_failed_creation_gives_its_upload_token_back_what_it_spent() {
    use uploadgate_api::{CreateUpload, CreateUploadToken};
    use uploadgate_server::auth::{KeyHolder, Principal, Via};

    let dir = tempfile::tempdir().expect("tempdir");
    let (state, _) = state_with_dead_store_and(&dir, |config| {
        let default = config
            .profiles
            .get_mut("default")
            .expect("the default profile");
        default.multipart_threshold = 5 * 1024 * 1024;
    })
    .await;
    let uploads = &state.uploads;
    let (grant, _) = uploads
        .open_grant(
            CreateUploadToken {
                user: "dana".into(),
                profile: None,
                max_bytes: Some(200 * 1024 * 1024),
                max_files: Some(1),
                metadata: None,
                ttl_seconds: None,
            },
            &KeyHolder {
                name: "backend".into(),
                hash: "0".repeat(64),
                scopes: Vec::new(),
            },
        )
        .await
        .expect("grant");
    let holder = Principal {
        user: "dana".into(),
        via: Via::UploadToken(grant.clone()),
    };
    // Over the 5 MiB threshold: a multipart upload, which storage starts.
    let multipart = CreateUpload {
        filename: "big.pdf".into(),
        content_type: "application/pdf".into(),
        size: 8 * 1024 * 1024,
        profile: None,
        checksum_sha256: None,
        method: None,
        metadata: None,
    };
    for _ in 0..3 {
        let failed = uploads.create(&holder, multipart.clone()).await;
        assert!(
            matches!(
                failed,
                Err(uploadgate_server::uploads::UploadError::Storage(_))
            ),
            "storage is down: {failed:?}"
        );
    }
    // Its one file, and its bytes, are still there to spend.
    assert!(
        uploads
            .db
            .access()
            .spend_grant(grant.id, 200 * 1024 * 1024, uploadgate_server::db::now())
            .await
            .expect("the database answers"),
        "the failed creations were refunded"
    );
}
