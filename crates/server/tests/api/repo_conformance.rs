//! What uploadgate relies on from an `UploadRepo`, run against SQLite and, with
//! `UPLOADGATE_TEST_DATABASE_URL`, PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use uploadgate_api::UploadStatus;
use uploadgate_api::{JobState, Processing, ProcessingState};
use uploadgate_server::config::Processor;
use uploadgate_server::db::{
    self, ApiKeyRecord, Database, GrantRecord, ListFilter, Method, NewJob, Outcome, Page, PgRepo,
    SqliteRepo, Transition, Upload, UsageQuery,
};
use uuid::Uuid;

use uploadgate_testkit::engines::test_database;

async fn repo(dir: &tempfile::TempDir) -> Arc<dyn Database> {
    match test_database().await {
        Some(url) => Arc::new(PgRepo::connect(&url).await.expect("connect")),
        None => {
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            Arc::new(SqliteRepo::connect(&url).await.expect("connect"))
        }
    }
}

pub(crate) fn upload(owner: &str) -> Upload {
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
        method: Method::Post,
        key: format!("uploads/{owner}/{}", id.simple()),
        staging_key: format!("staging/{}", id.simple()),
        status: UploadStatus::Pending,
        metadata: BTreeMap::from([("k".into(), "v".into())]),
        reject_reason: None,
        created_at: now,
        expires_at: now + Duration::from_secs(60),
        completed_at: None,
        multipart: None,
        processing: None,
        reserved: 0,
        grant: None,
        deleted_at: None,
        purged_at: None,
    }
}

/// The first page, of `limit` rows.
fn page(limit: u32) -> Page<Uuid> {
    Page {
        before: None,
        limit,
    }
}

fn to(status: UploadStatus) -> Transition {
    Transition {
        to: status,
        at: db::now(),
        reject_reason: None,
        size: Some(42),
        enqueue: None,
        claim: None,
        announce: Vec::new(),
        replace_pending: false,
    }
}

