//! An upload from authorization to download, and what the server does at completion.

use reqwest::StatusCode;
use serde_json::{Value, json};

use uploadgate_testkit::{PDF, PNG, TestApp, assert_stored, id_of, problem, put_as_instructed};

#[tokio::test]
async fn a_put_upload_completes_and_downloads_intact() {
    let app = TestApp::start().await;
    let record = app
        .create("alice", json!({"filename": "Cat Photo.PNG", "contentType": "image/png", "size": PNG.len(), "metadata": {"album": "cats"}}))
        .await;
    assert_eq!(record["status"], "pending");
    assert_eq!(record["upload"]["method"], "PUT");
    assert_eq!(record["metadata"]["album"], "cats");
    let key = record["key"].as_str().expect("key");
    assert!(
        key.starts_with("uploads/alice/") && key.ends_with(".png"),
        "{key}"
    );
    let url = record["upload"]["url"].as_str().expect("url");
    assert!(
        !url.to_ascii_lowercase().contains("checksum"),
        "no SDK checksum default: {url}"
    );

    let stored = put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await;
    assert_stored(&stored);

    let id = id_of(&record);
    let completed = app.complete("alice", &id).await;
    assert_eq!(completed.status(), StatusCode::OK);
    let completed: Value = completed.json().await.expect("json");
    assert_eq!(completed["status"], "completed");
    assert!(completed["completedAt"].is_string());

    // Completing again changes nothing.
    let again: Value = app.complete("alice", &id).await.json().await.expect("json");
    assert_eq!(again, completed);

    let fetched = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(fetched, completed);
    assert_eq!(app.download("alice", &id).await, PNG);
}

#[tokio::test]
async fn a_post_form_upload_completes() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::start().await;
    let record = app
        .create("alice", json!({"filename": "doc.pdf", "contentType": "application/pdf", "size": PDF.len(), "method": "POST"}))
        .await;
    let upload = &record["upload"];
    assert_eq!(upload["method"], "POST");
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in upload["fields"].as_object().expect("fields") {
        form = form.text(name.clone(), value.as_str().expect("string").to_owned());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("doc.pdf"),
    );
    let response = app
        .client
        .post(upload["url"].as_str().expect("url"))
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert!(response.status().is_success(), "{}", response.status());

    let id = id_of(&record);
    assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);
    assert_eq!(app.download("alice", &id).await, PDF);
}

