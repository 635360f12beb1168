//! Server-side encryption: signed into what clients get, so they cannot drop
//! it, and refused at start-up by a store that would silently skip it.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use uploadgate_server::config::Config;
use uploadgate_server::server::Server;
use uploadgate_server::storage::{Sse, UploadTarget};

use uploadgate_testkit::{PNG, TestApp};

fn target(sse: &Sse) -> UploadTarget<'_> {
    UploadTarget {
        key: "staging/sse-test",
        content_type: "image/png",
        size: PNG.len() as u64,
        min_size: 1,
        checksum_sha256: None,
        expires_in: Duration::from_secs(60),
        sse: Some(sse),
    }
}

#[tokio::test]
async fn encryption_is_signed_into_put_urls_and_post_policies() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::start().await;
    let kms = Sse::Kms {
        key_id: Some("arn:aws:kms:eu-west-1:111122223333:key/abc".into()),
    };
    let put = app.store().presign_put(&target(&kms)).await.expect("put");
    assert_eq!(put.headers["x-amz-server-side-encryption"], "aws:kms");
    assert_eq!(
        put.headers["x-amz-server-side-encryption-aws-kms-key-id"],
        "arn:aws:kms:eu-west-1:111122223333:key/abc"
    );
    let url = url::Url::parse(&put.url).expect("url");
    let signed_headers = url
        .query_pairs()
        .find(|(name, _)| name == "X-Amz-SignedHeaders")
        .map(|(_, value)| value.into_owned())
        .expect("signed headers");
    assert!(
        signed_headers
            .contains("x-amz-server-side-encryption;x-amz-server-side-encryption-aws-kms-key-id"),
        "{signed_headers}"
    );

    let post = app
        .store()
        .presign_post(&target(&Sse::Aes256))
        .await
        .expect("post");
    assert_eq!(post.fields["x-amz-server-side-encryption"], "AES256");
    let policy = base64::engine::general_purpose::STANDARD
        .decode(&post.fields["policy"])
        .expect("base64");
    let policy: serde_json::Value = serde_json::from_slice(&policy).expect("json");
    assert!(
        policy["conditions"]
            .as_array()
            .expect("conditions")
            .contains(&json!({"x-amz-server-side-encryption": "AES256"})),
        "{policy}"
    );
}

#[tokio::test]
async fn a_client_cannot_drop_the_signed_encryption_header() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::start().await;
    let put = app
        .store()
        .presign_put(&target(&Sse::Aes256))
        .await
        .expect("put");
    let mut request = app.client.put(&put.url).body(PNG.to_vec());
    for (name, value) in &put.headers {
        if !name.starts_with("x-amz-server-side-encryption") {
            request = request.header(name, value);
        }
    }
    // The embedded store answers 403, Garage 400 or a closed connection.
    uploadgate_testkit::assert_refused_by_storage(request.send().await);
    assert_eq!(
        app.store().head("staging/sse-test").await.expect("head"),
        None,
        "nothing was stored unencrypted"
    );
}

#[tokio::test]
async fn a_store_that_does_not_encrypt_is_refused_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("uploadgate.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n[store]\nlisten = \"127.0.0.1:0\"\n\
             [profiles.secret]\nsse = \"AES256\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .expect("write");
    let config = Config::load(Some(&path), |_| None).expect("valid config");
    let err = Server::start(config).await.expect_err("must refuse");
    let message = format!("{err:#}");
    assert!(
        message.contains("profiles.secret.sse") && message.contains("does not apply"),
        "{message}"
    );
}
