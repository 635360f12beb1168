//! What differs on Azure Blob Storage, run when the suite's store is Azure
//! (Azurite in CI): a SAS binds the blob, the permissions and the expiry,
//! and Azurite checks all three; the size, type and checksum it cannot bind
//! are checked at completion, and what Azure lacks (POST forms, per-request
//! encryption, Companion's S3 routes, the tutorial's bare PUT) is refused
//! clearly. Each test returns at once on an S3 store, where the same
//! properties have S3 tests of their own.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use uploadgate_server::config::Config;
use uploadgate_server::server::Server;
use uploadgate_testkit::{PNG, TestApp, assert_stored, engines, id_of, problem, put_as_instructed};

fn on_azure() -> bool {
    engines::azure_store()
}

#[tokio::test]
async fn a_sas_lets_through_only_its_blob_and_its_permissions() {
    if !on_azure() {
        return;
    }
    let app = TestApp::start().await;
    let record = app.create_put("alice", "image/png", PNG).await;
    let url = record["upload"]["url"].as_str().expect("url").to_owned();
    assert!(url.contains("sp=cw&"), "create and write only: {url}");
    assert_eq!(record["upload"]["headers"]["x-ms-blob-type"], "BlockBlob");

    // Another blob under the same signature.
    let (path, query) = url.split_once('?').expect("a query");
    let elsewhere = format!("{}x?{query}", &path[..path.len() - 1]);
    let response = app
        .client
        .put(&elsewhere)
        .header("x-ms-blob-type", "BlockBlob")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Read and delete with a create-and-write SAS.
    assert_eq!(
        app.client.get(&url).send().await.expect("get").status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.client
            .delete(&url)
            .send()
            .await
            .expect("delete")
            .status(),
        StatusCode::FORBIDDEN
    );
    // A tampered signature.
    let sig_at = url.find("sig=").expect("signed") + "sig=".len();
    let flipped = if &url[sig_at..=sig_at] == "A" {
        "B"
    } else {
        "A"
    };
    let mut tampered = record.clone();
    tampered["upload"]["url"] = json!(format!("{}{flipped}{}", &url[..sig_at], &url[sig_at + 1..]));
    let response = put_as_instructed(&app.client, &tampered, PNG.to_vec(), &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Properties a SAS holder may set are not carried to the checked file.
    let extra = [
        ("x-ms-blob-content-encoding", "gzip"),
        ("x-ms-blob-cache-control", "public, max-age=31536000"),
    ];
    assert_stored(&put_as_instructed(&app.client, &record, PNG.to_vec(), &extra).await);
    let id = id_of(&record);
    assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);
    let link = app
        .get_json("alice", &format!("/v1/uploads/{id}/download"))
        .await;
    let download = link["url"].as_str().expect("a download URL");
    assert!(download.contains("sp=r&"), "read only: {download}");
    let response = app.client.get(download).send().await.expect("download");
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    for dropped in ["content-encoding", "cache-control"] {
        assert!(
            response.headers().get(dropped).is_none(),
            "{dropped} was kept: {:?}",
            response.headers()
        );
    }
    assert_eq!(&response.bytes().await.expect("body")[..], PNG);
    let write = app
        .client
        .put(download)
        .header("x-ms-blob-type", "BlockBlob")
        .body(b"x".to_vec())
        .send()
        .await
        .expect("put");
    assert_eq!(
        write.status(),
        StatusCode::FORBIDDEN,
        "a read SAS cannot write"
    );
}

