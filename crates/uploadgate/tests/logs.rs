//! What `uploadgate serve` logs: one JSON line per event with a request id
//! (the caller's `X-Request-Id` when given), and never a token, a signature,
//! a presigned URL, a POST policy or a key, at any level, the embedded store's
//! own traffic included.

use serde_json::{Value, json};
use uploadgate_testkit::binary::{serve_with_env, zero_config};
use uploadgate_testkit::{PNG, put_as_instructed};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");

#[tokio::test]
async fn logs_carry_request_ids_and_no_secrets() {
    logs_hold_no_secrets_at("trace").await;
}

#[tokio::test]
async fn asking_the_store_s_libraries_for_trace_still_logs_no_secret() {
    logs_hold_no_secrets_at(
        "trace,s3s=trace,s3s::ops=trace,s3s::http=trace,s3s_fs=trace,aws_sigv4=trace,\
         aws_sdk_s3=trace,aws_smithy_runtime=trace,hyper=trace",
    )
    .await;
}

async fn logs_hold_no_secrets_at(rust_log: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = zero_config(dir.path());
    let node = serve_with_env(BIN, &config, &[("RUST_LOG", rust_log)]);
    let client = reqwest::Client::new();

    let created: Value = client
        .post(format!("{}/v1/uploads", node.api))
        .bearer_auth(&node.token)
        .header("x-request-id", "req-from-the-caller-42")
        .json(&json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len()}))
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
    let form: Value = params.json().await.expect("POST form");
    // However the path is spelled, the token in it is not logged.
    for spelling in ["//companion", "/Companion", "/%63ompanion", "/companion/"] {
        client
            .get(format!(
                "{}{spelling}/{}/s3/params?filename=b.png&type=image/png",
                node.api, node.token
            ))
            .send()
            .await
            .expect("a misspelled path");
    }

    // Store traffic: the presigned PUT, and the POST form with its policy.
    let put = put_as_instructed(&client, &created, PNG.to_vec(), &[]).await;
    assert!(put.status().is_success());
    // Completion reads the object back through the SDK.
    let id = created["id"].as_str().expect("id");
    let completed = client
        .post(format!("{}/v1/uploads/{id}/complete", node.api))
        .bearer_auth(&node.token)
        .send()
        .await
        .expect("complete");
    assert!(completed.status().is_success(), "{}", completed.status());
    let mut post = reqwest::multipart::Form::new();
    for (name, value) in form["fields"].as_object().expect("fields") {
        post = post.text(name.clone(), value.as_str().expect("field").to_owned());
    }
    let post = post.part(
        "file",
        reqwest::multipart::Part::bytes(PNG.to_vec())
            .mime_str("image/png")
            .expect("mime"),
    );
    let posted = client
        .post(form["url"].as_str().expect("form url"))
        .multipart(post)
        .send()
        .await
        .expect("POST form");
    assert!(posted.status().is_success(), "{}", posted.status());
    let field = |name: &str| {
        form["fields"][name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {form}"))
            .to_owned()
    };
    let (policy, policy_signature) = (field("policy"), field("x-amz-signature"));
    let secret = |name: &str| {
        std::fs::read_to_string(dir.path().join("data/secrets").join(name))
            .expect("a generated secret")
            .trim()
            .to_owned()
    };
    // A refused token is logged as a refusal, not as the token.
    client
        .get(format!("{}/v1/uploads", node.api))
        .bearer_auth("not-a-token-but-secret-looking")
        .send()
        .await
        .expect("list");
    // Stopped, the server has logged everything it ever will.
    let token = node.token.clone();
    let logs = node.stop();
    assert!(
        logs.contains("shutting down"),
        "the lines logged last are missing:\n{logs}"
    );
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    assert!(
        logs.lines()
            .any(|l| l.contains("req-from-the-caller-42") && l.contains("/v1/uploads")),
        "the caller's request id is not in the logs:\n{logs}"
    );
    for secret in [
        token.as_str(),
        signature.as_str(),
        "X-Amz-Signature",
        "X-Amz-Credential",
        "not-a-token-but-secret-looking",
        &policy,
        &policy_signature,
        &secret("jwt-secret"),
        &secret("store-secret-access-key"),
        &secret("store-access-key-id"),
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