#[tokio::test]
async fn a_multipart_upload_is_owned_while_its_upload_is_in_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let mine = Upload {
        multipart: Some(db::Multipart {
            upload_id: "mp-1".into(),
            layout: None,
        }),
        ..upload("alice")
    };
    repo.insert(&mine).await.expect("insert");
    let owned = |key: String, upload_id: &'static str| {
        let repo = repo.clone();
        async move {
            repo.multipart_in_progress(&key, upload_id)
                .await
                .expect("query")
        }
    };
    assert!(owned(mine.key.clone(), "mp-1").await);
    assert!(!owned(mine.key.clone(), "mp-2").await, "another upload id");
    assert!(
        !owned(format!("elsewhere/{}", mine.id.simple()), "mp-1").await,
        "the same id under another key"
    );
    assert!(!owned(mine.staging_key.clone(), "mp-1").await);
    assert!(
        repo.transition(mine.id, UploadStatus::Pending, &to(UploadStatus::Expired))
            .await
            .expect("expire")
    );
    assert!(
        !owned(mine.key.clone(), "mp-1").await,
        "no longer in progress"
    );
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
    assert_eq!(
        repo.find_by_stored_key(&mine.staging_key)
            .await
            .expect("find"),
        Some(mine.clone())
    );
    // The same id under another prefix is another key.
    let elsewhere = format!("elsewhere/{}", mine.id.simple());
    assert_eq!(
        repo.find_by_stored_key(&elsewhere).await.expect("find"),
        None
    );
    assert_eq!(
        repo.find_by_key("alice", &elsewhere).await.expect("find"),
        None
    );
    // No index keeps keys unique; each key ending in its own id does.
    let duplicate = Upload {
        id: Uuid::now_v7(),
        ..mine.clone()
    };
    assert!(repo.insert(&duplicate).await.is_err(), "keys are unique");
    let same_id = Upload {
        key: format!("{}.png", mine.key),
        ..mine.clone()
    };
    assert!(repo.insert(&same_id).await.is_err(), "ids are unique");

    let listed = repo
        .list(
            Some("alice"),
            &ListFilter {
                status: Some(UploadStatus::Pending),
                page: page(10),
                ..ListFilter::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(listed, [mine]);
    repo.ping().await.expect("ping");
}

#[tokio::test]
async fn listings_filter_by_profile_creation_time_and_a_metadata_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let hour = Duration::from_secs(3600);
    let mut old = upload("alice");
    old.created_at -= 2 * hour;
    let mut avatar = upload("alice");
    avatar.profile = "avatars".into();
    avatar.metadata = BTreeMap::from([("tenant.id".into(), "acme".into())]);
    let mut other_tenant = upload("alice");
    other_tenant.metadata = BTreeMap::from([("tenant.id".into(), "globex".into())]);
    let bobs = upload("bob");
    for u in [&old, &avatar, &other_tenant, &bobs] {
        repo.insert(u).await.expect("insert");
    }
    let ids = |found: Vec<Upload>| found.into_iter().map(|u| u.id).collect::<Vec<_>>();
    let list = |owner: Option<&'static str>, filter: ListFilter| {
        let repo = repo.clone();
        async move {
            ids(repo
                .list(
                    owner,
                    &ListFilter {
                        page: page(10),
                        ..filter
                    },
                )
                .await
                .expect("list"))
        }
    };
    let profile = ListFilter {
        profile: Some("avatars".into()),
        ..ListFilter::default()
    };
    assert_eq!(list(Some("alice"), profile).await, [avatar.id]);
    let recent = ListFilter {
        created_from: Some(db::now() - hour),
        ..ListFilter::default()
    };
    assert_eq!(
        list(Some("alice"), recent).await,
        [other_tenant.id, avatar.id]
    );
    let older = ListFilter {
        created_until: Some(db::now() - hour),
        ..ListFilter::default()
    };
    assert_eq!(list(Some("alice"), older).await, [old.id]);
    // A key with a dot is one key, not a path into nested objects.
    let tenant = |value: &str| ListFilter {
        metadata: Some(("tenant.id".into(), value.into())),
        ..ListFilter::default()
    };
    assert_eq!(list(Some("alice"), tenant("acme")).await, [avatar.id]);
    assert_eq!(
        list(Some("alice"), tenant("initech")).await,
        Vec::<Uuid>::new()
    );
    // Everybody's (an administrator's), filtered the same way.
    assert_eq!(list(None, tenant("globex")).await, [other_tenant.id]);
    assert_eq!(list(None, ListFilter::default()).await.len(), 4);
}

