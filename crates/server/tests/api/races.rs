//! Completion against what races it: a second PUT to the staging key, an
//! abort, a completer that died holding the claim.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::StatusCode;
use uploadgate_api::UploadStatus;
use uploadgate_server::db;
use uploadgate_server::storage::{
    Capabilities, ObjectHead, ObjectReader, ObjectStore, OpenMultipart, PartLimits, PartTarget,
    PresignedPart, PresignedPost, PresignedPut, Sse, StagedObject, StorageError, StoredPart,
    UploadTarget,
};
use uploadgate_server::uploads::COMPLETION_LEASE;
use uploadgate_testkit::{PNG, TestApp, id_of};

/// A store where a second PUT lands on the staging key right when it is
/// copied, and that ignores the copy's `If-Match`: what the embedded store
/// did now and then (it renames the new file into place before it records
/// its ETag), and what a store that does not honour the condition does always.
#[derive(Debug)]
struct SwapOnCopy {
    inner: Arc<dyn ObjectStore>,
    swap: Bytes,
}

#[async_trait]
impl ObjectStore for SwapOnCopy {
    async fn copy(
        &self,
        from: &str,
        to: &str,
        _etag: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        self.inner
            .put(from, self.swap.clone(), "image/png", sse)
            .await?;
        let now = self.inner.head(from).await?.expect("the swapped object");
        self.inner.copy(from, to, &now.etag, sse).await
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn part_limits(&self) -> PartLimits {
        self.inner.part_limits()
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn presign_put(&self, target: &UploadTarget<'_>) -> Result<PresignedPut, StorageError> {
        self.inner.presign_put(target).await
    }
    async fn presign_post(&self, target: &UploadTarget<'_>) -> Result<PresignedPost, StorageError> {
        self.inner.presign_post(target).await
    }
    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        self.inner.presign_get(key, filename, expires_in).await
    }
    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, StorageError> {
        self.inner.head(key).await
    }
    async fn read_start(&self, key: &str, etag: &str, len: u64) -> Result<Bytes, StorageError> {
        self.inner.read_start(key, etag, len).await
    }
    async fn open(&self, key: &str) -> Result<Option<ObjectReader>, StorageError> {
        self.inner.open(key).await
    }
    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        self.inner.put(key, body, content_type, sse).await
    }
    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.inner.delete(key).await
    }
    async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<String, StorageError> {
        self.inner.create_multipart(key, content_type, sse).await
    }
    async fn presign_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError> {
        self.inner
            .presign_parts(key, upload_id, parts, expires_in)
            .await
    }
    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        self.inner.list_parts(key, upload_id).await
    }
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        self.inner
            .complete_multipart(key, upload_id, content_type, parts)
            .await
    }
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        self.inner.abort_multipart(key, upload_id).await
    }
    async fn configure_bucket(&self, origins: &[String], days: u32) -> Result<(), StorageError> {
        self.inner.configure_bucket(origins, days).await
    }
    async fn cors_allows(&self, origin: &str) -> Result<Option<bool>, StorageError> {
        self.inner.cors_allows(origin).await
    }
    async fn list_multipart_uploads(
        &self,
        before: time::OffsetDateTime,
        limit: usize,
    ) -> Result<Option<Vec<OpenMultipart>>, StorageError> {
        self.inner.list_multipart_uploads(before, limit).await
    }
    async fn list_staged(&self, limit: usize) -> Result<Vec<StagedObject>, StorageError> {
        self.inner.list_staged(limit).await
    }
    async fn applies_sse(&self, sse: &Sse) -> Result<bool, StorageError> {
        self.inner.applies_sse(sse).await
    }
    async fn ping(&self) -> Result<(), StorageError> {
        self.inner.ping().await
    }
}