#[tokio::test]
async fn what_a_sas_cannot_bind_is_checked_at_completion_and_deleted() {
    if !on_azure() {
        return;
    }
    let app = TestApp::start().await;
    // Another size, another type, another checksum: each lands, each is rejected.
    let checksum = BASE64.encode(Sha256::digest(PNG));
    let mut corrupted = PNG.to_vec();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 0xFF;
    let mut bigger = PNG.to_vec();
    bigger.extend_from_slice(b"<script>");
    let cases = [
        (json!({"size": PNG.len()}), bigger, vec![], "size mismatch"),
        (
            json!({"size": PNG.len()}),
            PNG.to_vec(),
            vec![("content-type", "text/html")],
            "stored as",
        ),
        (
            json!({"size": PNG.len(), "checksumSha256": checksum}),
            corrupted,
            vec![],
            "checksum mismatch",
        ),
    ];
    for (extra, body, overrides, reason) in cases {
        let mut request = json!({"filename": "a.png", "contentType": "image/png"});
        request
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        let record = app.create("alice", request).await;
        let headers = record["upload"]["headers"].as_object().expect("headers");
        assert!(
            !headers.keys().any(|h| h.contains("checksum")),
            "no checksum header Azure would ignore"
        );
        assert_stored(&put_as_instructed(&app.client, &record, body, &overrides).await);
        let id = id_of(&record);
        let answer = app.complete("alice", &id).await;
        assert_eq!(
            answer.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{reason}"
        );
        let rejected: serde_json::Value = answer.json().await.expect("json");
        assert_eq!(rejected["status"], "rejected");
        let why = rejected["rejectReason"].as_str().unwrap_or_default();
        assert!(why.contains(reason), "{why}");
        let upload = app.record(&id).await;
        assert_eq!(app.store().head(&upload.key).await.expect("head"), None);
        assert_eq!(
            app.store().head(&upload.staging_key).await.expect("head"),
            None
        );
    }
    // The right checksum completes.
    let record = app
        .create("alice", json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "checksumSha256": BASE64.encode(Sha256::digest(PNG))}))
        .await;
    assert_stored(&put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await);
    assert_eq!(
        app.complete("alice", &id_of(&record)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn what_azure_lacks_is_refused_clearly_before_anything_is_recorded() {
    if !on_azure() {
        return;
    }
    let app = TestApp::start().await;
    let post = app
        .post_json("alice", "/v1/uploads", &json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "method": "POST"}))
        .await;
    assert_eq!(post.status(), StatusCode::BAD_REQUEST);
    let body = problem(post).await;
    assert_eq!(body["field"], "method");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("POST forms"),
        "{body}"
    );

    let companion = app
        .client
        .get(app.url(&format!(
            "/companion/{}/s3/params?filename=a.png&type=image/png",
            app.token("alice")
        )))
        .send()
        .await
        .expect("companion");
    assert_eq!(companion.status(), StatusCode::NOT_FOUND);
    let body = problem(companion).await;
    assert_eq!(body["code"], "not_enabled");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Azure Blob Storage"),
        "{body}"
    );

    let simple = app
        .post_json(
            "alice",
            "/api/upload/generate-url",
            &json!({"fileName": "a.png", "fileType": "image/png", "fileSize": PNG.len()}),
        )
        .await;
    assert_eq!(simple.status(), StatusCode::FORBIDDEN);

    let listed = app.get_json("alice", "/v1/uploads").await;
    assert_eq!(listed["items"], json!([]), "nothing was recorded: {listed}");
}

#[tokio::test]
async fn a_profile_asking_for_encryption_is_refused_at_start_up() {
    if !on_azure() {
        return;
    }
    let mut config = Config {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir: tempfile::tempdir().expect("tempdir").keep().join("data"),
        ..Config::default()
    };
    engines::use_external_store(&mut config);
    let profile = uploadgate_server::config::Profile {
        sse: Some("AES256".into()),
        ..Default::default()
    };
    config.profiles.insert("secret".into(), profile);
    config.finish().expect("valid config");
    let err = Server::start(config).await.expect_err("must refuse");
    let message = format!("{err:#}");
    assert!(
        message.contains("profiles.secret.sse") && message.contains("Azure Blob Storage"),
        "{message}"
    );
}

/// A write SAS lets its holder lease the blob, which would block every
/// delete; the server breaks the lease with the account key, so a spoofed
/// upload is still rejected and removed.
#[tokio::test]
async fn a_lease_taken_with_an_upload_sas_does_not_keep_a_rejected_blob() {
    if !on_azure() {
        return;
    }
    let app = TestApp::start().await;
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let record = app.create_put("alice", "image/png", &html).await;
    assert_stored(&put_as_instructed(&app.client, &record, html, &[]).await);
    let url = record["upload"]["url"].as_str().expect("url");
    let lease = app
        .client
        .put(format!("{url}&comp=lease"))
        .header("x-ms-lease-action", "acquire")
        .header("x-ms-lease-duration", "-1")
        .send()
        .await
        .expect("lease");
    assert_eq!(lease.status(), StatusCode::CREATED, "the SAS may lease");
    let id = id_of(&record);
    let answer = app.complete("alice", &id).await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let upload = app.record(&id).await;
    assert_eq!(
        app.store().head(&upload.staging_key).await.expect("head"),
        None
    );
    assert_eq!(app.store().head(&upload.key).await.expect("head"), None);
}
