//! What uploadgate relies on from an `ObjectStore`, checked against the store
//! the suite runs on (the embedded store, or Garage): the same assertions for
//! every backend uploadgate supports.

use std::time::Duration;

use reqwest::StatusCode;
use uploadgate_server::storage::{PartTarget, StorageError, UploadTarget};

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
    assert!(response.status().is_success(), "{}", response.status());
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

/// PUTs `body` as part `number` of `upload_id` through a presigned URL; the
/// store's status.
async fn put_part(
    app: &TestApp,
    key: &str,
    upload_id: &str,
    number: u32,
    body: &[u8],
) -> StatusCode {
    let signed = app
        .store()
        .presign_parts(
            key,
            upload_id,
            &[PartTarget {
                part_number: number,
                size: Some(body.len() as u64),
                checksum_sha256: None,
            }],
            Duration::from_secs(60),
        )
        .await
        .expect("presign");
    let mut request = app.client.put(&signed[0].url).body(body.to_vec());
    for (name, value) in &signed[0].headers {
        request = request.header(name, value);
    }
    request.send().await.expect("the store answers").status()
}

/// A multipart upload that was completed or aborted is gone for good, and
/// says so as S3 does (404 `NoSuchUpload`), never as a refusal: a client
/// resuming one must be able to tell "finished" from "forbidden".
#[tokio::test]
async fn a_finished_multipart_upload_is_no_such_upload_for_every_call() {
    let app = TestApp::start().await;
    let store = app.store();
    if !store.capabilities().s3_multipart {
        return finished_block_uploads(&app).await;
    }
    let base = format!("conformance/{}", uuid::Uuid::new_v4().simple());
    for finish in ["complete", "abort"] {
        let key = format!("{base}/{finish}");
        let upload_id = store
            .create_multipart(&key, "application/octet-stream", None)
            .await
            .expect("create");
        assert_eq!(
            put_part(&app, &key, &upload_id, 1, b"one part").await,
            StatusCode::OK
        );
        let parts = store.list_parts(&key, &upload_id).await.expect("list");
        assert_eq!(parts.len(), 1);
        if finish == "complete" {
            store
                .complete_multipart(
                    &key,
                    &upload_id,
                    "application/octet-stream",
                    &[(1, parts[0].etag.clone())],
                )
                .await
                .expect("complete");
        } else {
            store
                .abort_multipart(&key, &upload_id)
                .await
                .expect("abort");
        }

        let status = put_part(&app, &key, &upload_id, 2, b"late part").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a part PUT after {finish}");
        assert!(
            matches!(
                store.list_parts(&key, &upload_id).await,
                Err(StorageError::NoSuchUpload)
            ),
            "ListParts after {finish}"
        );
        assert!(
            matches!(
                store
                    .complete_multipart(
                        &key,
                        &upload_id,
                        "application/octet-stream",
                        &[(1, parts[0].etag.clone())]
                    )
                    .await,
                Err(StorageError::NoSuchUpload)
            ),
            "CompleteMultipartUpload after {finish}"
        );
        store
            .abort_multipart(&key, &upload_id)
            .await
            .expect("aborting what is gone succeeds");
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    assert!(matches!(
        store.list_parts(&format!("{base}/never"), &unknown).await,
        Err(StorageError::NoSuchUpload)
    ));
    assert_eq!(
        put_part(&app, &format!("{base}/never"), &unknown, 1, b"x").await,
        StatusCode::NOT_FOUND
    );
}

/// Azure's version of the above (it has no upload sessions, only a blob's
/// blocks): a completed upload is the committed blob, which aborting leaves
/// alone and whose parts are no such upload, as on S3; an aborted one
/// leaves neither a blob nor a block.
async fn finished_block_uploads(app: &TestApp) {
    let store = app.store();
    let base = format!("conformance/{}", uuid::Uuid::new_v4().simple());
    for finish in ["complete", "abort"] {
        // Ending in an upload id, as every key uploadgate makes (Azure puts the
        // blocks on that upload's staging blob).
        let key = format!("{base}/{finish}-{}", uuid::Uuid::now_v7().simple());
        let upload_id = store
            .create_multipart(&key, "application/octet-stream", None)
            .await
            .expect("create");
        let status = put_part(app, &key, &upload_id, 1, b"one part").await;
        assert!(status.is_success(), "{status}");
        let parts = store.list_parts(&key, &upload_id).await.expect("list");
        assert_eq!((parts.len(), parts[0].size), (1, 8));
        assert_eq!(
            store.head(&key).await.expect("head"),
            None,
            "not assembled yet"
        );
        if finish == "complete" {
            store
                .complete_multipart(&key, &upload_id, "video/mp4", &[(1, parts[0].etag.clone())])
                .await
                .expect("complete");
        }
        store
            .abort_multipart(&key, &upload_id)
            .await
            .expect("abort");
        let listed = store.list_parts(&key, &upload_id).await;
        let head = store.head(&key).await.expect("head");
        if finish == "complete" {
            assert!(
                matches!(listed, Err(StorageError::NoSuchUpload)),
                "{listed:?}"
            );
            let head = head.expect("aborting leaves an assembled blob alone");
            assert_eq!(
                (head.size, head.content_type.as_deref()),
                (8, Some("video/mp4"))
            );
        } else {
            assert_eq!(
                listed.expect("list"),
                [],
                "an aborted upload leaves no block"
            );
            assert_eq!(head, None, "an aborted upload leaves no blob");
        }
    }
}

/// Nothing the embedded store keeps about an object outlives it: its side
/// files name the key (the owner's id) and hold the file's MD5.
#[tokio::test]
async fn a_deleted_object_leaves_no_file_behind_in_the_embedded_store() {
    if uploadgate_testkit::engines::external_store() {
        return;
    }
    let app = TestApp::start().await;
    let store = app.store();
    let root = app.config().data_dir.join("store");
    let files = || -> Vec<String> {
        let mut names = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
                if entry.file_type().expect("type").is_dir() {
                    dirs.push(entry.path());
                } else {
                    names.push(entry.path().display().to_string());
                }
            }
        }
        names.sort();
        names
    };
    let before = files();
    let key = "conformance/users/alice/side-files";
    put(&app, key, PNG).await;
    let copy = "conformance/users/alice/side-files-copy";
    let etag = store.head(key).await.expect("head").expect("exists").etag;
    store.copy(key, copy, &etag, None).await.expect("copy");
    assert_ne!(files(), before);
    store.delete(key).await.expect("delete");
    store.delete(copy).await.expect("delete");
    assert_eq!(files(), before, "files outlived their object");
}
