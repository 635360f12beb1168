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

/// On Azure (when the run names one): at trace level, neither the account
/// key, nor a SAS signature handed to a client, nor a Shared Key signature
/// of the server's own calls reaches the logs.
#[tokio::test]
async fn on_azure_logs_hold_no_key_sas_or_shared_key_signature() {
    if !uploadgate_testkit::engines::azure_store() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = format!(
        "{}key_prefix = \"logs-{}/\"\n[profiles.default]\ncontent_types = [\"image/png\", \"video/mp4\"]\nmultipart_threshold = \"5MiB\"\npart_size = \"5MiB\"\n",
        uploadgate_testkit::engines::store_toml(),
        uuid::Uuid::new_v4().simple()
    );
    let config = uploadgate_testkit::binary::config_with(dir.path(), &extra);
    let node = serve_with_env(BIN, &config, &[("RUST_LOG", "trace")]);
    let client = reqwest::Client::new();
    let create = |body: Value| {
        client
            .post(format!("{}/v1/uploads", node.api))
            .bearer_auth(&node.token)
            .json(&body)
            .send()
    };
    let single: Value =
        create(json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len()}))
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
    let mut video = vec![7u8; 6 * 1024 * 1024];
    video[..12].copy_from_slice(b"\0\0\0\x18ftypmp42");
    let large: Value =
        create(json!({"filename": "v.mp4", "contentType": "video/mp4", "size": video.len()}))
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
    let large_id = large["id"].as_str().expect("id");
    let parts: Value = client
        .post(format!("{}/v1/uploads/{large_id}/parts", node.api))
        .bearer_auth(&node.token)
        .json(&json!({"partNumbers": [1, 2]}))
        .send()
        .await
        .expect("parts")
        .json()
        .await
        .expect("json");
    let mut signatures = vec![single["upload"]["url"].as_str().expect("url").to_owned()];
    for (part, chunk) in parts["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .zip(video.chunks(5 * 1024 * 1024))
    {
        let url = part["url"].as_str().expect("url");
        signatures.push(url.to_owned());
        let sent = client
            .put(url)
            .body(chunk.to_vec())
            .send()
            .await
            .expect("block");
        assert!(sent.status().is_success(), "{}", sent.status());
    }
    assert!(
        put_as_instructed(&client, &single, PNG.to_vec(), &[])
            .await
            .status()
            .is_success()
    );
    for id in [single["id"].as_str().expect("id"), large_id] {
        let done = client
            .post(format!("{}/v1/uploads/{id}/complete", node.api))
            .bearer_auth(&node.token)
            .send()
            .await
            .expect("complete");
        assert!(done.status().is_success(), "{}", done.status());
    }
    let download: Value = client
        .get(format!("{}/v1/uploads/{large_id}/download", node.api))
        .bearer_auth(&node.token)
        .send()
        .await
        .expect("download")
        .json()
        .await
        .expect("json");
    signatures.push(download["url"].as_str().expect("url").to_owned());
    let logs = node.stop();
    assert!(
        logs.contains("storage assembled the parts"),
        "the calls were logged at all:\n{logs}"
    );
    let key = std::env::var("UPLOADGATE_TEST_AZURE_KEY").expect("the account key");
    for url in &signatures {
        let sig = url
            .split("sig=")
            .nth(1)
            .and_then(|s| s.split('&').next())
            .expect("a SAS");
        // As sent (percent-encoded) and as signed (base64).
        let decoded = sig
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=");
        for spelling in [sig, decoded.as_str()] {
            assert!(
                !logs.contains(spelling),
                "a SAS signature leaked into the logs:\n{logs}"
            );
        }
    }
    for secret in [key.as_str(), &key[..20], "SharedKey", "sig="] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
