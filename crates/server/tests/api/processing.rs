//! Post-processing against real parts: a real clamd, real images, a real
//! webhook receiver, the server's real job queue in its real database.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;
use uploadgate_server::processing::run_workers;

use crate::fake_clamd::{FakeClamd, Reply as ClamdReply};
use uploadgate_api::{ProcessingState, UploadStatus};
use uploadgate_server::config::{Config, Processor};
use uploadgate_server::secret::Secret;
use uploadgate_testkit::{
    MIB, TestApp, TestAppBuilder, assert_stored, id_of, put_as_instructed, strings,
};

const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const EVENTS_SECRET: &str = "test-events-secret";

/// Fast workers: tests wait for them.
pub fn fast_workers(config: &mut Config) {
    let workers = &mut config.workers;
    workers.poll_interval = Duration::from_millis(100);
    workers.backoff = Duration::from_millis(100);
    workers.max_backoff = Duration::from_secs(1);
    workers.lease = Duration::from_secs(3);
}

const CLAMD_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/engines/clamd");

/// A clamd for this test: `UPLOADGATE_TEST_CLAMD` (what scripts/test starts),
/// or one started here through the same script.
pub(crate) struct Clamd {
    pub(crate) address: String,
    dir: Option<tempfile::TempDir>,
}

impl Clamd {
    pub(crate) fn start() -> Clamd {
        if let Ok(address) = std::env::var("UPLOADGATE_TEST_CLAMD") {
            return Clamd { address, dir: None };
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let out = std::process::Command::new(CLAMD_SCRIPT)
            .arg("start")
            .arg(dir.path())
            .output()
            .expect("run scripts/engines/clamd");
        assert!(
            out.status.success(),
            "clamd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Clamd {
            address: String::from_utf8(out.stdout)
                .expect("utf-8")
                .trim()
                .to_owned(),
            dir: Some(dir),
        }
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::process::Command::new(CLAMD_SCRIPT)
                .arg("stop")
                .arg(dir.path())
                .status();
        }
    }
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    }));
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// Uploads `bytes` as `content_type` under `profile` and completes it.
async fn upload(
    app: &TestApp,
    user: &str,
    profile: &str,
    content_type: &str,
    bytes: &[u8],
) -> String {
    let completed = app.upload(user, Some(profile), content_type, bytes).await;
    assert_eq!(completed.status, UploadStatus::Completed, "{completed:?}");
    assert_eq!(
        completed.processing.as_ref().map(|p| p.state),
        Some(ProcessingState::Processing),
        "{completed:?}"
    );
    completed.id.to_string()
}

