//! The real binary, twice: `uploadgate serve` as two processes sharing one
//! database and one store, as nodes behind a load balancer would.
//!
//! With `UPLOADGATE_TEST_DATABASE_URL` / `UPLOADGATE_TEST_S3_*` set, both use those
//! engines; otherwise the first serves its embedded store and SQLite file, and the
//! second is pointed at them.

use std::path::Path;
use std::time::Duration;

use uploadgate_client::types::ProcessingState;
use uploadgate_testkit::Api;
use uploadgate_testkit::binary::serve;
use uploadgate_testkit::engines::{store_toml, test_database};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");

use serde_json::{Value, json};

/// Starts `uploadgate serve` with `common` TOML in `dir/NAME`, serving its
/// embedded store (or using the test engines). Returns it, and the `[s3]`
/// section that points further processes at the same store.
fn first_node(dir: &Path, name: &str, common: &str) -> (uploadgate_testkit::binary::Node, String) {
    let data = dir.join(name);
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n{common}[store]\nlisten = \"127.0.0.1:0\"\n{}",
            data.display().to_string(),
            store_toml()
        ),
    )
    .expect("write");
    let node = serve(BIN, &config);
    let store = match &node.store {
        Some(endpoint) => format!(
            "[s3]\nendpoint = {endpoint:?}\naccess_key_id = {:?}\nsecret_access_key = {:?}\nforce_path_style = true\n",
            read_secret(&data, "store-access-key-id"),
            read_secret(&data, "store-secret-access-key"),
        ),
        None => store_toml(),
    };
    (node, store)
}

/// `dir/NAME.toml` for a further process: a data dir of its own, then `body`.
fn further_config(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n{body}",
            dir.join(name).display().to_string()
        ),
    )
    .expect("write");
    config
}

fn read_secret(data: &Path, name: &str) -> String {
    std::fs::read_to_string(data.join("secrets").join(name))
        .expect("secret file")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn two_serve_processes_share_one_upload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jwt = "a-shared-secret-for-both-nodes-of-this-test";
    let database = match std::env::var("UPLOADGATE_TEST_DATABASE_URL") {
        // Ids and keys are unique, so sharing the server's default database is fine.
        Ok(base) => base,
        Err(_) => format!("sqlite://{}", dir.path().join("shared.db").display()),
    };
    let common = format!(
        "listen = \"127.0.0.1:0\"\ndatabase_url = {database:?}\njwt_secret = {jwt:?}\n[profiles.default]\ncontent_types = [\"application/octet-stream\"]\nmultipart_threshold = \"5MiB\"\npart_size = \"5MiB\"\nmax_size = \"20MiB\"\n"
    );
    let (first, store) = first_node(dir.path(), "a", &common);
    let second = serve(
        BIN,
        &further_config(dir.path(), "b", &format!("{common}{store}")),
    );

    let bytes: Vec<u8> = (0..6 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    // Created on the first node, with the token the second one printed...
    let on_first = Api::with_token(first.api.clone(), second.token.clone());
    let record = on_first
        .create(
            "",
            json!({"filename": "a.bin", "contentType": "application/octet-stream", "size": bytes.len()}),
        )
        .await;
    assert_eq!(record["upload"]["method"], "MULTIPART", "{record}");
    let id = record["id"].as_str().expect("id");

    // ...its parts signed by the second...
    let signed: Value = second
        .client()
        .post_json(
            "",
            &format!("/v1/uploads/{id}/parts"),
            &json!({"partNumbers": [1, 2]}),
        )
        .await
        .json()
        .await
        .expect("json");
    for (part, chunk) in signed["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .zip(bytes.chunks(5 * 1024 * 1024))
    {
        let stored = on_first
            .client
            .put(part["url"].as_str().expect("url"))
            .body(chunk.to_vec())
            .send()
            .await
            .expect("put");
        uploadgate_testkit::assert_stored(&stored);
    }

    // ...and completed on the first.
    let completed: Value = first
        .client()
        .complete("", id)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(completed["status"], "completed", "{completed}");

    // Read back through the first.
    let downloaded = first.client().download("", id).await;
    assert!(downloaded == bytes, "the object reads back intact");
}

/// A clamd stand-in on a loopback port that never answers its first scan of
/// `watched` (so the worker running it can be killed mid-job) and answers
/// clean to everything else, such as the probe `uploadgate check` streams when
/// a process starts. Returns its address and how many scans of `watched` it
/// was asked for.
fn hanging_clamd(
    watched: &'static [u8],
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("tcp://{}", listener.local_addr().expect("addr"));
    let scans = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = scans.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // zINSTREAM\0, then length-prefixed chunks up to an empty one.
            let mut command = [0u8; 10];
            let mut ok = stream.read_exact(&mut command).is_ok();
            let mut streamed = Vec::new();
            while ok {
                let mut len = [0u8; 4];
                ok = stream.read_exact(&mut len).is_ok();
                let len = u32::from_be_bytes(len) as usize;
                if len == 0 {
                    break;
                }
                let mut chunk = vec![0u8; len];
                ok = ok && stream.read_exact(&mut chunk).is_ok();
                streamed.extend_from_slice(&chunk);
            }
            if streamed == watched && seen.fetch_add(1, Ordering::SeqCst) == 0 {
                held.push(stream);
                continue;
            }
            let _ = stream.write_all(b"stream: OK\0");
        }
    });
    (address, scans)
}