#[tokio::test]
async fn concurrent_inserts_commit_together_and_a_bad_one_fails_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let mut uploads: Vec<Upload> = (0..50).map(|_| upload("alice")).collect();
    // The first one's id (and so its keys) with another name: the database
    // must refuse one of the two and commit all the others.
    uploads[7] = Upload {
        filename: "twin.png".into(),
        ..uploads[0].clone()
    };
    let results = futures::future::join_all(uploads.iter().map(|u| repo.insert(u))).await;
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.is_err().then_some(i))
        .collect();
    let kept = match failed[..] {
        [7] => 0,
        [0] => 7,
        _ => panic!("{failed:?}"),
    };
    for (i, u) in uploads.iter().enumerate() {
        let found = repo.find(u.id, "alice").await.expect("find");
        let expected = if i == 0 || i == 7 { &uploads[kept] } else { u };
        assert_eq!(found.as_ref(), Some(expected), "upload {i}");
    }
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
async fn usage_follows_every_transition_without_summing_all_uploads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let sized = |owner: &str, size: u64| Upload {
        size: Some(size),
        ..upload(owner)
    };
    let day_ago = db::now() - Duration::from_secs(86_400);
    // An undeclared size holds its reservation (the profile's max) until
    // completion records what landed.
    let undeclared = Upload {
        reserved: 500,
        grant: None,
        ..upload("alice")
    };
    let (big, theirs) = (sized("alice", 100), sized("bob", 50));
    // Two days old: still held, outside the day's count. Its id is of its time,
    // as the day's count finds uploads by id.
    let old_at = db::now() - Duration::from_secs(2 * 86_400);
    let old_ms = u64::try_from((old_at - time::OffsetDateTime::UNIX_EPOCH).whole_milliseconds())
        .expect("after 1970");
    let old_id = Uuid::new_v7(uuid::Timestamp::from_unix_time(old_ms / 1000, 0, 0, 0));
    let old = Upload {
        id: old_id,
        key: format!("uploads/alice/{}", old_id.simple()),
        staging_key: format!("staging/{}", old_id.simple()),
        created_at: old_at,
        ..sized("alice", 1_000)
    };
    // At once, so that they share a group: one statement, two owners.
    let inserts = [&big, &undeclared, &theirs, &old].map(|u| repo.insert(u));
    for inserted in futures::future::join_all(inserts).await {
        inserted.expect("insert");
    }
    let usage = |owner: &'static str| {
        let repo = repo.clone();
        async move {
            let query = UsageQuery {
                in_progress_up_to: 10,
                since: Some(day_ago),
            };
            let usage = repo.usage(owner, query).await.expect("usage");
            (usage.in_progress, usage.bytes_last_day, usage.bytes_held)
        }
    };
    assert_eq!(usage("alice").await, (3, 600, 1_600));
    // Only what a quota asks for is measured.
    let capped = UsageQuery {
        in_progress_up_to: 2,
        since: None,
    };
    let alice = repo.usage("alice", capped).await.expect("usage");
    assert_eq!(
        (alice.in_progress, alice.bytes_last_day, alice.bytes_held),
        (2, 0, 1_600)
    );

    // Completion records the size that landed (42, see `to`).
    assert!(
        repo.transition(
            undeclared.id,
            UploadStatus::Pending,
            &to(UploadStatus::Completed)
        )
        .await
        .expect("complete")
    );
    assert_eq!(usage("alice").await, (2, 142, 1_142));

    // Uploads that end without a file give their bytes back.
    for (u, status) in [
        (&big, UploadStatus::Rejected),
        (&old, UploadStatus::Expired),
    ] {
        let change = Transition {
            size: None,
            ..to(status)
        };
        assert!(
            repo.transition(u.id, UploadStatus::Pending, &change)
                .await
                .expect("end")
        );
    }
    assert_eq!(usage("alice").await, (0, 42, 42));
    assert_eq!(usage("bob").await, (1, 50, 50));
    assert_eq!(usage("carol").await, (0, 0, 0));
}

