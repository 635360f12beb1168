//! What `uploadgate serve` logs: one JSON line per event with a request id
//! (the caller's `X-Request-Id` when given), and never a token, a signature or
//! a presigned URL, even at debug level.

use std::time::Duration;

use uploadgate_testkit::binary::{serve_with_env, zero_config};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");
use serde_json::{Value, json};

#[tokio::test]
async fn logs_carry_request_ids_and_no_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = zero_config(dir.path());
    let node = serve_with_env(
        BIN,
        &config,
        &[("RUST_LOG", "debug,aws=info,hyper=info,h2=info")],
    );
    let client = reqwest::Client::new();

    let created: Value = client
        .post(format!("{}/v1/uploads", node.api))
        .bearer_auth(&node.token)
        .header("x-request-id", "req-from-the-caller-42")
        .json(&json!({"filename": "a.png", "contentType": "image/png", "size": 10}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let url = created["upload"]["url"]
        .as_str()
        .expect("presigned url")
        .to_owned();
    let signature = url
        .split("X-Amz-Signature=")
        .nth(1)
        .expect("signature")
        .to_owned();
    let answered = client
        .get(format!(
            "{}/v1/uploads/{}",
            node.api,
            created["id"].as_str().expect("id")
        ))
        .bearer_auth(&node.token)
        .send()
        .await
        .expect("get");
    assert!(
        answered.headers().contains_key("x-request-id"),
        "an id is generated"
    );
    let params = client
        .get(format!(
            "{}/companion/{}/s3/params?filename=b.png&type=image/png",
            node.api, node.token
        ))
        .send()
        .await
        .expect("params");
    assert!(params.status().is_success());
    // A refused token is logged as a refusal, not as the token.
    client
        .get(format!("{}/v1/uploads", node.api))
        .bearer_auth("not-a-token-but-secret-looking")
        .send()
        .await
        .expect("list");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logs = node.logs.lock().expect("logs").clone();
    assert!(!logs.is_empty());
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    assert!(
        logs.lines()
            .any(|l| l.contains("req-from-the-caller-42") && l.contains("/v1/uploads")),
        "the caller's request id is not in the logs:\n{logs}"
    );
    for secret in [
        node.token.as_str(),
        signature.as_str(),
        "X-Amz-Signature",
        "X-Amz-Credential",
        "not-a-token-but-secret-looking",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
