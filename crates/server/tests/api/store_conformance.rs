//! What uploadgate relies on from an `ObjectStore`, checked against the embedded
//! store. The same assertions are meant for every backend uploadgate supports.

use std::time::Duration;

use reqwest::StatusCode;
use uploadgate_server::storage::{StorageError, UploadTarget};

use uploadgate_testkit::{PNG, TestApp};

async fn put(app: &TestApp, key: &str, body: &[u8]) {
    let target = UploadTarget {
        key,
        content_type: "image/png",
        size: body.len() as u64,
        min_size: body.len() as u64,
        checksum_sha256: None,
        expires_in: Duration::from_secs(60),
        sse: None,
    };
    let signed = app.store().presign_put(&target).await.expect("presign");
    let mut request = app.client.put(&signed.url).body(body.to_vec());
    for (name, value) in &signed.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("put");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn head_read_copy_and_delete_honour_etags() {
    let app = TestApp::start().await;
    let store = app.store();
    // Unique per run: an external bucket is shared by every test.
    let base = format!("conformance/{}", uuid::Uuid::new_v4().simple());
    let (missing, a, b) = (
        format!("{base}/missing"),
        format!("{base}/a"),
        format!("{base}/b"),
    );
    assert_eq!(store.head(&missing).await.expect("head"), None);
    store
        .delete(&missing)
        .await
        .expect("deleting nothing is fine");

    put(&app, &a, PNG).await;
    let head = store.head(&a).await.expect("head").expect("exists");
    assert_eq!(head.size, PNG.len() as u64);
    assert_eq!(head.content_type.as_deref(), Some("image/png"));
    assert!(!head.etag.is_empty());

    let start = store.read_start(&a, &head.etag, 8).await.expect("read");
    assert_eq!(&start[..], &PNG[..8]);
    let whole = store
        .read_start(&a, &head.etag, 1 << 20)
        .await
        .expect("read");
    assert_eq!(&whole[..], PNG);

    let stale = "\"00000000000000000000000000000000\"";
    let read = store.read_start(&a, stale, 8).await;
    assert!(matches!(read, Err(StorageError::Changed)), "{read:?}");
    assert!(matches!(
        store.copy(&a, &b, stale, None).await,
        Err(StorageError::Changed)
    ));
    assert_eq!(store.head(&b).await.expect("head"), None);

    store.copy(&a, &b, &head.etag, None).await.expect("copy");
    let copied = store.head(&b).await.expect("head").expect("copied");
    assert_eq!(copied.size, head.size);
    assert_eq!(copied.content_type.as_deref(), Some("image/png"));

    store.delete(&a).await.expect("delete");
    assert_eq!(store.head(&a).await.expect("head"), None);
    store.ping().await.expect("bucket reachable");
}
