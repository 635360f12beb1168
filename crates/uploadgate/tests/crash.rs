//! kill -9 of the real `uploadgate serve` while uploads are sending parts and
//! completing, for several rounds; after each restart every upload resumes
//! (a patient client: the Rust client and its resume store) and must complete
//! with exactly its bytes, within 30 s of the restart, with no 5xx answer.
//!
//! A short run goes with every `scripts/test`; `scripts/crash` runs a long
//! one on each engine. Knobs: `UPLOADGATE_CRASH_UPLOADS` (concurrent uploads,
//! default 6), `UPLOADGATE_CRASH_ROUNDS` (default 2), `UPLOADGATE_CRASH_MIB`
//! (largest file, default 16), and the engines' `UPLOADGATE_TEST_*`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use tokio::sync::Notify;
use uploadgate_client::types::UploadStatus;
use uploadgate_client::{Api, Event, ResumeStore, UploadOptions, Uploader};
use uploadgate_testkit::binary::{Node, serve};
use uploadgate_testkit::engines::{store_toml, test_database};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");
const MIB: usize = 1024 * 1024;
/// What the issue asks: every interrupted upload done within this of the restart.
const RECOVERY_GOAL: Duration = Duration::from_secs(30);
/// How long one upload may keep trying before the test gives up on it.
const GIVE_UP: Duration = Duration::from_secs(120);

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A file of `len` bytes that differ from file to file and part to part.
fn file(dir: &Path, n: usize, len: usize) -> PathBuf {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ (n as u64);
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    let path = dir.join(format!("file-{n}.bin"));
    std::fs::write(&path, bytes).expect("write file");
    path
}

/// What the uploads saw, over every round.
#[derive(Default)]
struct Seen {
    server_errors: AtomicU32,
    /// Bytes handed to the network, resends included.
    sent: AtomicU64,
}

/// Uploads `path` until it completes, resuming from the resume store after
/// every failure, as a patient user or script would; returns the record.
async fn patient_upload(
    api: Api,
    state: PathBuf,
    path: PathBuf,
    seen: Arc<Seen>,
    sent_all: Arc<Notify>,
) -> uploadgate_client::types::UploadRecord {
    let total = std::fs::metadata(&path).expect("file").len();
    let started = Instant::now();
    loop {
        let uploader = Uploader::new(api.clone(), ResumeStore::at(&state));
        let (seen_now, sent_all_now) = (seen.clone(), sent_all.clone());
        let mine = Arc::new(AtomicU64::new(0));
        let progress: uploadgate_client::Progress = Arc::new(move |event| match event {
            Event::Sent(n) => {
                seen_now.sent.fetch_add(n, Ordering::Relaxed);
                if mine.fetch_add(n, Ordering::Relaxed) + n >= total {
                    sent_all_now.notify_waiters();
                }
            }
            Event::Retrying { reason, .. } if reason.contains("answered 5") => {
                seen_now.server_errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        });
        let options = UploadOptions {
            content_type: Some("application/octet-stream".into()),
            parallel: 2,
            ..UploadOptions::default()
        };
        match uploader.upload(&path, &options, &progress).await {
            Ok(report) => return report.record,
            Err(err) => {
                assert!(
                    started.elapsed() < GIVE_UP,
                    "{} still failing after {GIVE_UP:?}: {err}",
                    path.display()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The config for every start of the server: fixed ports (clients keep
/// their URLs across restarts), the engines of the environment.
fn config(dir: &Path, database: Option<&str>) -> PathBuf {
    let (api, store) = (free_port(), free_port());
    let database = database.map_or(String::new(), |url| format!("database_url = {url:?}\n"));
    let path = dir.join("uploadgate.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{api}\"\ndata_dir = {:?}\n{database}\
             [limits]\nuser_rate = 0\nip_rate = 0\n\
             [profiles.default]\ncontent_types = [\"application/octet-stream\"]\n\
             max_size = \"1GiB\"\nmultipart_threshold = \"5MiB\"\npart_size = \"5MiB\"\n\
             [store]\nlisten = \"127.0.0.1:{store}\"\n{}",
            dir.join("data").display().to_string(),
            store_toml()
        ),
    )
    .expect("write config");
    path
}

fn kill(node: &mut Node) {
    // SIGKILL: no shutdown, no flush; what a crash or an OOM kill does.
    node.child.kill().expect("kill -9");
    node.child.wait().expect("reaped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_survive_kill_9_mid_send_and_mid_completion() {
    let uploads = knob("UPLOADGATE_CRASH_UPLOADS", 6);
    let rounds = knob("UPLOADGATE_CRASH_ROUNDS", 2);
    let largest = knob("UPLOADGATE_CRASH_MIB", 16).max(6);
    let dir = tempfile::tempdir().expect("tempdir");
    let database = test_database().await;
    let config = config(dir.path(), database.as_deref());
    let mut node = serve(BIN, &config);
    let api = Api::new(&node.api, &node.token).expect("api");
    let seen = Arc::new(Seen::default());
    let (mut completed, mut recoveries) = (0, Vec::new());

    for round in 0..rounds {
        let sent_all = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        let mut files = Vec::new();
        for n in 0..uploads {
            // 6 MiB up to `largest`: 2 to several parts of 5 MiB.
            let len = (6 + (n * 5 + round * 3) % (largest - 5)) * MIB + n * 777;
            let path = file(dir.path(), round * uploads + n, len);
            files.push(path.clone());
            tasks.push(tokio::spawn(patient_upload(
                api.clone(),
                dir.path().join(format!("state-{round}-{n}")),
                path,
                seen.clone(),
                sent_all.clone(),
            )));
        }
        // Kill once the first upload has sent everything, so that its
        // completion (and others' parts) are under way, a moment later each
        // round.
        tokio::time::timeout(Duration::from_secs(60), sent_all.notified())
            .await
            .expect("an upload sent its bytes");
        tokio::time::sleep(Duration::from_millis(20 + 40 * round as u64)).await;
        kill(&mut node);
        node = serve(BIN, &config);
        let restarted = Instant::now();

        let mut done = Vec::new();
        for task in tasks {
            done.push(task.await.expect("upload task"));
        }
        let recovery = restarted.elapsed();
        recoveries.push(recovery);
        for (record, path) in done.iter().zip(&files) {
            assert_eq!(record.status, UploadStatus::Completed, "{record:?}");
            let link = api.download_link(record.id).await.expect("download link");
            let stored = reqwest::get(&link.url)
                .await
                .expect("download")
                .bytes()
                .await
                .expect("bytes");
            let original = std::fs::read(path).expect("file");
            assert_eq!(
                hex::encode(Sha256::digest(&stored)),
                hex::encode(Sha256::digest(&original)),
                "{} came back different",
                path.display()
            );
            completed += 1;
        }
    }
    let errors = seen.server_errors.load(Ordering::Relaxed);
    println!(
        "crash: {completed} of {} uploads completed with exactly their bytes over {rounds} \
         kill -9 rounds; recovery after restart {:?} (goal: under {RECOVERY_GOAL:?}); \
         5xx answers seen: {errors}; bytes handed to the network: {} MiB",
        uploads * rounds,
        recoveries,
        seen.sent.load(Ordering::Relaxed) / MIB as u64,
    );
    assert_eq!(completed, uploads * rounds);
    assert_eq!(errors, 0, "5xx answers");
    assert!(
        recoveries.iter().all(|r| *r < RECOVERY_GOAL),
        "recovery took {recoveries:?}"
    );
}