#[tokio::test]
async fn one_completion_claim_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let u = upload("alice");
    repo.insert(&u).await.expect("insert");
    let now = db::now();
    let lease = now + Duration::from_secs(60);
    let (first, second, third) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (a, b) = tokio::join!(
        repo.claim_completion(u.id, first, now, lease),
        repo.claim_completion(u.id, second, now, lease),
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert!(a ^ b, "exactly one claim wins");
    let (holder, loser) = if a { (first, second) } else { (second, first) };
    assert!(
        !repo
            .claim_completion(u.id, third, now, lease)
            .await
            .expect("claim")
    );
    // The holder renews its claim; nobody else can.
    let renewed = lease + Duration::from_secs(30);
    assert!(
        repo.renew_completion(u.id, holder, renewed)
            .await
            .expect("renew")
    );
    assert!(
        !repo
            .renew_completion(u.id, loser, renewed)
            .await
            .expect("renew")
    );
    // An expired claim (a node that died) can be taken over...
    let later = renewed + Duration::from_secs(1);
    assert!(
        repo.claim_completion(u.id, third, later, later + Duration::from_secs(60))
            .await
            .expect("claim")
    );
    // ...after which the old holder can neither renew it, nor release it, nor
    // record an outcome under it.
    assert!(
        !repo
            .renew_completion(u.id, holder, later + Duration::from_secs(120))
            .await
            .expect("renew")
    );
    repo.release_completion(u.id, holder)
        .await
        .expect("release");
    assert!(
        !repo
            .claim_completion(u.id, first, later, later + Duration::from_secs(1))
            .await
            .expect("claim"),
        "a stale holder's release leaves the new claim"
    );
    let stale = to(UploadStatus::Completed).claimed(holder);
    assert!(
        !repo
            .transition(u.id, UploadStatus::Pending, &stale)
            .await
            .expect("transition"),
        "a stale holder records nothing"
    );
    repo.release_completion(u.id, third).await.expect("release");
    assert!(
        repo.claim_completion(u.id, first, now, lease)
            .await
            .expect("claim after release")
    );
    let fenced = to(UploadStatus::Completed).claimed(first);
    assert!(
        repo.transition(u.id, UploadStatus::Pending, &fenced)
            .await
            .expect("complete"),
        "the holder records the outcome"
    );
    assert!(
        !repo
            .claim_completion(u.id, second, now, lease)
            .await
            .expect("claim"),
        "final uploads are not claimed"
    );
}

/// Every processor: the claims below come from a worker that runs them all.
const ALL: &[Processor] = &Processor::ALL;

/// Completes a fresh upload of `owner`, queueing a job of `kind` then `next`.
pub(crate) async fn completed_with_job(
    repo: &Arc<dyn Database>,
    kind: Processor,
    next: &[Processor],
) -> Upload {
    let u = upload("alice");
    repo.insert(&u).await.expect("insert");
    let mut change = to(UploadStatus::Completed);
    change.enqueue = Some(NewJob {
        kind,
        next: next.to_vec(),
    });
    assert!(
        repo.transition(u.id, UploadStatus::Pending, &change)
            .await
            .expect("transition")
    );
    u
}