/// Polls the upload until its processing is no longer under way.
pub async fn processed(app: &TestApp, user: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let record = app.get_json(user, &format!("/v1/uploads/{id}")).await;
        if record["processing"]["state"] != "processing" {
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still processing: {record}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Profile `p`: any type up to 20 MiB, then `processors`.
fn with_processors(builder: TestAppBuilder, processors: &[Processor]) -> TestAppBuilder {
    let processors = processors.to_vec();
    builder
        .profile("p", move |p| {
            p.content_types = strings(["*/*"]);
            p.max_size = 20 * MIB;
            p.processors = processors;
        })
        .configure(fast_workers)
}

#[tokio::test]
async fn eicar_is_quarantined_and_a_clean_file_becomes_ready() {
    let clamd = Clamd::start();
    let app = with_processors(TestApp::builder(), &[Processor::Scan, Processor::Metadata])
        .configure({
            let address = clamd.address.clone();
            move |c| c.scan.clamd = Some(address)
        })
        .start()
        .await;

    let clean = b"just an ordinary file\n".repeat(1000);
    let id = upload(&app, "alice", "p", "application/octet-stream", &clean).await;
    let record = processed(&app, "alice", &id).await;
    let processing = &record["processing"];
    assert_eq!(processing["state"], "ready", "{record}");
    assert_eq!(processing["scan"]["verdict"], "clean");
    assert_eq!(processing["sha256"], hex::encode(Sha256::digest(&clean)));
    let kinds: Vec<&str> = processing["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["scan", "metadata"]);
    assert_eq!(app.download("alice", &id).await, clean);

    let id = upload(&app, "alice", "p", "application/octet-stream", EICAR).await;
    let record = processed(&app, "alice", &id).await;
    let processing = &record["processing"];
    assert_eq!(processing["state"], "quarantined", "{record}");
    assert_eq!(processing["scan"]["verdict"], "infected");
    assert_eq!(
        processing["scan"]["signature"],
        "Test.EICAR.Local.UNOFFICIAL"
    );
    // Nothing after the scan ran on it.
    assert!(processing.get("sha256").is_none(), "{record}");
    let key = record["key"].as_str().expect("key");
    assert!(
        app.store().head(key).await.expect("head").is_none(),
        "still served"
    );
    let uuid = uuid::Uuid::parse_str(&id).expect("uuid");
    let kept = app
        .store()
        .head(&format!("quarantine/{}", uuid.simple()))
        .await
        .expect("head");
    assert_eq!(kept.map(|h| h.size), Some(EICAR.len() as u64));
    let refused = app
        .get("alice", &format!("/v1/uploads/{id}/download"))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let problem: Value = refused.json().await.expect("json");
    assert_eq!(problem["code"], "upload_quarantined");
}

#[tokio::test]
async fn a_png_gets_thumbnails_of_the_configured_sizes() {
    let app = with_processors(
        TestApp::builder(),
        &[Processor::Sniff, Processor::Metadata, Processor::Thumbnail],
    )
    .start()
    .await;
    let id = upload(&app, "alice", "p", "image/png", &png(1000, 500)).await;
    let record = processed(&app, "alice", &id).await;
    let processing = &record["processing"];
    assert_eq!(processing["state"], "ready", "{record}");
    assert_eq!(processing["detectedType"], "image/png");
    assert_eq!(
        (processing["width"].clone(), processing["height"].clone()),
        (json!(1000), json!(500))
    );
    let thumbnails = processing["thumbnails"].as_array().expect("thumbnails");
    let mut sizes = Vec::new();
    for thumbnail in thumbnails {
        let url = thumbnail["url"].as_str().expect("url");
        let bytes = app
            .client
            .get(url)
            .send()
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes");
        let decoded = image::load_from_memory(&bytes).expect("a real image");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (
                thumbnail["width"].as_u64().expect("w") as u32,
                thumbnail["height"].as_u64().expect("h") as u32
            )
        );
        assert_eq!(thumbnail["contentType"], "image/jpeg");
        sizes.push((thumbnail["size"].clone(), decoded.width(), decoded.height()));
    }
    assert_eq!(sizes, [(json!(200), 200, 100), (json!(800), 800, 400)]);

    // The list shows them too, with links (the page needs them).
    let list = app.get_json("alice", "/v1/uploads").await;
    assert!(
        list["items"][0]["processing"]["thumbnails"][0]["url"].is_string(),
        "{list}"
    );
}

/// CRC-32 (ISO-HDLC) for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut typed = kind.to_vec();
    typed.extend_from_slice(data);
    out.extend_from_slice(&typed);
    out.extend_from_slice(&crc32(&typed).to_be_bytes());
    out
}

/// A small, well-formed PNG that claims 60,000 × 60,000 RGB pixels (10 GB
/// decoded), with a stream of zeros that deflates a thousandfold.
fn bomb() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let zeros = vec![0u8; 4 * 1024 * 1024];
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &zeros).expect("deflate");
    let deflated = encoder.finish().expect("deflate");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &deflated));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// Peak resident memory of this process (the server runs in it), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

