//! Abandoned uploads are expired and their storage freed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use uploadgate_server::janitor;

use uploadgate_testkit::{PNG, TestApp, assert_stored, id_of, problem, put_as_instructed, strings};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn stale_uploads_expire_and_lose_their_storage() {
    let app = TestApp::builder()
        .configure(|c| {
            c.janitor.interval = Duration::from_secs(3600);
            c.janitor.grace = Duration::ZERO;
            c.janitor.multipart_ttl = Duration::from_secs(2);
        })
        // X-Amz-Date keeps whole seconds, so a URL may lose up to one of its
        // url_ttl: 2 s leaves the PUT below at least one.
        .profile("brief", |p| {
            p.content_types = strings(["image/png"]);
            p.url_ttl = Duration::from_secs(2);
        })
        .profile("video", |p| {
            p.content_types = strings(["application/octet-stream"]);
            p.max_size = 20 * uploadgate_testkit::MIB;
            p.multipart_threshold = 5 * uploadgate_testkit::MIB;
            p.part_size = Some(5 * uploadgate_testkit::MIB);
        })
        .start()
        .await;

    let single = app
        .create("alice", json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "profile": "brief"}))
        .await;
    assert_stored(&put_as_instructed(&app.client, &single, PNG.to_vec(), &[]).await);

    let multi = app
        .create("alice", json!({"filename": "v.bin", "contentType": "application/octet-stream", "size": 6 * MIB, "profile": "video"}))
        .await;
    let multi_id = id_of(&multi);
    let signed: serde_json::Value = app
        .post_json(
            "alice",
            &format!("/v1/uploads/{multi_id}/parts"),
            &json!({"partNumbers": [1, 2]}),
        )
        .await
        .json()
        .await
        .expect("json");
    let first = uploadgate_testkit::put_part_as_instructed(
        &app.client,
        &signed["parts"][0],
        vec![1u8; 5 * MIB],
    )
    .await
    .expect("put");
    assert_stored(&first);

    // Created, never sent: nothing to verify.
    let unsent = app
        .create("alice", json!({"filename": "b.png", "contentType": "image/png", "size": PNG.len(), "profile": "brief"}))
        .await;

    let fresh = app.create_put("alice", "image/png", PNG).await;

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let sweep = janitor::sweep(&app.state().uploads).await.expect("sweep");
    assert_eq!(
        (sweep.expired, sweep.verified, sweep.cleanup_failures),
        (2, 1, 0)
    );
    assert_eq!(
        janitor::sweep(&app.state().uploads)
            .await
            .expect("sweep")
            .expired,
        0,
        "idempotent"
    );

    for id in [id_of(&unsent), multi_id.clone()] {
        let record = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
        assert_eq!(record["status"], "expired", "{record}");
        let response = app.complete("alice", &id).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
    }
    // Sent but never completed (as Uppy's form uploads are): its URL has
    // expired, so what landed is final; it is verified, not thrown away.
    let record = app
        .get_json("alice", &format!("/v1/uploads/{}", id_of(&single)))
        .await;
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(app.download("alice", &id_of(&single)).await, PNG);
    let staging = format!("staging/{}", id_of(&single).replace('-', ""));
    assert_eq!(app.store().head(&staging).await.expect("head"), None);

    // The multipart upload is gone from storage: its parts no longer land
    // on S3; Azure and GCS take blocks (parts) until the URL expires, but
    // hold none from before the expiry and never assemble a late one.
    if uploadgate_testkit::engines::s3_store() {
        let url = signed["parts"][1]["url"].as_str().expect("url");
        let late = app.client.put(url).body(vec![2u8; MIB]).send().await;
        uploadgate_testkit::assert_refused_by_storage(late);
    } else {
        let upload = app.record(&multi_id).await;
        let upload_id = &upload.multipart.as_ref().expect("multipart").upload_id;
        let held = app.store().list_parts(&upload.key, upload_id).await;
        assert_eq!(
            held.expect("listed"),
            [],
            "the expired upload's blocks were dropped"
        );
    }
    let resign = app
        .post_json(
            "alice",
            &format!("/v1/uploads/{multi_id}/parts"),
            &json!({"partNumbers": [2]}),
        )
        .await;
    assert_eq!(resign.status(), StatusCode::CONFLICT);
    assert_eq!(problem(resign).await["code"], "upload_not_pending");

    let untouched = app
        .get_json("alice", &format!("/v1/uploads/{}", id_of(&fresh)))
        .await;
    assert_eq!(untouched["status"], "pending");
}