/// A running `uploadgate worker`, killed when dropped (a failed assertion
/// must not leave it running).
struct Worker(std::process::Child);

impl Worker {
    /// SIGKILL, as a crash would.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `uploadgate worker` with `config`, its log going to `log`.
fn worker(config: &Path, log: &Path) -> Worker {
    Worker(
        std::process::Command::new(env!("CARGO_BIN_EXE_uploadgate"))
            .arg("--config")
            .arg(config)
            .arg("worker")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("uploadgate worker starts"),
    )
}

#[tokio::test]
async fn a_worker_process_killed_mid_job_leaves_the_job_to_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = b"processed by another process";
    let (clamd, scans) = hanging_clamd(bytes);
    // A database of its own: the other test's nodes run workers too, and
    // share nothing with this one.
    let database = match test_database().await {
        Some(url) => url,
        None => format!("sqlite://{}", dir.path().join("shared.db").display()),
    };
    // The API node runs no workers: only the worker processes do.
    let common = format!(
        "listen = \"127.0.0.1:0\"\ndatabase_url = {database:?}\n\
         [workers]\nconcurrency = 0\nlease = \"2s\"\npoll_interval = \"200ms\"\n\
         [scan]\nclamd = {clamd:?}\ntimeout = \"60s\"\n\
         [profiles.default]\ncontent_types = [\"*/*\"]\nprocessors = [\"scan\"]\n"
    );
    let (api, store) = first_node(dir.path(), "api", &common);
    let worker_config = further_config(
        dir.path(),
        "worker",
        &format!(
            "{}{store}",
            common.replace("concurrency = 0", "concurrency = 1")
        ),
    );

    let completed = api
        .client()
        .upload("", None, "application/octet-stream", bytes)
        .await;
    assert_eq!(
        completed.processing.as_ref().map(|p| p.state),
        Some(ProcessingState::Processing),
        "{completed:?}"
    );
    let id = completed.id.to_string();

    // The first worker takes the job and is killed (SIGKILL) while scanning.
    let doomed_log = dir.path().join("doomed.log");
    let mut doomed = worker(&worker_config, &doomed_log);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scans.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no scan; the worker logged:\n{}",
            std::fs::read_to_string(&doomed_log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    doomed.kill();

    // Another worker process takes it over once the lease runs out.
    let mut survivor = worker(&worker_config, &dir.path().join("survivor.log"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let record = loop {
        let record = api
            .client()
            .get_json("", &format!("/v1/uploads/{id}"))
            .await;
        if record["processing"]["state"] != "processing" {
            break record;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never processed: {record}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    survivor.kill();
    assert_eq!(record["processing"]["state"], "ready", "{record}");
    assert_eq!(record["processing"]["jobs"][0]["attempts"], 2, "{record}");
    assert_eq!(record["processing"]["scan"]["verdict"], "clean", "{record}");
    assert_eq!(scans.load(std::sync::atomic::Ordering::SeqCst), 2);
}