#[tokio::test]
async fn decompression_bombs_and_broken_images_are_refused_and_the_worker_goes_on() {
    let app = with_processors(TestApp::builder(), &[Processor::Thumbnail])
        .start()
        .await;
    let before = peak_rss();
    let id = upload(&app, "alice", "p", "image/png", &bomb()).await;
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["processing"]["state"], "ready", "{record}");
    let notes = record["processing"]["notes"].to_string();
    assert!(
        notes.contains("60000x60000 px is above thumbnails.max_pixels"),
        "{record}"
    );
    assert!(record["processing"].get("thumbnails").is_none(), "{record}");
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 64 * 1024 * 1024,
        "peak memory grew by {grown} bytes"
    );

    let mut broken = png(300, 300);
    broken.truncate(broken.len() / 2);
    let id = upload(&app, "alice", "p", "image/png", &broken).await;
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["processing"]["state"], "ready", "{record}");
    assert!(
        record["processing"]["notes"]
            .to_string()
            .contains("could not be decoded"),
        "{record}"
    );

    // The same workers still make thumbnails.
    let id = upload(&app, "alice", "p", "image/png", &png(400, 400)).await;
    let record = processed(&app, "alice", &id).await;
    assert_eq!(
        record["processing"]["thumbnails"].as_array().map(Vec::len),
        Some(2),
        "{record}"
    );
}

/// Scans go to `clamd`, each given `timeout`.
fn scanning(clamd: &FakeClamd, timeout: Duration) -> impl FnOnce(&mut Config) + Send + 'static {
    let address = clamd.address.clone();
    move |config| {
        config.scan.clamd = Some(address);
        config.scan.timeout = timeout;
    }
}

/// The job of `kind` in a described upload.
fn job<'a>(record: &'a Value, kind: &str) -> &'a Value {
    record["processing"]["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["kind"] == kind)
        .expect("the job")
}

#[tokio::test]
async fn a_job_that_fails_twice_succeeds_on_its_third_attempt() {
    let clamd = FakeClamd::start(&[ClamdReply::Hang, ClamdReply::Hang]).await;
    let app = with_processors(TestApp::builder(), &[Processor::Scan, Processor::Metadata])
        .configure(scanning(&clamd, Duration::from_millis(300)))
        .start()
        .await;
    let id = upload(
        &app,
        "alice",
        "p",
        "application/octet-stream",
        b"some bytes",
    )
    .await;
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["processing"]["state"], "ready", "{record}");
    assert_eq!(record["processing"]["scan"]["verdict"], "clean");
    assert_eq!(clamd.scans(), 3);
    let scan = job(&record, "scan");
    assert_eq!(scan["attempts"], 3);
    assert_eq!(scan["state"], "done");
    assert_eq!(job(&record, "metadata")["attempts"], 1);

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("uploadgate_jobs_total{kind=\"scan\",outcome=\"retry\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("uploadgate_job_queue_depth{state=\"queued\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_job_out_of_attempts_is_dead_lettered_listed_and_retried() {
    let clamd = FakeClamd::start(&[ClamdReply::Hang, ClamdReply::Hang]).await;
    let app = with_processors(TestApp::builder(), &[Processor::Scan])
        .configure(|c| c.workers.max_attempts = 2)
        .configure(scanning(&clamd, Duration::from_millis(300)))
        .start()
        .await;
    let id = upload(&app, "alice", "p", "application/octet-stream", b"bytes").await;
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["processing"]["state"], "failed", "{record}");
    let job = &record["processing"]["jobs"][0];
    assert_eq!(job["state"], "dead");
    assert_eq!(job["lastError"], "scan took longer than 300ms");

    let dead = app.get_json("alice", "/v1/jobs").await;
    assert_eq!(dead["items"].as_array().map(Vec::len), Some(1), "{dead}");
    assert_eq!(dead["items"][0]["id"], job["id"]);
    // Another user sees none of it and cannot retry it.
    let theirs = app.get_json("bob", "/v1/jobs").await;
    assert_eq!(theirs["items"], json!([]));
    let job_id = job["id"].as_str().expect("id");
    let path = format!("/v1/jobs/{job_id}/retry");
    assert_eq!(
        app.post_json("bob", &path, &json!({})).await.status(),
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        app.post_json("alice", &path, &json!({})).await.status(),
        StatusCode::ACCEPTED
    );
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["processing"]["state"], "ready", "{record}");
    assert_eq!(clamd.scans(), 3);
    // A job that is no longer dead cannot be retried again.
    assert_eq!(
        app.post_json("alice", &path, &json!({})).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_worker_killed_mid_job_leaves_the_job_to_be_retried() {
    // The first scan hangs: the worker is killed while it waits.
    let clamd = FakeClamd::start(&[ClamdReply::Hang]).await;
    let app = with_processors(TestApp::builder(), &[Processor::Scan])
        // The server's own workers stay off: this test runs them itself.
        .configure(|c| c.workers.concurrency = 0)
        .configure(scanning(&clamd, Duration::from_secs(60)))
        .start()
        .await;
    let id = upload(&app, "alice", "p", "application/octet-stream", b"bytes").await;

    let mut config = (*app.state().uploads.config).clone();
    config.workers.concurrency = 1;
    let mut uploads = app.state().uploads.clone();
    uploads.config = Arc::new(config);
    let (_stop, stopped) = watch::channel(false);
    let doomed = tokio::spawn(run_workers(uploads.clone(), stopped.clone()));
    clamd.first_scan().await;
    doomed.abort();
    let _ = doomed.await;
    let record = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(
        record["processing"]["jobs"][0]["state"], "running",
        "{record}"
    );

    // A new worker takes it over once the dead one's lease (3 s) runs out.
    let _survivor = tokio::spawn(run_workers(uploads, stopped));
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["processing"]["state"], "ready", "{record}");
    assert_eq!(record["processing"]["jobs"][0]["attempts"], 2, "{record}");
    assert_eq!(clamd.scans(), 2);
}