#[tokio::test]
async fn each_job_is_claimed_once_and_its_successor_queued_with_its_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let mut uploads = Vec::new();
    for _ in 0..12 {
        uploads.push(completed_with_job(&repo, Processor::Scan, &[Processor::Thumbnail]).await);
    }
    let stored = repo.get(uploads[0].id).await.expect("get").expect("found");
    assert_eq!(
        stored.processing.map(|p| p.state),
        Some(ProcessingState::Processing)
    );

    // Four workers claim at once until nothing is left.
    let claimers = (0..4).map(|_| {
        let repo = repo.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let now = db::now();
                match repo
                    .jobs()
                    .claim(now, now + Duration::from_secs(60), ALL)
                    .await
                    .expect("claim")
                {
                    Some(job) => got.push(job),
                    None => return got,
                }
            }
        })
    });
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.expect("join"));
    }
    let mut ids: Vec<Uuid> = claimed.iter().map(|j| j.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (claimed.len(), ids.len()),
        (12, 12),
        "each job exactly once"
    );
    assert!(
        claimed.iter().all(|j| j.kind == Processor::Scan
            && j.attempts == 1
            && j.next == [Processor::Thumbnail])
    );

    let job = &claimed[0];
    let mut processing = Processing::started();
    processing.sha256 = Some("ab".repeat(32));
    let outcome = Outcome::Succeeded {
        processing,
        next: NewJob::pipeline(&job.next),
    };
    assert!(
        repo.jobs()
            .finish(job, &outcome, &[], db::now())
            .await
            .expect("finish")
    );
    let jobs = repo.jobs().jobs_of(job.upload_id).await.expect("jobs");
    let states: Vec<(&str, JobState)> = jobs.iter().map(|j| (j.kind.as_str(), j.state)).collect();
    assert_eq!(
        states,
        [("scan", JobState::Done), ("thumbnail", JobState::Queued)]
    );
    let stored = repo.get(job.upload_id).await.expect("get").expect("found");
    assert_eq!(
        stored.processing.and_then(|p| p.sha256),
        Some("ab".repeat(32))
    );
    // Finishing twice is refused: the lease went with the first outcome.
    assert!(
        !repo
            .jobs()
            .finish(job, &outcome, &[], db::now())
            .await
            .expect("finish")
    );
    let depth = repo.jobs().depth().await.expect("depth");
    assert_eq!((depth.queued, depth.running, depth.dead), (1, 11, 0));
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_its_old_holder_cannot_settle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let u = completed_with_job(&repo, Processor::Thumbnail, &[]).await;
    let now = db::now();
    let first = repo
        .jobs()
        .claim(now, now + Duration::from_secs(5), ALL)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(first.upload_id, u.id);
    assert!(
        repo.jobs()
            .claim(now, now + Duration::from_secs(5), ALL)
            .await
            .expect("claim")
            .is_none()
    );
    // Its worker died: after the lease, another takes it, as a second attempt.
    let later = now + Duration::from_secs(6);
    let second = repo
        .jobs()
        .claim(later, later + Duration::from_secs(5), ALL)
        .await
        .expect("claim")
        .expect("taken over");
    assert_eq!((second.id, second.attempts), (first.id, 2));
    assert!(
        !repo
            .jobs()
            .extend(&first, later + Duration::from_secs(60))
            .await
            .expect("extend")
    );
    let retry = Outcome::Retry {
        error: "boom".into(),
        retry_at: later,
    };
    assert!(
        !repo
            .jobs()
            .finish(&first, &retry, &[], later)
            .await
            .expect("finish"),
        "stale lease"
    );
    assert!(
        repo.jobs()
            .finish(&second, &retry, &[], later)
            .await
            .expect("finish")
    );
    let jobs = repo.jobs().jobs_of(u.id).await.expect("jobs");
    assert_eq!(
        (jobs[0].state, jobs[0].last_error.as_deref()),
        (JobState::Queued, Some("boom"))
    );

    // Out of attempts: dead, listed for its owner only, and retried on request.
    let third = repo
        .jobs()
        .claim(later, later + Duration::from_secs(5), ALL)
        .await
        .expect("claim")
        .expect("due");
    let mut failed = Processing::started();
    failed.state = ProcessingState::Failed;
    let dead = Outcome::Dead {
        error: "gave up".into(),
        processing: failed,
    };
    assert!(
        repo.jobs()
            .finish(&third, &dead, &[], later)
            .await
            .expect("finish")
    );
    let listed = repo
        .jobs()
        .jobs_in_state(Some("alice"), JobState::Dead, &page(10))
        .await
        .expect("list");
    assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), [first.id]);
    assert!(
        repo.jobs()
            .jobs_in_state(Some("bob"), JobState::Dead, &page(10))
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        !repo
            .jobs()
            .retry_dead("bob", first.id, later)
            .await
            .expect("retry")
    );
    assert!(
        repo.jobs()
            .retry_dead("alice", first.id, later)
            .await
            .expect("retry")
    );
    let stored = repo.get(u.id).await.expect("get").expect("found");
    assert_eq!(
        stored.processing.map(|p| p.state),
        Some(ProcessingState::Processing)
    );
    let again = repo
        .jobs()
        .claim(later, later + Duration::from_secs(5), ALL)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!((again.id, again.attempts), (first.id, 1));
}

