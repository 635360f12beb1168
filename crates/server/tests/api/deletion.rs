//! Files after upload: deleting, replacing, retaining and erasing, each
//! checked in storage itself (on whichever store and database the run uses),
//! and deletion racing a completion and a processing job.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uploadgate_api::{JobState, UploadStatus};
use uploadgate_server::auth::Scope;
use uploadgate_server::config::Processor;
use uploadgate_server::db::{self, Transition, UsageQuery};
use uploadgate_server::janitor;
use uploadgate_testkit::{
    MIB, PDF, PNG, TestApp, TestAppBuilder, id_of, problem, put_as_instructed, strings,
};

use crate::processing::{fast_workers, png, processed};

/// Profile `p` (any type, thumbnails made) and profile `plain`.
fn builder() -> TestAppBuilder {
    TestApp::builder()
        .profile("p", |p| {
            p.content_types = strings(["*/*"]);
            p.max_size = 20 * MIB;
            p.processors = vec![Processor::Sniff, Processor::Thumbnail];
        })
        .profile("plain", |p| p.content_types = strings(["*/*"]))
        .configure(fast_workers)
}

/// `builder()` and profile `avatars`, one PNG per user (`replace`).
fn with_avatars() -> TestAppBuilder {
    builder().profile("avatars", |p| {
        p.content_types = strings(["image/png"]);
        p.replace = true;
    })
}

/// `DELETE /v1/users/{user}/uploads` with `key`: the erasure it answered.
pub async fn erase(app: &TestApp, key: &str, user: &str) -> Value {
    let response = app
        .client
        .delete(app.url(&format!("/v1/users/{user}/uploads")))
        .bearer_auth(key)
        .send()
        .await
        .expect("erase");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.expect("json")
}

/// Every key an upload may have in storage: the file, its staged copy, its
/// quarantined copy, and its thumbnails (as recorded, or as they would be named).
fn every_key(app: &TestApp, record: &Value) -> Vec<String> {
    let key = record["key"].as_str().expect("key").to_owned();
    let id = uuid::Uuid::parse_str(&id_of(record)).expect("uuid");
    let mut keys = vec![
        key.clone(),
        format!("staging/{}", id.simple()),
        format!("quarantine/{}", id.simple()),
    ];
    keys.extend(uploadgate_server::keys::thumbnail_keys(
        &key,
        &app.config().thumbnails.sizes,
    ));
    keys
}

/// The keys of `keys` storage still holds.
async fn still_stored(app: &TestApp, keys: &[String]) -> Vec<String> {
    let mut held = Vec::new();
    for key in keys {
        if app.store().head(key).await.expect("head").is_some() {
            held.push(key.clone());
        }
    }
    held
}

async fn bytes_held(app: &TestApp, user: &str) -> u64 {
    app.state()
        .uploads
        .db
        .usage(user, UsageQuery::default())
        .await
        .expect("usage")
        .bytes_held
}

async fn delete(app: &TestApp, user: &str, id: &str) -> reqwest::Response {
    app.delete(user, &format!("/v1/uploads/{id}")).await
}

