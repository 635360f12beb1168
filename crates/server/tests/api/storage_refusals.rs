//! Storage itself refuses bodies that differ from what the server signed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use uploadgate_testkit::{PNG, TestApp, assert_stored, id_of, put_as_instructed, strings};

#[tokio::test]
async fn a_tampered_signature_is_refused() {
    let app = TestApp::start().await;
    let mut record = app.create_put("alice", "image/png", PNG).await;
    let url = record["upload"]["url"].as_str().expect("url").to_owned();
    // SigV4's, a SAS's or GCS's V4 signature.
    let marker = ["X-Amz-Signature=", "sig=", "X-Goog-Signature="]
        .into_iter()
        .find(|m| url.contains(m))
        .expect("signed");
    let sig_at = url.find(marker).expect("signed") + marker.len();
    let flipped = if &url[sig_at..=sig_at] == "0" {
        "1"
    } else {
        "0"
    };
    let tampered = format!("{}{flipped}{}", &url[..sig_at], &url[sig_at + 1..]);
    record["upload"]["url"] = json!(tampered);

    let response = put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.complete("alice", &id_of(&record)).await.status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn a_key_swapped_into_a_signed_url_is_refused() {
    let app = TestApp::start().await;
    let record = app.create_put("alice", "image/png", PNG).await;
    let mut other = record.clone();
    let url = record["upload"]["url"].as_str().expect("url");
    other["upload"]["url"] = json!(url.replace("/staging/", "/uploads/alice/"));
    let response = put_as_instructed(&app.client, &other, PNG.to_vec(), &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_url_is_refused() {
    let app = TestApp::builder()
        .profile("brief", |p| {
            p.content_types = strings(["image/png"]);
            p.url_ttl = std::time::Duration::from_secs(1);
        })
        .start()
        .await;
    let record = app
        .create(
            "alice",
            json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "profile": "brief"}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let response = put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await;
    // AWS and the embedded store answer 403; Garage 400.
    assert!(
        matches!(
            response.status(),
            StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST
        ),
        "{}",
        response.status()
    );
}

#[tokio::test]
async fn another_content_type_is_refused() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::start().await;
    let record = app.create_put("alice", "image/png", PNG).await;
    let response = put_as_instructed(
        &app.client,
        &record,
        PNG.to_vec(),
        &[("content-type", "text/html")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_size_is_refused() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::start().await;
    let record = app.create_put("alice", "image/png", PNG).await;
    let mut bigger = PNG.to_vec();
    bigger.extend_from_slice(b"<script>");
    let response = put_as_instructed(&app.client, &record, bigger, &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let shorter = PNG[..PNG.len() - 1].to_vec();
    let response = put_as_instructed(&app.client, &record, shorter, &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_body_with_another_checksum_is_refused() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::start().await;
    let checksum = BASE64.encode(Sha256::digest(PNG));
    let record = app
        .create(
            "alice",
            json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "checksumSha256": checksum}),
        )
        .await;
    assert_eq!(
        record["upload"]["headers"]["x-amz-checksum-sha256"],
        json!(checksum)
    );

    let mut corrupted = PNG.to_vec();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 0xFF;
    let response = put_as_instructed(&app.client, &record, corrupted, &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // BadDigest (AWS, the embedded store) or InvalidDigest (Garage).
    assert!(response.text().await.expect("body").contains("Digest"));

    let response = put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await;
    assert_stored(&response);
    assert_eq!(
        app.complete("alice", &id_of(&record)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_post_form_outside_its_policy_is_refused() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::start().await;
    let record = app
        .create(
            "alice",
            json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "method": "POST"}),
        )
        .await;
    let send = |key_override: Option<&str>, body: Vec<u8>| {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in record["upload"]["fields"].as_object().expect("fields") {
            let value = match (name.as_str(), key_override) {
                ("key", Some(key)) => key.to_owned(),
                _ => value.as_str().expect("string").to_owned(),
            };
            form = form.text(name.clone(), value);
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(body).file_name("a.png"),
        );
        app.client
            .post(record["upload"]["url"].as_str().expect("url"))
            .multipart(form)
            .send()
    };
    let mut bigger = PNG.to_vec();
    bigger.extend_from_slice(&[0; 100]);
    // Garage refuses as soon as it has read the policy's fields, and may close
    // the connection while the file is still being sent: a refusal too. That
    // nothing was stored is checked below.
    let refused = |sent: reqwest::Result<reqwest::Response>| match sent {
        Ok(response) => assert!(response.status().is_client_error(), "{}", response.status()),
        Err(err) => assert!(err.is_request(), "{err}"),
    };
    refused(send(None, bigger).await);
    refused(send(Some("uploads/alice/mine.png"), PNG.to_vec()).await);
    assert_eq!(
        app.store()
            .head("uploads/alice/mine.png")
            .await
            .expect("head"),
        None
    );
    assert_eq!(
        app.complete("alice", &id_of(&record)).await.status(),
        StatusCode::CONFLICT
    );
}
