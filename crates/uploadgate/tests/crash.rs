//! kill -9 of the real `uploadgate serve` while uploads are created, send
//! parts and complete, for several rounds; after each restart every upload
//! resumes (a patient client: the Rust client and its resume store) and must
//! complete with exactly its bytes, within 30 s of the restart, with no 5xx
//! answer.
//!
//! Where the kill lands alternates. Even rounds kill at a random point
//! (`UPLOADGATE_CRASH_SEED` replays one): during creation, part sending or
//! completion. Odd rounds aim at the narrowest window: the process is stopped
//! (SIGSTOP) as it logs that storage assembled an upload (on Azure also as it
//! logs the block list committed, before the promoting copy), and killed
//! there if the record does not say so yet; an object assembled that nobody
//! recorded is what left uploads stuck for good before the server converged
//! them.
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
use uploadgate_client::types::UploadStatus;
use uploadgate_client::{Api, Event, ResumeStore, UploadOptions, Uploader};
use uploadgate_server::db::{PgRepo, SqliteRepo, UploadRepo};
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
/// every failure, as a patient user or script would; returns the record, or
/// the last error once it kept failing for `GIVE_UP`.
async fn patient_upload(
    api: Api,
    state: PathBuf,
    path: PathBuf,
    seen: Arc<Seen>,
) -> Result<uploadgate_client::types::UploadRecord, String> {
    let started = Instant::now();
    loop {
        let uploader = Uploader::new(api.clone(), ResumeStore::at(&state));
        let seen_now = seen.clone();
        let progress: uploadgate_client::Progress = Arc::new(move |event| match event {
            Event::Sent(n) => {
                seen_now.sent.fetch_add(n, Ordering::Relaxed);
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
            Ok(report) => return Ok(report.record),
            Err(err) if started.elapsed() >= GIVE_UP => {
                return Err(format!(
                    "{} still failing after {GIVE_UP:?}: {err}",
                    path.display()
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
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

/// The server's database, read by the test (WAL readers never wait for the
/// server, even a stopped one).
async fn records(dir: &Path, database: Option<&str>) -> Arc<dyn UploadRepo> {
    match database {
        Some(url) => Arc::new(PgRepo::connect(url).await.expect("connect")),
        None => {
            let url = format!("sqlite://{}", dir.join("data/uploadgate.db").display());
            Arc::new(SqliteRepo::connect(&url).await.expect("connect"))
        }
    }
}

/// xorshift64: reproducible from its seed, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Where a round's kill landed, for the report.
#[derive(Debug)]
#[expect(dead_code, reason = "the fields are read through Debug, in the report")]
enum Landed {
    Creating {
        after_ms: u64,
    },
    Sending {
        percent: u64,
    },
    Completing {
        after_ms: u64,
    },
    /// Between storage's assembly of an upload and its record.
    AssembledUnrecorded,
    /// No assembly was caught before its record while uploads were under
    /// way; killed once they had all finished.
    WindowMissed,
}

/// Kills at a random point: `sent` counts this round's bytes of `total`.
async fn kill_at_random(rng: &mut Rng, sent: &dyn Fn() -> u64, total: u64) -> Landed {
    match rng.below(3) {
        0 => {
            let after_ms = rng.below(40);
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            Landed::Creating { after_ms }
        }
        1 => {
            let percent = 5 + rng.below(90);
            let deadline = Instant::now() + Duration::from_secs(60);
            while sent() < total * percent / 100 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Landed::Sending { percent }
        }
        _ => {
            // Every byte handed to the network: the last uploads' parts are
            // being acknowledged and their completions asked for.
            let deadline = Instant::now() + Duration::from_secs(60);
            while sent() < total && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let after_ms = rng.below(20);
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            Landed::Completing { after_ms }
        }
    }
}

/// Watches `node`'s log for storage's assembly of an upload; stops the
/// process there and reports whether its record is still unwritten (then the
/// caller kills it in that state), or lets it go on and waits for the next,
/// while `busy` says uploads are still under way.
async fn stop_between_assembly_and_record(
    node: &Node,
    repo: &dyn UploadRepo,
    busy: &dyn Fn() -> bool,
) -> Landed {
    let mut read = node.logs.lock().map_or(0, |logs| logs.len());
    while busy() {
        let fresh = node
            .logs
            .lock()
            .map(|logs| logs[read..].to_owned())
            .unwrap_or_default();
        let Some(end) = fresh.rfind('\n') else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        read += end + 1;
        let assembled: Vec<uuid::Uuid> = fresh[..end]
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|line| {
                match line["message"].as_str()? {
                    "storage assembled the parts" => line["upload"].as_str()?.parse().ok(),
                    // Azure, between committing the blocks on the staging
                    // blob (`staging/<id>`) and promoting it.
                    "committed the block list; promoting it" => {
                        let blob = line["blob"].as_str()?;
                        blob.get(blob.len().checked_sub(32)?..)?.parse().ok()
                    }
                    _ => None,
                }
            })
            .collect();
        if assembled.is_empty() {
            continue;
        }
        node.signal("STOP");
        for id in assembled {
            let record = repo.get(id).await.expect("read the record");
            if record.is_some_and(|r| r.status.is_in_progress()) {
                return Landed::AssembledUnrecorded;
            }
        }
        node.signal("CONT");
    }
    Landed::WindowMissed
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
    let repo = records(dir.path(), database.as_deref()).await;
    let api = Api::new(&node.api, &node.token).expect("api");
    let seen = Arc::new(Seen::default());
    let seed = std::env::var("UPLOADGATE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    let mut rng = Rng(seed);
    let (mut completed, mut recoveries, mut landed) = (0, Vec::new(), Vec::new());
    let mut never_completed = Vec::new();

    for round in 0..rounds {
        let sent_before = seen.sent.load(Ordering::Relaxed);
        let mut total = 0u64;
        let mut tasks = Vec::new();
        let mut files = Vec::new();
        for n in 0..uploads {
            // 6 MiB up to `largest`: 2 to several parts of 5 MiB.
            let len = (6 + (n * 5 + round * 3) % (largest - 5)) * MIB + n * 777;
            let path = file(dir.path(), round * uploads + n, len);
            total += len as u64;
            files.push(path.clone());
            tasks.push(tokio::spawn(patient_upload(
                api.clone(),
                dir.path().join(format!("state-{round}-{n}")),
                path,
                seen.clone(),
            )));
        }
        let landing = if round % 2 == 0 {
            let sent = || seen.sent.load(Ordering::Relaxed) - sent_before;
            kill_at_random(&mut rng, &sent, total).await
        } else {
            let busy = || tasks.iter().any(|task| !task.is_finished());
            stop_between_assembly_and_record(&node, repo.as_ref(), &busy).await
        };
        // Something must be under way, or the kill proves nothing (a missed
        // window is reported as such).
        let in_flight = tasks.iter().filter(|task| !task.is_finished()).count();
        assert!(
            in_flight > 0 || matches!(landing, Landed::WindowMissed),
            "round {round}: every upload had finished before the kill ({landing:?})"
        );
        landed.push((landing, in_flight));
        kill(&mut node);
        node = serve(BIN, &config);
        let restarted = Instant::now();

        let mut done = Vec::new();
        for (task, path) in tasks.into_iter().zip(&files) {
            match task.await.expect("upload task") {
                Ok(record) => done.push((record, path)),
                Err(err) => never_completed.push(err),
            }
        }
        let recovery = restarted.elapsed();
        recoveries.push(recovery);
        for (record, path) in done {
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
         kill -9 rounds (seed {seed}; kills landed, with the uploads then in flight: {landed:?}); never completed: {}; \
         recovery after restart {:?} (goal: under {RECOVERY_GOAL:?}); \
         5xx answers seen: {errors}; bytes handed to the network: {} MiB",
        uploads * rounds,
        never_completed.len(),
        recoveries,
        seen.sent.load(Ordering::Relaxed) / MIB as u64,
    );
    assert!(never_completed.is_empty(), "{never_completed:#?}");
    assert_eq!(completed, uploads * rounds);
    assert_eq!(errors, 0, "5xx answers");
    assert!(
        recoveries.iter().all(|r| *r < RECOVERY_GOAL),
        "recovery took {recoveries:?}"
    );
}
