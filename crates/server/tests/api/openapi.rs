//! The published contract and the probes.

use reqwest::StatusCode;
use serde_json::Value;

use uploadgate_testkit::TestApp;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

/// The served document must equal the committed one, so API changes show up in
/// review. Regenerate with `UPDATE_SNAPSHOTS=1 cargo test ... openapi`.
#[tokio::test]
async fn the_openapi_document_matches_the_committed_snapshot() {
    let app = TestApp::start().await;
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let served: Value = response.json().await.expect("json");
    for path in [
        "/v1/uploads",
        "/v1/uploads/{id}",
        "/v1/uploads/{id}/complete",
        "/v1/uploads/{id}/download",
        "/healthz",
        "/readyz",
    ] {
        assert!(served["paths"][path].is_object(), "{path} is documented");
    }
    let pretty = serde_json::to_string_pretty(&served).expect("serialize") + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &pretty).expect("write snapshot");
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        committed == pretty,
        "docs/openapi.json is stale: rerun with UPDATE_SNAPSHOTS=1"
    );
}

#[tokio::test]
async fn probes_report_health_and_readiness() {
    let app = TestApp::start().await;
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.expect("send");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let missing = app.client.get(app.url("/nope")).send().await.expect("send");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}