#[tokio::test]
async fn a_spoofed_type_is_rejected_at_completion_and_deleted() {
    let app = TestApp::start().await;
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>".to_vec();
    let record = app.create_put("alice", "image/png", &html).await;
    assert_stored(&put_as_instructed(&app.client, &record, html, &[]).await);

    let id = id_of(&record);
    let response = app.complete("alice", &id).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let rejected: Value = response.json().await.expect("json");
    assert_eq!(rejected["status"], "rejected");
    let reason = rejected["rejectReason"].as_str().expect("reason");
    assert!(reason.contains("image/png"), "{reason}");

    let key = rejected["key"].as_str().expect("key");
    assert_eq!(app.store().head(key).await.expect("head"), None);
    let staging = format!("staging/{}", id.replace('-', ""));
    assert_eq!(app.store().head(&staging).await.expect("head"), None);
    // Rejection is final, and repeating the call says so again.
    assert_eq!(
        app.complete("alice", &id).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let download = app
        .get("alice", &format!("/v1/uploads/{id}/download"))
        .await;
    assert_eq!(download.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn replaying_the_url_after_completion_cannot_replace_the_object() {
    let app = TestApp::start().await;
    let record = app.send_png("alice").await;
    let id = id_of(&record);
    assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);

    // Same length and type, other content: what an attacker holding the URL can send.
    let mut evil = vec![b'X'; PNG.len()];
    evil[..PNG.len().min(4)].copy_from_slice(b"MZ\x90\0");
    // The URL is still valid: the replay lands (in staging), or this test
    // would prove nothing.
    let replay = put_as_instructed(&app.client, &record, evil, &[]).await;
    assert!(replay.status().is_success(), "{}", replay.status());
    let staged = app.record(&id).await.staging_key;
    assert!(app.store().head(&staged).await.expect("head").is_some());
    let again = app.complete("alice", &id).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(app.download("alice", &id).await, PNG);
}

#[tokio::test]
async fn completing_before_uploading_is_a_conflict() {
    let app = TestApp::start().await;
    let record = app.create_put("alice", "image/png", PNG).await;
    let response = app.complete("alice", &id_of(&record)).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(problem(response).await["code"], "object_missing");
    let pending: Value = app
        .get("alice", &format!("/v1/uploads/{}", id_of(&record)))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(pending["status"], "pending");
}

#[tokio::test]
async fn an_aborted_upload_cannot_complete() {
    let app = TestApp::start().await;
    let record = app.send_png("alice").await;
    let id = id_of(&record);
    let aborted = app.delete("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(aborted.status(), StatusCode::OK);
    assert_eq!(
        aborted.json::<Value>().await.expect("json")["status"],
        "aborted"
    );
    // Idempotent.
    assert_eq!(
        app.delete("alice", &format!("/v1/uploads/{id}"))
            .await
            .status(),
        StatusCode::OK
    );

    let response = app.complete("alice", &id).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(problem(response).await["code"], "upload_not_pending");
}

#[tokio::test]
async fn deleting_a_completed_upload_deletes_it_rather_than_aborting() {
    let app = TestApp::start().await;
    let record = app.send_png("alice").await;
    let id = id_of(&record);
    assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);
    let response = app.delete("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let record: serde_json::Value = response.json().await.expect("json");
    assert_eq!(record["status"], "deleted");
}

#[tokio::test]
async fn a_cancel_that_comes_after_the_completion_keeps_the_file() {
    let app = TestApp::start().await;
    let record = app.send_png("alice").await;
    let id = id_of(&record);
    assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);
    let response = app
        .delete("alice", &format!("/v1/uploads/{id}?cancel=true"))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(problem(response).await["code"], "upload_finished");
    assert_eq!(app.download("alice", &id).await, PNG);
}

#[tokio::test]
async fn another_users_upload_does_not_exist_for_them() {
    let app = TestApp::start().await;
    let record = app.send_png("alice").await;
    let id = id_of(&record);

    for response in [
        app.get("mallory", &format!("/v1/uploads/{id}")).await,
        app.complete("mallory", &id).await,
        app.get("mallory", &format!("/v1/uploads/{id}/download"))
            .await,
        app.delete("mallory", &format!("/v1/uploads/{id}")).await,
    ] {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(problem(response).await["code"], "upload_not_found");
    }
    // Indistinguishable from an id that never existed.
    let missing = app
        .get("mallory", &format!("/v1/uploads/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let listed = app.get_json("mallory", "/v1/uploads").await;
    assert_eq!(listed["items"], json!([]));
    // Alice's upload is untouched.
    let own = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(own["status"], "pending");
}

#[tokio::test]
async fn listing_pages_newest_first_and_filters_by_status() {
    let app = TestApp::start().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(id_of(&app.create_put("alice", "image/png", PNG).await));
    }
    let done = app.create_put("alice", "image/png", PNG).await;
    put_as_instructed(&app.client, &done, PNG.to_vec(), &[]).await;
    assert_eq!(
        app.complete("alice", &id_of(&done)).await.status(),
        StatusCode::OK
    );
    ids.push(id_of(&done));
    ids.reverse();

    let mut seen = Vec::new();
    let mut path = "/v1/uploads?limit=4".to_owned();
    loop {
        let page = app.get_json("alice", &path).await;
        for item in page["items"].as_array().expect("items") {
            seen.push(id_of(item));
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/uploads?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let completed = app.get_json("alice", "/v1/uploads?status=completed").await;
    assert_eq!(completed["items"].as_array().map(Vec::len), Some(1));

    for bad in [
        "/v1/uploads?status=done",
        "/v1/uploads?limit=0",
        "/v1/uploads?limit=999",
        "/v1/uploads?cursor=x",
    ] {
        let response = app.get("alice", bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// What a completion that died after copying the staged object to its final
/// key (and deleting the staged one) leaves is checked on the next try: kept
/// when it passes, deleted when it does not.
#[tokio::test]
async fn an_object_promoted_before_a_crash_is_checked_on_the_next_try() {
    let app = TestApp::start().await;
    let html = b"<html>not a picture at all</html>".to_vec();
    for (bytes, expected) in [(PNG.to_vec(), "completed"), (html, "rejected")] {
        let record = app.create_put("alice", "image/png", &bytes).await;
        let sent = put_as_instructed(&app.client, &record, bytes, &[]).await;
        assert_stored(&sent);
        let id = id_of(&record);
        let upload = app.record(&id).await;
        let staged = app
            .store()
            .head(&upload.staging_key)
            .await
            .expect("head")
            .expect("staged");
        app.store()
            .copy(&upload.staging_key, &upload.key, &staged.etag, None)
            .await
            .expect("copy");
        app.store()
            .delete(&upload.staging_key)
            .await
            .expect("delete");

        let done: Value = app.complete("alice", &id).await.json().await.expect("json");
        assert_eq!(done["status"], expected, "{done}");
        let kept = app.store().head(&upload.key).await.expect("head").is_some();
        assert_eq!(kept, expected == "completed");
    }
}