#[tokio::test]
async fn the_running_server_sweeps_on_its_own() {
    let app = TestApp::builder()
        .configure(|c| {
            c.janitor.interval = Duration::from_millis(200);
            c.janitor.grace = Duration::ZERO;
        })
        .profile("brief", |p| {
            p.content_types = strings(["image/png"]);
            p.url_ttl = Duration::from_secs(1);
        })
        .start()
        .await;
    let upload = app
        .create("alice", json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "profile": "brief"}))
        .await;
    let path = format!("/v1/uploads/{}", id_of(&upload));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = app.get_json("alice", &path).await["status"].clone();
        if status == "expired" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} 10 s after its deadline"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn multipart_uploads_nobody_owns_are_aborted_and_others_kept() {
    let app = TestApp::builder()
        .configure(|c| {
            c.janitor.interval = Duration::from_secs(3600);
            c.janitor.grace = Duration::ZERO;
        })
        .profile("video", |p| {
            p.content_types = strings(["application/octet-stream"]);
            p.max_size = 20 * uploadgate_testkit::MIB;
            p.multipart_threshold = 5 * uploadgate_testkit::MIB;
            p.part_size = Some(5 * uploadgate_testkit::MIB);
        })
        .start()
        .await;
    let store = app.store();
    // As if the server died between starting it in storage and recording it.
    let orphan_key = format!("uploads/alice/{}.bin", uuid::Uuid::now_v7().simple());
    let orphan = store
        .create_multipart(&orphan_key, "application/octet-stream", None)
        .await
        .expect("create");
    // Another application's upload in the same bucket.
    let foreign = store
        .create_multipart("backups/db.tar", "application/x-tar", None)
        .await
        .expect("create");
    let owned = app
        .create("alice", json!({"filename": "v.bin", "contentType": "application/octet-stream", "size": 6 * MIB, "profile": "video"}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let sweep = janitor::sweep(&app.state().uploads).await.expect("sweep");
    assert_eq!(sweep.expired, 0);
    if !sweep.reconciled {
        // The embedded store (s3s-fs) answers 501 to ListMultipartUploads; Garage lists.
        assert!(std::env::var_os("UPLOADGATE_TEST_S3_ENDPOINT").is_none());
        assert!(store.list_parts(&orphan_key, &orphan).await.is_ok());
        return;
    }
    assert_eq!((sweep.orphans_aborted, sweep.cleanup_failures), (1, 0));
    assert!(matches!(
        store.list_parts(&orphan_key, &orphan).await,
        Err(uploadgate_server::storage::StorageError::NoSuchUpload)
    ));
    assert!(store.list_parts("backups/db.tar", &foreign).await.is_ok());
    let parts = app
        .post_json(
            "alice",
            &format!("/v1/uploads/{}/parts", id_of(&owned)),
            &json!({"partNumbers": [1]}),
        )
        .await;
    assert_eq!(
        parts.status(),
        StatusCode::OK,
        "the recorded upload lives on"
    );
    store
        .abort_multipart("backups/db.tar", &foreign)
        .await
        .expect("tidy up");
}

/// A presigned URL stays valid until it expires, so a client can PUT to it
/// again after its upload settled; the janitor deletes what lands there.
#[tokio::test]
async fn objects_put_after_an_upload_settled_are_deleted_by_the_janitor() {
    let app = TestApp::start().await;
    let done = app.send_png("alice").await;
    let id = id_of(&done);
    assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);
    let aborted = app.create_put("alice", "image/png", PNG).await;
    assert_eq!(
        app.delete("alice", &format!("/v1/uploads/{}", id_of(&aborted)))
            .await
            .status(),
        StatusCode::OK
    );
    let waiting = app.send_png("alice").await;
    for record in [&done, &aborted, &waiting] {
        let again = put_as_instructed(&app.client, record, PNG.to_vec(), &[]).await;
        assert_stored(&again);
    }
    let sweep = janitor::sweep(&app.state().uploads).await.expect("sweep");
    assert_eq!(sweep.staged_deleted, 2, "{sweep:?}");
    for (record, kept) in [(&done, false), (&aborted, false), (&waiting, true)] {
        let upload = app.record(&id_of(record)).await;
        let staged = app.store().head(&upload.staging_key).await.expect("head");
        assert_eq!(staged.is_some(), kept, "{}", upload.status.as_str());
    }
    assert_eq!(app.download("alice", &id).await, PNG);
}