#[tokio::test]
async fn shutdown_lets_the_job_under_way_finish() {
    let clamd = FakeClamd::start(&[ClamdReply::SlowClean(1500)]).await;
    let mut app = with_processors(TestApp::builder(), &[Processor::Scan])
        .configure(scanning(&clamd, Duration::from_secs(10)))
        .start()
        .await;
    let id = upload(&app, "alice", "p", "application/octet-stream", b"bytes").await;
    clamd.first_scan().await;
    // Shut down (as on SIGTERM) while the scan is under way, and start again.
    app.restart().await;
    let record = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(
        record["processing"]["state"], "ready",
        "finished before exit: {record}"
    );
    assert_eq!(record["processing"]["jobs"][0]["attempts"], 1, "{record}");
    assert_eq!(clamd.scans(), 1);
}

/// What `sent_never_completed` sends.
const SENT: &[u8] = b"sent, never completed";

/// An upload of profile `p` whose bytes were sent but which its client
/// never completed: its id, and the uuid its staging key ends in.
async fn sent_never_completed(app: &TestApp) -> (String, uuid::Uuid) {
    let bytes = SENT;
    let record = app
        .create(
            "alice",
            json!({"filename": "f.bin", "contentType": "application/octet-stream", "size": bytes.len(), "profile": "p"}),
        )
        .await;
    assert_stored(&put_as_instructed(&app.client, &record, bytes.to_vec(), &[]).await);
    let id = id_of(&record);
    let uuid = uuid::Uuid::parse_str(&id).expect("uuid");
    (id, uuid)
}

