//! The real binary, twice: `uploadgate serve` as two processes sharing one
//! database and one store, as nodes behind a load balancer would.
//!
//! With `UPLOADGATE_TEST_DATABASE_URL` / `UPLOADGATE_TEST_S3_*` set, both use those
//! engines; otherwise the first serves its embedded store and SQLite file, and the
//! second is pointed at them.

#[expect(
    dead_code,
    reason = "each test binary uses its own part of the shared helpers"
)]
mod common;

use std::path::Path;
use std::time::Duration;

use common::serve;

use serde_json::{Value, json};

fn engines_toml() -> String {
    let var = |name: &str| std::env::var(name).ok();
    let mut toml = String::new();
    if let Some(endpoint) = var("UPLOADGATE_TEST_S3_ENDPOINT") {
        toml.push_str(&format!(
            "[s3]\nendpoint = {endpoint:?}\nregion = {:?}\nbucket = {:?}\naccess_key_id = {:?}\nsecret_access_key = {:?}\nforce_path_style = true\n",
            var("UPLOADGATE_TEST_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            var("UPLOADGATE_TEST_S3_BUCKET").unwrap_or_else(|| "uploads".into()),
            var("UPLOADGATE_TEST_S3_ACCESS_KEY_ID").expect("key id"),
            var("UPLOADGATE_TEST_S3_SECRET_ACCESS_KEY").expect("secret"),
        ));
    }
    toml
}

fn read_secret(data: &Path, name: &str) -> String {
    std::fs::read_to_string(data.join("secrets").join(name))
        .expect("secret file")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn two_serve_processes_share_one_upload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwt = "a-shared-secret-for-both-nodes-of-this-test";
    let database = match std::env::var("UPLOADGATE_TEST_DATABASE_URL") {
        // Ids and keys are unique, so sharing the server's default database is fine.
        Ok(base) => base,
        Err(_) => format!("sqlite://{}", dir.path().join("shared.db").display()),
    };
    let common = format!(
        "listen = \"127.0.0.1:0\"\ndatabase_url = {database:?}\njwt_secret = {jwt:?}\n[profiles.default]\ncontent_types = [\"application/octet-stream\"]\nmultipart_threshold = \"5MiB\"\npart_size = \"5MiB\"\nmax_size = \"20MiB\"\n"
    );
    let first_data = dir.path().join("a");
    let first_config = dir.path().join("a.toml");
    std::fs::write(
        &first_config,
        format!(
            "data_dir = {:?}\n{common}[store]\nlisten = \"127.0.0.1:0\"\n{}",
            first_data.display().to_string(),
            engines_toml()
        ),
    )
    .expect("write");
    let first = serve(&first_config);

    let second_store = match &first.store {
        Some(endpoint) => format!(
            "[s3]\nendpoint = {endpoint:?}\naccess_key_id = {:?}\nsecret_access_key = {:?}\nforce_path_style = true\n",
            read_secret(&first_data, "store-access-key-id"),
            read_secret(&first_data, "store-secret-access-key"),
        ),
        None => engines_toml(),
    };
    let second_config = dir.path().join("b.toml");
    std::fs::write(
        &second_config,
        format!(
            "data_dir = {:?}\n{common}{second_store}",
            dir.path().join("b").display().to_string()
        ),
    )
    .expect("write");
    let second = serve(&second_config);

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let bytes: Vec<u8> = (0..6 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    // Created on the first node, with the token the second one printed...
    let record: Value = client
        .post(format!("{}/v1/uploads", first.api))
        .bearer_auth(&second.token)
        .json(&json!({"filename": "a.bin", "contentType": "application/octet-stream", "size": bytes.len()}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    assert_eq!(record["upload"]["method"], "MULTIPART", "{record}");
    let id = record["id"].as_str().expect("id");

    // ...its parts signed by the second...
    let signed: Value = client
        .post(format!("{}/v1/uploads/{id}/parts", second.api))
        .bearer_auth(&second.token)
        .json(&json!({"partNumbers": [1, 2]}))
        .send()
        .await
        .expect("sign")
        .json()
        .await
        .expect("json");
    for (part, chunk) in signed["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .zip(bytes.chunks(5 * 1024 * 1024))
    {
        let stored = client
            .put(part["url"].as_str().expect("url"))
            .body(chunk.to_vec())
            .send()
            .await
            .expect("put");
        assert_eq!(stored.status(), 200);
    }

    // ...and completed on the first.
    let completed: Value = client
        .post(format!("{}/v1/uploads/{id}/complete", first.api))
        .bearer_auth(&first.token)
        .send()
        .await
        .expect("complete")
        .json()
        .await
        .expect("json");
    assert_eq!(completed["status"], "completed", "{completed}");

    // Read back through the first.
    let link: Value = client
        .get(format!("{}/v1/uploads/{id}/download", first.api))
        .bearer_auth(&first.token)
        .send()
        .await
        .expect("download")
        .json()
        .await
        .expect("json");
    let downloaded = client
        .get(link["url"].as_str().expect("url"))
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert!(
        downloaded.as_ref() == bytes.as_slice(),
        "the object reads back intact"
    );
}