#[tokio::test]
async fn a_worker_only_claims_the_processors_it_can_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let scan = completed_with_job(&repo, Processor::Scan, &[]).await;
    let thumbnail = completed_with_job(&repo, Processor::Thumbnail, &[]).await;
    let now = db::now();
    let until = now + Duration::from_secs(5);
    // No clamd here: the scan (older, so first in line) is left for another node.
    let claimed = repo
        .jobs()
        .claim(now, until, &[Processor::Sniff, Processor::Thumbnail])
        .await
        .expect("claim")
        .expect("the thumbnail job");
    assert_eq!(
        (claimed.upload_id, claimed.kind),
        (thumbnail.id, Processor::Thumbnail)
    );
    assert_eq!(
        repo.jobs()
            .claim(now, until, &[Processor::Sniff])
            .await
            .expect("claim"),
        None
    );
    let claimed = repo
        .jobs()
        .claim(now, until, &[Processor::Scan])
        .await
        .expect("claim")
        .expect("the scan job");
    assert_eq!(claimed.upload_id, scan.id);
}

#[tokio::test]
async fn stale_uploads_of_both_states_come_oldest_deadline_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo(&dir).await;
    let now = db::now();
    let at = |status: UploadStatus, seconds_ago: i64| Upload {
        status,
        size: Some(1),
        expires_at: now - time::Duration::seconds(seconds_ago),
        ..upload("alice")
    };
    let uploads = [
        at(UploadStatus::Uploading, 40),
        at(UploadStatus::Pending, 50),
        at(UploadStatus::Uploading, 20),
        at(UploadStatus::Pending, 30),
        at(UploadStatus::Completed, 60),
        at(UploadStatus::Pending, -60),
    ];
    for upload in &uploads {
        repo.insert(upload).await.expect("insert");
    }
    let ids = |found: Vec<Upload>| found.into_iter().map(|u| u.id).collect::<Vec<_>>();
    let [u40, p50, u20, p30, ..] = &uploads;
    assert_eq!(
        ids(repo.stale(now, 3).await.expect("stale")),
        [p50.id, u40.id, p30.id],
        "a page takes the oldest deadlines across both states"
    );
    assert_eq!(
        ids(repo.stale(now, 10).await.expect("stale")),
        [p50.id, u40.id, p30.id, u20.id],
        "neither a finished upload nor one still in time"
    );
}

fn api_key(name: &str, hash: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        name: name.into(),
        hash: hash.into(),
        scopes: vec!["tokens".into()],
        created_at: db::now(),
        last_used_at: None,
    }
}

fn grant(key: &ApiKeyRecord) -> GrantRecord {
    GrantRecord {
        id: Uuid::now_v7(),
        user: "dana".into(),
        max_files: None,
        max_bytes: None,
        expires_at: db::now() + Duration::from_secs(600),
        key_name: key.name.clone(),
        key_hash: key.hash.clone(),
    }
}

/// A token minted while its key is being revoked: the minting request
/// verified the key, then the revocation committed, then the grant was
/// written. A new key given the old one's name must not bring it to life.
#[tokio::test]
async fn a_grant_follows_the_key_that_minted_it_not_the_keys_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let access = repo(&dir).await;
    let access = access.access();
    let old = api_key("backend", &"a".repeat(64));
    assert!(access.insert_api_key(&old).await.expect("insert"));
    let before = grant(&old);
    access.open_grant(&before).await.expect("grant");
    assert!(access.revoke_api_key("backend").await.expect("revoke"));
    let late = grant(&old);
    access.open_grant(&late).await.expect("late grant");

    let new = api_key("backend", &"b".repeat(64));
    assert!(access.insert_api_key(&new).await.expect("insert again"));
    let now = db::now();
    assert!(!access.grant_live(before.id, now).await.expect("live"));
    assert!(
        !access.grant_live(late.id, now).await.expect("live"),
        "a grant written after its key's revocation stays dead"
    );
    let current = grant(&new);
    access.open_grant(&current).await.expect("grant");
    assert!(access.grant_live(current.id, now).await.expect("live"));
    assert!(access.revoke_api_key("backend").await.expect("revoke"));
    assert!(!access.grant_live(current.id, now).await.expect("live"));
}