#[tokio::test]
async fn deleting_a_completed_upload_empties_storage_and_leaves_a_tombstone() {
    let app = builder().start().await;
    let image = png(300, 200);
    let completed = app.upload("alice", Some("p"), "image/png", &image).await;
    let id = completed.id.to_string();
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["processing"]["state"], "ready", "{record}");
    let thumbnails: Vec<String> = record["processing"]["thumbnails"]
        .as_array()
        .expect("thumbnails")
        .iter()
        .map(|t| t["key"].as_str().expect("key").to_owned())
        .collect();
    assert_eq!(thumbnails.len(), app.config().thumbnails.sizes.len());
    let keys = every_key(&app, &record);
    assert_eq!(
        still_stored(&app, &keys).await.len(),
        1 + thumbnails.len(),
        "the file and its thumbnails"
    );
    assert_eq!(bytes_held(&app, "alice").await, image.len() as u64);

    // Not another user's to delete, and not an upload token's.
    assert_eq!(
        delete(&app, "bob", &id).await.status(),
        StatusCode::NOT_FOUND
    );

    let deleted = delete(&app, "alice", &id).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let deleted: Value = deleted.json().await.expect("json");
    assert_eq!(deleted["status"], "deleted", "{deleted}");
    assert!(deleted["deletedAt"].is_string(), "{deleted}");
    assert_eq!(still_stored(&app, &keys).await, Vec::<String>::new());
    assert_eq!(bytes_held(&app, "alice").await, 0, "usage drops");
    let today = app
        .state()
        .uploads
        .db
        .usage(
            "alice",
            UsageQuery {
                since: Some(db::now() - Duration::from_secs(3600)),
                ..UsageQuery::default()
            },
        )
        .await
        .expect("usage");
    assert_eq!(
        today.bytes_last_day,
        image.len() as u64,
        "the bytes were sent: deleting gives no daily allowance back"
    );
    let stored = app.record(&id).await;
    assert!(stored.purged_at.is_some(), "purge recorded");

    // The tombstone shows, without links to what is gone.
    let shown = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(shown["status"], "deleted");
    assert_eq!(shown["deletedAt"], deleted["deletedAt"]);
    assert!(shown["processing"].get("thumbnails").is_none(), "{shown}");
    let gone = app
        .get("alice", &format!("/v1/uploads/{id}/download"))
        .await;
    assert_eq!(gone.status(), StatusCode::GONE);
    assert_eq!(problem(gone).await["code"], "upload_deleted");

    // Idempotent; and nothing brings it back.
    let again = delete(&app, "alice", &id).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["deletedAt"], deleted["deletedAt"]);
    let complete = app.complete("alice", &id).await;
    assert_eq!(complete.status(), StatusCode::CONFLICT);
    let listed = app.get_json("alice", "/v1/uploads?status=deleted").await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn rejected_uploads_delete_and_uploads_in_progress_abort() {
    let app = builder().start().await;
    // Declared a PNG, sent a PDF: rejected.
    let record = app
        .create(
            "alice",
            json!({"filename": "a.png", "contentType": "image/png", "size": PDF.len(), "profile": "plain"}),
        )
        .await;
    let id = id_of(&record);
    put_as_instructed(&app.client, &record, PDF.to_vec(), &[]).await;
    assert_eq!(
        app.complete("alice", &id).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let deleted: Value = delete(&app, "alice", &id).await.json().await.expect("json");
    assert_eq!(deleted["status"], "deleted", "{deleted}");
    assert_eq!(
        still_stored(&app, &every_key(&app, &record)).await,
        Vec::<String>::new()
    );

    // In progress: DELETE cancels, as it always did, and says so.
    let pending = app.create_put("alice", "image/png", PNG).await;
    let aborted: Value = delete(&app, "alice", &id_of(&pending))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(aborted["status"], "aborted", "{aborted}");
}

#[tokio::test]
async fn an_upload_token_cancels_its_uploads_but_deletes_no_file() {
    let app = builder().start().await;
    let key = app.api_key("backend", &[Scope::Tokens]).await;
    let minted: Value = app
        .client
        .post(app.url("/v1/upload-tokens"))
        .bearer_auth(&key)
        .json(&json!({"user": "alice", "profile": "plain"}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let token = minted["token"].as_str().expect("token");
    let as_token = |method: reqwest::Method, path: String| {
        app.client
            .request(method, app.url(&path))
            .bearer_auth(token)
    };
    let record: Value = as_token(reqwest::Method::POST, "/v1/uploads".into())
        .json(&json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "profile": "plain"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = id_of(&record);
    put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await;
    let completed = as_token(reqwest::Method::POST, format!("/v1/uploads/{id}/complete"))
        .json(&json!({}))
        .send()
        .await
        .expect("complete");
    assert_eq!(completed.status(), StatusCode::OK);
    let refused = as_token(reqwest::Method::DELETE, format!("/v1/uploads/{id}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem(refused).await["code"], "not_permitted");
    assert!(
        app.store()
            .head(record["key"].as_str().expect("key"))
            .await
            .expect("head")
            .is_some()
    );
}

#[tokio::test]
async fn replace_keeps_only_the_newest_upload_of_a_user() {
    let app = with_avatars().start().await;
    let first = app.upload("alice", Some("avatars"), "image/png", PNG).await;
    let bobs = app.upload("bob", Some("avatars"), "image/png", PNG).await;
    let other_profile = app.upload("alice", Some("plain"), "image/png", PNG).await;
    let second = app.upload("alice", Some("avatars"), "image/png", PNG).await;
    assert_eq!(second.status, UploadStatus::Completed);

    let first_now = app
        .get_json("alice", &format!("/v1/uploads/{}", first.id))
        .await;
    assert_eq!(first_now["status"], "deleted", "replaced");
    assert!(app.store().head(&first.key).await.expect("head").is_none());
    for (user, kept) in [
        ("alice", &second),
        ("bob", &bobs),
        ("alice", &other_profile),
    ] {
        let now = app
            .get_json(user, &format!("/v1/uploads/{}", kept.id))
            .await;
        assert_eq!(now["status"], "completed", "{now}");
        assert!(app.store().head(&kept.key).await.expect("head").is_some());
    }

    // An older upload completing after a newer one is the one replaced.
    let older = app
        .create("alice", json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len(), "profile": "avatars"}))
        .await;
    let newer = app.upload("alice", Some("avatars"), "image/png", PNG).await;
    put_as_instructed(&app.client, &older, PNG.to_vec(), &[]).await;
    let late: Value = app
        .complete("alice", &id_of(&older))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(late["status"], "deleted", "{late}");
    let newest = app
        .get_json("alice", &format!("/v1/uploads/{}", newer.id))
        .await;
    assert_eq!(newest["status"], "completed");
    let completed = app
        .get_json("alice", "/v1/uploads?status=completed&profile=avatars")
        .await;
    assert_eq!(
        completed["items"].as_array().map(Vec::len),
        Some(1),
        "{completed}"
    );
}

/// A node killed between committing a tombstone and purging its objects:
/// the janitor finds the tombstone unpurged and finishes the job.
#[tokio::test]
async fn the_janitor_finishes_a_deletion_cut_short() {
    let app = builder().start().await;
    let upload = app.upload("alice", Some("plain"), "image/png", PNG).await;
    let uploads = &app.state().uploads;
    let committed = uploads
        .db
        .transition(
            upload.id,
            UploadStatus::Completed,
            &Transition::to(UploadStatus::Deleted, db::now()),
        )
        .await
        .expect("transition");
    assert!(committed);
    assert!(app.store().head(&upload.key).await.expect("head").is_some());
    assert_eq!(
        bytes_held(&app, "alice").await,
        0,
        "usage follows the tombstone"
    );
    // Left alone while the deleting request may still be purging.
    let sweep = janitor::sweep(uploads).await.expect("sweep");
    assert_eq!(sweep.purges_retried, 0);
    let purged = uploads
        .retry_purges(db::now() + Duration::from_secs(1), 100)
        .await
        .expect("retry");
    assert_eq!(purged, 1);
    assert!(app.store().head(&upload.key).await.expect("head").is_none());
    assert!(app.record(&upload.id.to_string()).await.purged_at.is_some());
    let again = uploads
        .retry_purges(db::now() + Duration::from_secs(1), 100)
        .await
        .expect("retry");
    assert_eq!(again, 0, "done once");
}

/// A completion that committed, then crashed before deleting the user's
/// earlier upload: the janitor finishes the replacement.
#[tokio::test]
async fn the_janitor_finishes_a_replacement_cut_short() {
    let app = with_avatars().start().await;
    let first = app.upload("alice", Some("avatars"), "image/png", PNG).await;
    let second = app
        .create("alice", json!({"filename": "b.png", "contentType": "image/png", "size": PNG.len(), "profile": "avatars"}))
        .await;
    put_as_instructed(&app.client, &second, PNG.to_vec(), &[]).await;
    let uploads = &app.state().uploads;
    let second_id = uuid::Uuid::parse_str(&id_of(&second)).expect("uuid");
    let crashed = Transition {
        replace_pending: true,
        ..Transition::to(UploadStatus::Completed, db::now())
    };
    assert!(
        uploads
            .db
            .transition(second_id, UploadStatus::Pending, &crashed)
            .await
            .expect("transition")
    );
    let first_now = app
        .get_json("alice", &format!("/v1/uploads/{}", first.id))
        .await;
    assert_eq!(first_now["status"], "completed", "not replaced yet");
    let finished = uploads
        .finish_replacements(db::now() + Duration::from_secs(1), 100)
        .await
        .expect("finish");
    assert_eq!(finished, 1);
    let first_now = app
        .get_json("alice", &format!("/v1/uploads/{}", first.id))
        .await;
    assert_eq!(first_now["status"], "deleted");
    assert!(app.store().head(&first.key).await.expect("head").is_none());
    let again = uploads
        .finish_replacements(db::now() + Duration::from_secs(1), 100)
        .await
        .expect("finish");
    assert_eq!(again, 0, "done once");
}

#[tokio::test]
async fn the_janitor_deletes_uploads_past_their_profile_retention() {
    let app = builder()
        .profile("short", |p| {
            p.content_types = strings(["*/*"]);
            p.retain_for = Some(Duration::from_secs(1));
        })
        .start()
        .await;
    let old = app.upload("alice", Some("short"), "image/png", PNG).await;
    let kept = app.upload("alice", Some("plain"), "image/png", PNG).await;
    let sweep = janitor::sweep(&app.state().uploads).await.expect("sweep");
    assert_eq!(sweep.retention_deleted, 0, "not old enough yet");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = app.upload("alice", Some("short"), "image/png", PNG).await;
    let sweep = janitor::sweep(&app.state().uploads).await.expect("sweep");
    assert_eq!(sweep.retention_deleted, 1);
    let old_now = app
        .get_json("alice", &format!("/v1/uploads/{}", old.id))
        .await;
    assert_eq!(old_now["status"], "deleted");
    assert!(app.store().head(&old.key).await.expect("head").is_none());
    for upload in [&kept, &fresh] {
        assert!(app.store().head(&upload.key).await.expect("head").is_some());
    }
}

/// Waits until the erasure at `location` is done; returns its last state.
pub async fn erased(app: &TestApp, key: &str, location: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let response = app
            .client
            .get(app.url(location))
            .bearer_auth(key)
            .send()
            .await
            .expect("get erasure");
        assert_eq!(response.status(), StatusCode::OK);
        let erasure: Value = response.json().await.expect("json");
        if erasure["state"] == "done" {
            return erasure;
        }
        assert!(tokio::time::Instant::now() < deadline, "{erasure}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn erasing_a_user_deletes_everything_in_batches_and_keeps_nothing_personal() {
    let app = builder()
        .configure(|c| {
            c.limits.user_rate = 10_000;
            c.limits.user_burst = 10_000;
            c.limits.ip_rate = 10_000;
            c.limits.ip_burst = 10_000;
        })
        .start()
        .await;
    let key = app.api_key("backend", &[Scope::Uploads]).await;
    let completed = app
        .upload("alice", Some("p"), "image/png", &png(64, 64))
        .await;
    processed(&app, "alice", &completed.id.to_string()).await;
    let rejected = app
        .create(
            "alice",
            json!({"filename": "secret-name.pdf", "contentType": "application/pdf",
                                "size": 8, "profile": "plain", "metadata": {"project": "x"}}),
        )
        .await;
    put_as_instructed(&app.client, &rejected, b"%PDF-1.7\n".to_vec(), &[]).await;
    app.complete("alice", &id_of(&rejected)).await;
    // More than one batch of uploads in progress, one of them with bytes staged.
    let mut records = vec![rejected];
    for _ in 0..105 {
        records.push(app.create_put("alice", "image/png", PNG).await);
    }
    put_as_instructed(&app.client, &records[1], PNG.to_vec(), &[]).await;
    let bobs = app.upload("bob", Some("plain"), "image/png", PNG).await;

    // Only an API key with the uploads scope may ask.
    let as_user = app.delete("alice", "/v1/users/alice/uploads").await;
    assert_eq!(as_user.status(), StatusCode::FORBIDDEN);
    let tokens_only = app.api_key("minter", &[Scope::Tokens]).await;
    let refused = app
        .client
        .delete(app.url("/v1/users/alice/uploads"))
        .bearer_auth(&tokens_only)
        .send()
        .await
        .expect("erase");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let started = app
        .client
        .delete(app.url("/v1/users/alice/uploads"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("erase");
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let location = started.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let erasure: Value = started.json().await.expect("json");
    assert_eq!(erasure["user"], "alice");
    assert_eq!(
        location,
        format!("/v1/erasures/{}", erasure["id"].as_str().expect("id"))
    );
    let done = erased(&app, &key, &location).await;
    assert_eq!(done["erased"], 107, "{done}");
    assert_eq!(done["remaining"], 0);

    let mut keys = every_key(&app, &serde_json::to_value(&completed).expect("json"));
    for record in &records {
        keys.extend(every_key(&app, record));
    }
    assert_eq!(still_stored(&app, &keys).await, Vec::<String>::new());
    for id in std::iter::once(completed.id.to_string()).chain(records.iter().map(id_of)) {
        let tombstone = app.record(&id).await;
        assert_eq!(tombstone.status, UploadStatus::Deleted, "{id}");
        assert!(
            tombstone.filename.is_empty() && tombstone.key.is_empty(),
            "{tombstone:?}"
        );
        // The staging key is the upload id's alone: kept for bytes a URL
        // still valid sends after the erasure.
        let id = uuid::Uuid::parse_str(&id).expect("uuid");
        assert_eq!(
            tombstone.staging_key,
            uploadgate_server::keys::staging_key(id)
        );
        assert!(tombstone.content_type.is_empty());
        assert!(tombstone.metadata.is_empty() && tombstone.processing.is_none());
        assert!(tombstone.checksum_sha256.is_none() && tombstone.reject_reason.is_none());
    }
    assert_eq!(bytes_held(&app, "alice").await, 0);
    // Another user's file is untouched.
    assert!(app.store().head(&bobs.key).await.expect("head").is_some());
    assert_eq!(app.download("bob", &bobs.id.to_string()).await, PNG);

    // Asking again while one runs moves its cutoff: an upload created
    // after the first request is erased too.
    let first: Value = erase(&app, &key, "carol").await;
    let late = app.create_put("carol", "image/png", PNG).await;
    let second: Value = erase(&app, &key, "carol").await;
    assert_eq!(second["id"], first["id"], "the same erasure");
    let location = format!("/v1/erasures/{}", first["id"].as_str().expect("id"));
    assert_eq!(erased(&app, &key, &location).await["erased"], 1);
    assert_eq!(
        app.record(&id_of(&late)).await.status,
        UploadStatus::Deleted
    );

    // Asked again, a new erasure finds nothing left to do.
    let again: Value = erase(&app, &key, "alice").await;
    let location = format!("/v1/erasures/{}", again["id"].as_str().expect("id"));
    assert_eq!(erased(&app, &key, &location).await["erased"], 0);
    let unknown = app
        .client
        .get(app.url("/v1/erasures/not-an-id"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("get");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

/// A presigned URL stays valid for minutes: bytes sent through it after the
/// user was erased land in staging, and the janitor's next sweep deletes
/// them, though the tombstone keeps nothing that names the user.
#[tokio::test]
async fn bytes_sent_through_a_valid_url_after_an_erasure_are_deleted() {
    let app = builder().start().await;
    let key = app.api_key("backend", &[Scope::Uploads]).await;
    let waiting = app.create_put("alice", "image/png", PNG).await;
    let started: Value = erase(&app, &key, "alice").await;
    let location = format!("/v1/erasures/{}", started["id"].as_str().expect("id"));
    assert_eq!(erased(&app, &key, &location).await["erased"], 1);

    let late = put_as_instructed(&app.client, &waiting, PNG.to_vec(), &[]).await;
    assert!(late.status().is_success(), "the URL is still valid");
    let staged = uploadgate_server::keys::staging_key(
        uuid::Uuid::parse_str(&id_of(&waiting)).expect("uuid"),
    );
    assert!(app.store().head(&staged).await.expect("head").is_some());
    let sweep = janitor::sweep(&app.state().uploads).await.expect("sweep");
    assert_eq!(sweep.staged_deleted, 1, "{sweep:?}");
    assert_eq!(
        still_stored(&app, &every_key(&app, &waiting)).await,
        Vec::<String>::new()
    );
    let tombstone = app.record(&id_of(&waiting)).await;
    assert!(tombstone.key.is_empty() && tombstone.filename.is_empty());
}

/// Whether a job of upload `id` is running now.
async fn job_running(app: &TestApp, id: uuid::Uuid) -> bool {
    let jobs = app
        .state()
        .uploads
        .db
        .jobs()
        .jobs_of(id)
        .await
        .expect("jobs");
    jobs.iter().any(|job| job.state == JobState::Running)
}

/// Deleting while a completion runs and while processing jobs run: every
/// answer is 200 or 409 (never 5xx), and once the dust settles nothing of
/// the upload is left in storage. Both races must have happened.
#[tokio::test]
async fn deleting_during_completion_and_processing_leaves_nothing_behind() {
    // Thumbnails only, of a large image: the job is still rendering when the
    // deletion lands, and writes its thumbnails after the purge.
    let app = builder()
        .profile("thumbs", |p| {
            p.content_types = strings(["image/png"]);
            p.max_size = 20 * MIB;
            p.processors = vec![Processor::Thumbnail];
        })
        .start()
        .await;
    let image = png(2400, 1600);
    let mut all_keys = Vec::new();
    let (mut during_completion, mut during_job) = (0, 0);
    for round in 0..8 {
        let record = app
            .create(
                "alice",
                json!({"filename": "a.png", "contentType": "image/png",
                                    "size": image.len(), "profile": "thumbs"}),
            )
            .await;
        let id = id_of(&record);
        let sent = put_as_instructed(&app.client, &record, image.clone(), &[]).await;
        assert!(
            sent.status().is_success(),
            "round {round}: {}",
            sent.status()
        );
        let uuid = uuid::Uuid::parse_str(&id).expect("uuid");
        if round % 2 == 1 {
            // The job's turn: completed, then deleted once its job runs.
            assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                if job_running(&app, uuid).await {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline, "round {round}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let deletion = delete(&app, "alice", &id).await;
            assert_eq!(deletion.status(), StatusCode::OK, "round {round}");
            if job_running(&app, uuid).await {
                during_job += 1;
            }
        } else {
            // The completion's turn: a deletion 0 to 90 ms after it starts.
            let later = async {
                tokio::time::sleep(Duration::from_millis(15 * round)).await;
                delete(&app, "alice", &id).await
            };
            let (completion, deletion) = tokio::join!(app.complete("alice", &id), later);
            for response in [&completion, &deletion] {
                assert!(
                    matches!(response.status(), StatusCode::OK | StatusCode::CONFLICT),
                    "round {round}: {}",
                    response.status()
                );
            }
            if deletion.status() == StatusCode::CONFLICT {
                let refusal: Value = deletion.json().await.expect("json");
                assert_eq!(refusal["code"], "completion_in_progress", "round {round}");
                during_completion += 1;
            }
        }
        // Until it is deleted (or cancelled): a 409 means "ask again".
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let response = delete(&app, "alice", &id).await;
            assert!(
                matches!(response.status(), StatusCode::OK | StatusCode::CONFLICT),
                "{}",
                response.status()
            );
            if response.status() == StatusCode::OK {
                let now: Value = response.json().await.expect("json");
                if now["status"] == "deleted" || now["status"] == "aborted" {
                    break;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "round {round}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        all_keys.extend(every_key(&app, &record));
    }
    // The races were run, not avoided.
    assert!(
        during_completion > 0 && during_job > 0,
        "deletions during a completion: {during_completion}, during a job: {during_job}"
    );
    // Jobs under way when their upload was deleted finish, and clean up
    // what they wrote.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let depth = app.state().uploads.db.jobs().depth().await.expect("depth");
        if depth.queued == 0 && depth.running == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{depth:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(still_stored(&app, &all_keys).await, Vec::<String>::new());
}