/// Event Grid's version (synthetic events: Azurite sends none): the
/// validation handshake needs the secret, and a `BlobCreated` for the
/// staging blob completes the upload as S3's event does. Runs on every
/// store: only the container's (bucket's) name and the key matter.
#[tokio::test]
async fn an_event_grid_blob_created_completes_an_upload_after_the_handshake() {
    let app = with_processors(TestApp::builder(), &[Processor::Metadata])
        .configure(|c| c.events.secret = Some(Secret::new(EVENTS_SECRET)))
        .start()
        .await;
    let post = |secret: &'static str, body: Value| {
        app.client
            .post(app.url("/v1/events/azure"))
            .header("authorization", format!("Bearer {secret}"))
            .json(&body)
            .send()
    };
    let handshake = json!([{"id": "1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "subject": "", "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}}]);
    let refused = post("wrong", handshake.clone()).await.expect("post");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let validated = post(EVENTS_SECRET, handshake).await.expect("post");
    assert_eq!(validated.status(), StatusCode::OK);
    assert_eq!(
        validated.json::<Value>().await.expect("json"),
        json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    );

    let (id, uuid) = sent_never_completed(&app).await;
    let bytes = SENT;
    let (container, prefix) = app.state().uploads.config.store_location();
    let subject = |container: &str| {
        format!(
            "/blobServices/default/containers/{container}/blobs/{prefix}staging/{}",
            uuid.simple()
        )
    };
    let delivery = json!([
        {"id": "2", "eventType": "Microsoft.Storage.BlobCreated", "subject": subject(container),
         "data": {"api": "PutBlob", "contentLength": bytes.len()}},
        {"id": "3", "eventType": "Microsoft.Storage.BlobCreated", "subject": subject("someone-elses")},
        {"id": "4", "eventType": "Microsoft.Storage.BlobDeleted", "subject": subject(container)},
    ]);
    let accepted = post(EVENTS_SECRET, delivery.clone()).await.expect("post");
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(
        accepted.json::<Value>().await.expect("json"),
        json!({"matched": 1, "ignored": 2})
    );
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["status"], "completed", "{record}");
    // Event Grid delivers at least once: a duplicate changes nothing.
    let again = post(EVENTS_SECRET, delivery).await.expect("post");
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        app.get_json("alice", &format!("/v1/uploads/{id}")).await["status"],
        "completed"
    );
}

/// Pub/Sub's version (synthetic pushes: the emulator sends none): the
/// secret rides in the push endpoint's query, and an `OBJECT_FINALIZE` of
/// the staging object completes the upload; other buckets and other event
/// types are acknowledged and ignored. Runs on every store.
#[tokio::test]
async fn a_pubsub_object_finalize_completes_an_upload() {
    let app = with_processors(TestApp::builder(), &[Processor::Metadata])
        .configure(|c| c.events.secret = Some(Secret::new(EVENTS_SECRET)))
        .start()
        .await;
    let push = |token: &str, event: &str, bucket: &str, object: &str| {
        app.client
            .post(app.url(&format!("/v1/events/gcs?token={token}")))
            .json(&json!({
                "message": {
                    "attributes": {"eventType": event, "bucketId": bucket, "objectId": object,
                                   "payloadFormat": "JSON_API_V1"},
                    "data": "e30=", "messageId": "1"},
                "subscription": "projects/p/subscriptions/uploadgate"}))
            .send()
    };
    let (id, uuid) = sent_never_completed(&app).await;
    let (bucket, prefix) = app.state().uploads.config.store_location();
    let object = format!("{prefix}staging/{}", uuid.simple());

    let refused = push("wrong", "OBJECT_FINALIZE", bucket, &object)
        .await
        .expect("post");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    for (event, bucket) in [
        ("OBJECT_DELETE", bucket),
        ("OBJECT_FINALIZE", "someone-elses"),
    ] {
        let ignored = push(EVENTS_SECRET, event, bucket, &object)
            .await
            .expect("post");
        assert_eq!(ignored.status(), StatusCode::OK);
        assert_eq!(
            ignored.json::<Value>().await.expect("json"),
            json!({"matched": 0, "ignored": 1})
        );
    }
    assert_eq!(
        app.get_json("alice", &format!("/v1/uploads/{id}")).await["status"],
        "pending"
    );
    let applied = push(EVENTS_SECRET, "OBJECT_FINALIZE", bucket, &object)
        .await
        .expect("post");
    assert_eq!(
        applied.json::<Value>().await.expect("json"),
        json!({"matched": 1, "ignored": 0})
    );
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["status"], "completed", "{record}");
    let garbage = app
        .client
        .post(app.url(&format!("/v1/events/gcs?token={EVENTS_SECRET}")))
        .body("not json")
        .send()
        .await
        .expect("post");
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_storage_event_completes_an_upload_its_client_never_completed() {
    let app = with_processors(TestApp::builder(), &[Processor::Metadata])
        .configure(|c| c.events.secret = Some(Secret::new(EVENTS_SECRET)))
        .start()
        .await;
    let (id, uuid) = sent_never_completed(&app).await;
    let bytes = SENT;

    let config = &app.state().uploads.config;
    // As S3 sends it: the bucket's full key, URL-encoded.
    let (bucket, prefix) = config.store_location();
    let key = format!("{prefix}staging/{}", uuid.simple()).replace('/', "%2F");
    let event = json!({"Records": [
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": bytes.len()}}},
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "someone-elses"}, "object": {"key": key}}},
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}},
    ]});
    let post = |secret: &'static str, body: Value| {
        app.client
            .post(app.url("/v1/events/s3"))
            .header("authorization", format!("Bearer {secret}"))
            .json(&body)
            .send()
    };
    let refused = post("wrong", event.clone()).await.expect("post");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get_json("alice", &format!("/v1/uploads/{id}")).await["status"],
        "pending"
    );

    let accepted = post(EVENTS_SECRET, event.clone()).await.expect("post");
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(
        accepted.json::<Value>().await.expect("json"),
        json!({"matched": 1, "ignored": 2})
    );
    let record = processed(&app, "alice", &id).await;
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["processing"]["state"], "ready");
    assert_eq!(
        record["processing"]["sha256"],
        hex::encode(Sha256::digest(bytes))
    );

    // A duplicate (wrapped by SNS this time) changes nothing and queues nothing.
    let sns = json!({"Type": "Notification", "Message": event.to_string()});
    let again = post(EVENTS_SECRET, sns).await.expect("post");
    assert_eq!(again.status(), StatusCode::OK);
    let record = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(
        record["processing"]["jobs"].as_array().map(Vec::len),
        Some(1),
        "{record}"
    );
    assert_eq!(app.download("alice", &id).await, bytes);
}

