//! What uploadgate relies on from an `UploadRepo`, run against SQLite and, with
//! `UPLOADGATE_TEST_DATABASE_URL`, PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use uploadgate_api::UploadStatus;
use uploadgate_server::db::{self, ListFilter, PgRepo, SqliteRepo, Transition, Upload, UploadRepo};
use uuid::Uuid;

use crate::test_app::test_database;

async fn repo(dir: &tempfile::TempDir) -> Arc<dyn UploadRepo> {
    match test_database().await {
        Some(url) => Arc::new(PgRepo::connect(&url).await.expect("connect")),
        None => {
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            Arc::new(SqliteRepo::connect(&url).await.expect("connect"))
        }
    }
}

fn upload(owner: &str) -> Upload {
    let id = Uuid::now_v7();
    let now = db::now();
    Upload {
        id,
        owner: owner.into(),
        profile: "default".into(),
        filename: "a.png".into(),
        content_type: "image/png".into(),
        size: None,
        checksum_sha256: None,
        method: "POST".into(),
        key: format!("uploads/{owner}/{}", id.simple()),
        staging_key: format!("staging/{}", id.simple()),
        status: UploadStatus::Pending,
        metadata: BTreeMap::from([("k".into(), "v".into())]),
        reject_reason: None,
        created_at: now,
        expires_at: now + Duration::from_secs(60),
        completed_at: None,
        multipart: None,
    }
}

fn to(status: UploadStatus) -> Transition {
    Transition {
        to: status,
        at: db::now(),
        reject_reason: None,
        size: Some(42),
    }
}

#[tokio::test]
async fn records_round_trip_and_stay_with_their_owner() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let mine = upload("alice");
    repo.insert(&mine).await.expect("insert");
    assert_eq!(
        repo.find(mine.id, "alice").await.expect("find"),
        Some(mine.clone())
    );
    assert_eq!(repo.find(mine.id, "bob").await.expect("find"), None);
    assert_eq!(
        repo.find_by_key("alice", &mine.key).await.expect("find"),
        Some(mine.clone())
    );
    assert_eq!(
        repo.find_by_key("bob", &mine.key).await.expect("find"),
        None
    );
    let duplicate = Upload {
        id: Uuid::now_v7(),
        ..mine.clone()
    };
    assert!(repo.insert(&duplicate).await.is_err(), "keys are unique");

    let listed = repo
        .list(
            "alice",
            &ListFilter {
                status: Some(UploadStatus::Pending),
                before: None,
                limit: 10,
            },
        )
        .await
        .expect("list");
    assert_eq!(listed, [mine]);
    repo.ping().await.expect("ping");
}

#[tokio::test]
async fn transitions_apply_once_and_fill_an_undeclared_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let u = upload("alice");
    repo.insert(&u).await.expect("insert");
    let (complete, abort) = (to(UploadStatus::Completed), to(UploadStatus::Aborted));
    let (a, b) = tokio::join!(
        repo.transition(u.id, UploadStatus::Pending, &complete),
        repo.transition(u.id, UploadStatus::Pending, &abort),
    );
    assert!(a.expect("a") ^ b.expect("b"), "exactly one transition wins");
    let found = repo
        .find(u.id, "alice")
        .await
        .expect("find")
        .expect("exists");
    assert!(found.status.is_final());
    assert_eq!(found.size, Some(42));
}

#[tokio::test]
async fn one_completion_claim_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let u = upload("alice");
    repo.insert(&u).await.expect("insert");
    let now = db::now();
    let lease = now + Duration::from_secs(60);
    let (a, b) = tokio::join!(
        repo.claim_completion(u.id, now, lease),
        repo.claim_completion(u.id, now, lease),
    );
    assert!(a.expect("a") ^ b.expect("b"), "exactly one claim wins");
    assert!(
        !repo
            .claim_completion(u.id, now, lease)
            .await
            .expect("claim")
    );
    // An expired claim (a node that died) can be taken over.
    let later = lease + Duration::from_secs(1);
    assert!(
        repo.claim_completion(u.id, later, later + Duration::from_secs(60))
            .await
            .expect("claim")
    );
    repo.release_completion(u.id).await.expect("release");
    assert!(
        repo.claim_completion(u.id, now, lease)
            .await
            .expect("claim after release")
    );
    repo.release_completion(u.id).await.expect("release");
    repo.transition(u.id, UploadStatus::Pending, &to(UploadStatus::Completed))
        .await
        .expect("complete");
    assert!(
        !repo
            .claim_completion(u.id, now, lease)
            .await
            .expect("claim"),
        "final uploads are not claimed"
    );
}
