//! What differs on Google Cloud Storage, run when the suite's store is GCS
//! (fake-gcs-server behind scripts/engines/gcs-front in CI). The emulator
//! checks no signature; its front recomputes every V4 signature with
//! Google's own client library, checks the signed size bound, and grants
//! and checks OAuth2 tokens, so these tests see GCS's refusals. Each
//! returns at once on another store.

use reqwest::StatusCode;
use serde_json::Value;
use uploadgate_testkit::{PNG, TestApp, assert_stored, engines, id_of, put_as_instructed};

/// The front's counters.
async fn front_stats(app: &TestApp) -> Value {
    let endpoint = std::env::var("UPLOADGATE_TEST_GCS_ENDPOINT").expect("the front");
    app.client
        .get(format!("{endpoint}/_front/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

fn count(stats: &Value, name: &str) -> u64 {
    stats[name].as_u64().expect("a count")
}

#[tokio::test]
async fn every_url_handed_out_verifies_under_googles_own_signer() {
    if !engines::gcs_store() {
        return;
    }
    let app = TestApp::start().await;
    let before = front_stats(&app).await;

    let record = app.create_put("alice", "image/png", PNG).await;
    let upload = &record["upload"];
    assert!(
        upload["url"]
            .as_str()
            .expect("url")
            .contains("X-Goog-Algorithm=GOOG4-RSA-SHA256")
    );
    assert_eq!(
        upload["headers"]["x-goog-content-length-range"],
        format!("{0},{0}", PNG.len())
    );
    // One byte more, or less, than declared: GCS refuses either.
    for body in [[PNG, b"x"].concat(), PNG[..PNG.len() - 1].to_vec()] {
        let wrong = put_as_instructed(&app.client, &record, body, &[]).await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    }
    // Another type than the one signed.
    let retyped = put_as_instructed(
        &app.client,
        &record,
        PNG.to_vec(),
        &[("content-type", "text/html")],
    )
    .await;
    assert_eq!(retyped.status(), StatusCode::FORBIDDEN);
    assert_stored(&put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await);
    let id = id_of(&record);
    assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);

    let link = app
        .get_json("alice", &format!("/v1/uploads/{id}/download"))
        .await;
    let object = app
        .client
        .get(link["url"].as_str().expect("url"))
        .send()
        .await
        .expect("download");
    assert_eq!(object.status(), StatusCode::OK);
    let disposition = object.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_eq!(object.bytes().await.expect("body"), PNG);

    let after = front_stats(&app).await;
    assert!(
        count(&after, "verified") >= count(&before, "verified") + 2,
        "{after}"
    );
    assert!(
        count(&after, "refused") >= count(&before, "refused") + 3,
        "{after}"
    );
    assert!(
        count(&after, "tokens_issued") >= 1,
        "the server's calls carry granted tokens: {after}"
    );
}
