//! `uploadgate keys`: a key is printed once, listed with its scopes and last
//! use, revoked at once for the running server, and never logged, at any
//! level, nor the upload tokens it mints.

use std::path::Path;
use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::{Value, json};
use uploadgate_testkit::binary::{serve_with_env, zero_config};

const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");

fn keys(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("keys")
        .args(args)
        .output()
        .expect("uploadgate keys")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn keys_are_made_listed_used_and_revoked_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = zero_config(dir.path());
    let node = serve_with_env(BIN, &config, &[("RUST_LOG", "trace")]);

    let made = keys(
        &config,
        &[
            "create", "--name", "backend", "--scope", "uploads", "--scope", "tokens",
        ],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let key = text(&made.stdout).trim().to_owned();
    assert!(key.starts_with("ugk_") && key.len() > 40, "{key}");
    assert!(text(&made.stderr).contains("shown once"));

    let no_scope = keys(&config, &["create", "--name", "x"]);
    assert!(
        !no_scope.status.success(),
        "a key's scopes are chosen, never all by default"
    );
    assert!(
        text(&no_scope.stderr).contains("--scope"),
        "{}",
        text(&no_scope.stderr)
    );
    let again = keys(
        &config,
        &["create", "--name", "backend", "--scope", "admin"],
    );
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );
    let bad_scope = keys(&config, &["create", "--name", "x", "--scope", "root"]);
    assert!(!bad_scope.status.success());
    assert!(text(&bad_scope.stderr).contains("not uploads, tokens or admin"));

    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/v1/uploads", node.api))
        .bearer_auth(&key)
        .header("uploadgate-user", "bob")
        .json(&json!({"filename": "a.png", "contentType": "image/png", "size": 10}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let minted: Value = client
        .post(format!("{}/v1/upload-tokens", node.api))
        .bearer_auth(&key)
        .json(&json!({"user": "bob", "maxFiles": 1}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let upload_token = minted["token"].as_str().expect("token").to_owned();
    let with_token = client
        .post(format!("{}/v1/uploads", node.api))
        .bearer_auth(&upload_token)
        .json(&json!({"filename": "b.png", "contentType": "image/png", "size": 10}))
        .send()
        .await
        .expect("create");
    assert_eq!(with_token.status(), StatusCode::CREATED);

    // The key's use is recorded off the request's path: list until it shows.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let listing = loop {
        let listed = keys(&config, &["list"]);
        assert!(listed.status.success(), "{}", text(&listed.stderr));
        let listing = text(&listed.stdout);
        let used = listing
            .lines()
            .any(|l| l.starts_with("backend") && !l.ends_with("never"));
        if used || std::time::Instant::now() > deadline {
            break listing;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let line = listing
        .lines()
        .find(|l| l.starts_with("backend"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(line.contains("uploads,tokens"), "{line}");
    assert!(!line.ends_with("never"), "its use is recorded: {line}");
    assert!(!listing.contains(&key[4..]), "{listing}");

    let revoked = keys(&config, &["revoke", "backend"]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let refused = client
        .get(format!("{}/v1/uploads", node.api))
        .bearer_auth(&key)
        .header("uploadgate-user", "bob")
        .send()
        .await
        .expect("list");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let unknown = keys(&config, &["revoke", "backend"]);
    assert!(!unknown.status.success());

    let logs = node.logs.lock().expect("logs").clone();
    assert!(
        logs.contains("/v1/upload-tokens"),
        "the requests were logged"
    );
    for secret in [
        &key[4..],
        upload_token.as_str(),
        upload_token.split('.').nth(2).expect("sig"),
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}
