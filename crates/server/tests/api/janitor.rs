//! Abandoned uploads are expired and their storage freed.

use reqwest::StatusCode;
use serde_json::json;
use uploadgate_server::janitor;

use crate::test_app::{PNG, TestApp, id_of, problem, put_as_instructed};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn stale_uploads_expire_and_lose_their_storage() {
    let app = TestApp::builder()
        .config("[janitor]\ninterval = \"1h\"\ngrace = \"0s\"\nmultipart_ttl = \"2s\"")
        .profile("brief", "content_types = [\"image/png\"]\nurl_ttl = \"1s\"")
        .profile(
            "video",
            "content_types = [\"application/octet-stream\"]\nmax_size = \"20MiB\"\nmultipart_threshold = \"5MiB\"\npart_size = \"5MiB\"",
        )
        .start()
        .await;

    let single = app
        .create("alice", json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "profile": "brief"}))
        .await;
    assert_eq!(
        put_as_instructed(&app.client, &single, PNG.to_vec(), &[])
            .await
            .status(),
        StatusCode::OK
    );

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
    let part = |n: usize| signed["parts"][n]["url"].as_str().expect("url").to_owned();
    let first = app
        .client
        .put(part(0))
        .body(vec![1u8; 5 * MIB])
        .send()
        .await
        .expect("put");
    assert_eq!(first.status(), StatusCode::OK);

    let fresh = app.create_put("alice", "image/png", PNG).await;

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let sweep = janitor::sweep(app.state()).await.expect("sweep");
    assert_eq!((sweep.expired, sweep.cleanup_failures), (2, 0));
    assert_eq!(
        janitor::sweep(app.state()).await.expect("sweep").expired,
        0,
        "idempotent"
    );

    for id in [id_of(&single), multi_id.clone()] {
        let record = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
        assert_eq!(record["status"], "expired", "{record}");
        let response = app.complete("alice", &id).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
    }
    let staging = format!("staging/{}", id_of(&single).replace('-', ""));
    assert_eq!(app.store().head(&staging).await.expect("head"), None);

    // The multipart upload is gone from storage: its parts no longer land.
    let late = app.client.put(part(1)).body(vec![2u8; MIB]).send().await;
    assert!(late.map_or(true, |r| r.status().is_client_error()));
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