#[tokio::test]
async fn storage_events_are_off_without_a_secret() {
    let app = TestApp::start().await;
    let response = app
        .client
        .post(app.url("/v1/events/s3"))
        .json(&json!({"Records": []}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A loopback address nothing listens on, as a clamd that is down.
fn dead_clamd() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    format!("tcp://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_profile_that_scans_gives_no_link_before_a_clean_verdict() {
    let app = with_processors(TestApp::builder(), &[Processor::Scan])
        // No worker runs here: the scan stays pending.
        .configure(|c| {
            c.workers.concurrency = 0;
            c.scan.clamd = Some(dead_clamd());
        })
        .start()
        .await;
    let id = upload(&app, "alice", "p", "application/octet-stream", EICAR).await;
    let pending = app
        .get("alice", &format!("/v1/uploads/{id}/download"))
        .await;
    assert_eq!(pending.status(), StatusCode::CONFLICT);
    let problem: Value = pending.json().await.expect("json");
    assert_eq!(problem["code"], "scan_pending", "{problem}");
}

#[tokio::test]
async fn a_failed_scan_fails_closed_unless_the_config_says_otherwise() {
    for fail_open in [false, true] {
        let app = with_processors(TestApp::builder(), &[Processor::Scan])
            .configure(move |c| {
                c.scan.clamd = Some(dead_clamd());
                c.scan.fail_open = fail_open;
                c.workers.max_attempts = 1;
            })
            .start()
            .await;
        let id = upload(&app, "alice", "p", "application/octet-stream", EICAR).await;
        let record = processed(&app, "alice", &id).await;
        assert_eq!(record["processing"]["state"], "failed", "{record}");
        let download = app
            .get("alice", &format!("/v1/uploads/{id}/download"))
            .await;
        if fail_open {
            assert_eq!(download.status(), StatusCode::OK);
        } else {
            assert_eq!(download.status(), StatusCode::CONFLICT);
            let problem: Value = download.json().await.expect("json");
            assert_eq!(problem["code"], "scan_failed", "{problem}");
        }
    }
}