#[tokio::test]
async fn what_a_racing_put_swaps_in_is_checked_at_the_final_key_not_promoted() {
    let app = TestApp::start().await;
    let record = app.send_png("alice").await;
    let id = id_of(&record);
    // HTML of the PNG's length: the signed URL takes it.
    let html = Bytes::from(format!("<html>{}</html>", " ".repeat(PNG.len() - 13)));
    assert_eq!(html.len(), PNG.len());
    let mut uploads = app.state().uploads.clone();
    uploads.store = Arc::new(SwapOnCopy {
        inner: uploads.store.clone(),
        swap: html,
    });
    let upload = uploads
        .db
        .get(id.parse().expect("uuid"))
        .await
        .expect("get")
        .expect("recorded");
    let key = upload.key.clone();
    let done = uploads.complete(upload, None).await.expect("complete");
    assert_eq!(done.status, UploadStatus::Rejected, "{done:?}");
    assert!(
        done.reject_reason
            .as_deref()
            .is_some_and(|r| r.contains("image/png")),
        "{done:?}"
    );
    assert_eq!(app.store().head(&key).await.expect("head"), None);
}

#[tokio::test]
async fn abort_racing_completion_settles_one_way_with_no_object_left_or_5xx() {
    let app = TestApp::start().await;
    let (mut completed, mut aborted) = (0, 0);
    for round in 0..24u64 {
        let record = app.send_png("alice").await;
        let id = id_of(&record);
        let path = format!("/v1/uploads/{id}");
        // Each goes first in half the rounds, the other 0 to 11 ms later.
        let lag = Duration::from_millis(round % 12);
        let (complete_after, abort_after) = if round % 2 == 0 {
            (Duration::ZERO, lag)
        } else {
            (lag, Duration::ZERO)
        };
        let complete = async {
            tokio::time::sleep(complete_after).await;
            app.complete("alice", &id).await
        };
        // An abort, as the clients send it: a plain DELETE that comes after
        // the completion deletes the file instead, which is no race.
        let abort = async {
            tokio::time::sleep(abort_after).await;
            app.delete("alice", &format!("{path}?cancel=true")).await
        };
        let (complete, abort) = tokio::join!(complete, abort);
        let (complete, abort) = (complete.status(), abort.status());
        assert!(
            !complete.is_server_error() && !abort.is_server_error(),
            "round {round}: complete {complete}, abort {abort}"
        );
        let record = app.get_json("alice", &path).await;
        let key = record["key"].as_str().expect("key").to_owned();
        let object = app.store().head(&key).await.expect("head");
        match record["status"].as_str() {
            Some("completed") => {
                completed += 1;
                assert_eq!(complete, StatusCode::OK, "round {round}");
                assert_eq!(abort, StatusCode::CONFLICT, "round {round}");
                assert!(
                    object.is_some(),
                    "round {round}: the verified object is kept"
                );
            }
            Some("aborted") => {
                aborted += 1;
                assert_eq!(abort, StatusCode::OK, "round {round}");
                assert_eq!(complete, StatusCode::CONFLICT, "round {round}");
                assert_eq!(object, None, "round {round}: nothing left at the key");
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
    // Both orders happened: the race was run, not avoided.
    assert!(completed > 0 && aborted > 0, "{completed} / {aborted}");
}

#[tokio::test]
async fn a_dead_completers_claim_is_taken_over_once_its_lease_runs_out() {
    assert!(
        COMPLETION_LEASE <= Duration::from_secs(30),
        "an interrupted completion blocks its retries for {COMPLETION_LEASE:?}"
    );
    let app = TestApp::start().await;
    let record = app.send_png("alice").await;
    let id = id_of(&record);
    // What a node that died mid-completion leaves: a claim it renewed last
    // a moment ago, so it runs out in 3 s.
    let now = db::now();
    assert!(
        app.state()
            .uploads
            .db
            .claim_completion(
                id.parse().expect("uuid"),
                uuid::Uuid::new_v4(),
                now,
                now + Duration::from_secs(3)
            )
            .await
            .expect("claim")
    );
    let started = Instant::now();
    let response = app.complete("alice", &id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(10)).contains(&waited),
        "taken over after {waited:?}"
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "completed");
}
