//! The client as an application's backend: an API key acting for a user,
//! and an admin key finding uploads by their metadata.

use std::collections::BTreeMap;

use uploadgate_client::Api;
use uploadgate_client::types::{CreateUpload, ListQuery};
use uploadgate_testkit::{Scope, TestApp};

#[tokio::test]
async fn a_backend_creates_for_a_user_and_finds_uploads_by_metadata() {
    let app = TestApp::start().await;
    let key = app
        .api_key("backend", &[Scope::Uploads, Scope::Admin])
        .await;

    let for_bob = Api::new(&app.base, &key).expect("api").acting_for("bob");
    let request = CreateUpload {
        filename: "invoice.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1234,
        profile: None,
        checksum_sha256: None,
        method: None,
        metadata: Some(BTreeMap::from([("order".into(), "A-17".into())])),
    };
    let created = for_bob.create(&request).await.expect("create");
    assert_eq!(created.owner, "bob");
    // Creation went with an Idempotency-Key, so its retries are safe.
    let keys = app
        .state()
        .uploads
        .db
        .idempotency()
        .drop_keys(time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .await
        .expect("the database answers");
    assert_eq!(keys, 1, "the client sends one key per creation");
    assert_eq!(for_bob.get(created.id).await.expect("get").id, created.id);

    let admin = Api::new(&app.base, &key).expect("api");
    let by_order = |order: &str| ListQuery {
        metadata: Some(("order".into(), order.into())),
        ..ListQuery::default()
    };
    let found = admin.list(&by_order("A-17")).await.expect("list");
    assert_eq!(
        found.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [created.id]
    );
    assert!(
        admin
            .list(&by_order("B-2"))
            .await
            .expect("list")
            .items
            .is_empty()
    );
    let later = ListQuery {
        created_after: Some(time::OffsetDateTime::now_utc() + time::Duration::hours(1)),
        ..ListQuery::default()
    };
    assert!(admin.list(&later).await.expect("list").items.is_empty());
}
