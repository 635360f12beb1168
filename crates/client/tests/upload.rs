//! The client against a real uploadgate server with its embedded store.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::sync::Notify;
use uploadgate_client::types::UploadStatus;
use uploadgate_client::{Api, Event, ResumeStore, UploadOptions, Uploader};
use uploadgate_testkit::{TestApp, assemble_in_storage, strings};

use store_proxy::{Put, Refusal, StoreProxy};

mod store_proxy;

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A server whose default profile takes any binary file in 5 MiB parts above
/// 5 MiB; `store_public` points clients at a proxy in front of the store.
async fn server(store_listen: u16, store_public: Option<u16>) -> TestApp {
    TestApp::builder()
        .configure(move |c| {
            c.store.listen = ([127, 0, 0, 1], store_listen).into();
            c.store.public_url = store_public.map(|port| {
                format!("http://127.0.0.1:{port}")
                    .parse()
                    .expect("proxy URL")
            });
        })
        .profile("default", |p| {
            p.content_types = strings(["application/octet-stream"]);
            p.max_size = 1024 * uploadgate_testkit::MIB;
            p.multipart_threshold = 5 * uploadgate_testkit::MIB;
            p.part_size = Some(5 * uploadgate_testkit::MIB);
        })
        .start()
        .await
}

fn random_file(dir: &Path, len: usize) -> std::path::PathBuf {
    let path = dir.join("data.bin");
    let mut bytes = vec![0u8; len];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for byte in &mut bytes {
        // xorshift: incompressible enough, reproducible, no dependency.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = x.to_le_bytes()[0];
    }
    std::fs::write(&path, bytes).expect("write file");
    path
}

fn uploader(server: &TestApp, state: &Path) -> Uploader {
    let api = Api::new(&server.base, &server.token("cli")).expect("api");
    Uploader::new(api, ResumeStore::at(state))
}

async fn downloaded_sha256(uploader: &Uploader, id: uuid::Uuid) -> String {
    let link = uploader.api().download_link(id).await.expect("link");
    let bytes = reqwest::get(&link.url)
        .await
        .expect("download")
        .bytes()
        .await
        .expect("body");
    hex::encode(Sha256::digest(&bytes))
}

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

fn options(parallel: usize) -> UploadOptions {
    UploadOptions {
        parallel,
        ..UploadOptions::default()
    }
}

/// Counts bytes sent, and fires `stop` once `after` bytes have gone.
fn counting(after: u64) -> (uploadgate_client::Progress, Arc<AtomicU64>, Arc<Notify>) {
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(Notify::new());
    let (counter, trigger) = (sent.clone(), stop.clone());
    let progress: uploadgate_client::Progress = Arc::new(move |event| {
        if let Event::Sent(n) = event
            && counter.fetch_add(n, Ordering::Relaxed) + n >= after
        {
            trigger.notify_one();
        }
    });
    (progress, sent, stop)
}

/// Each PUT carried the SHA-256 of the bytes that came, in a header its URL
/// signs: storage refuses other bytes.
fn assert_checksummed(puts: &[Put]) {
    for put in puts {
        assert_eq!(put.checksum.as_ref(), Some(&put.body_sha256), "{put:?}");
        assert!(
            put.signed_headers
                .split(';')
                .any(|h| h == "x-amz-checksum-sha256"),
            "{put:?}"
        );
    }
}

#[tokio::test]
async fn a_file_goes_up_in_parallel_checksummed_parts_and_comes_back_identical() {
    let (store, public) = (free_port(), free_port());
    let parallel = 3;
    let proxy = StoreProxy::start(
        public,
        store,
        store_proxy::Options {
            hold_until: parallel,
            ..Default::default()
        },
    )
    .await;
    let server = server(store, Some(public)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = random_file(dir.path(), 4 * PART + 123);
    let uploader = uploader(&server, &dir.path().join("state"));
    let (progress, sent, _) = counting(u64::MAX);

    let report = uploader
        .upload(&file, &options(parallel), &progress)
        .await
        .expect("upload");
    assert_eq!(report.record.status, UploadStatus::Completed);
    assert_eq!(report.record.part_count, Some(5));
    assert_eq!(report.bytes_sent, (4 * PART + 123) as u64);
    assert_eq!(sent.load(Ordering::Relaxed), report.bytes_sent);
    assert!(!report.resumed);
    // `parallel` parts were in flight at once, never more; each went once.
    assert_eq!(proxy.most_in_flight(), parallel);
    let puts = proxy.puts();
    let mut parts: Vec<_> = puts.iter().map(|put| put.part).collect();
    parts.sort_unstable();
    assert_eq!(parts, (1..=5).map(Some).collect::<Vec<_>>());
    assert_checksummed(&puts);
    assert_eq!(
        downloaded_sha256(&uploader, report.record.id).await,
        sha256_of(&file)
    );
}

#[tokio::test]
async fn a_small_file_goes_up_in_one_put_with_its_checksum() {
    let (store, public) = (free_port(), free_port());
    let proxy = StoreProxy::start(public, store, store_proxy::Options::default()).await;
    let server = server(store, Some(public)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = random_file(dir.path(), 300_000);
    let uploader = uploader(&server, &dir.path().join("state"));
    let (progress, _, _) = counting(u64::MAX);
    let report = uploader
        .upload(&file, &options(4), &progress)
        .await
        .expect("upload");
    assert_eq!(report.record.status, UploadStatus::Completed);
    assert_eq!(report.record.part_count, None);
    let puts = proxy.puts();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0].part, None);
    assert_checksummed(&puts);
    // The file's digest, declared at creation, is what the upload records.
    assert_eq!(report.record.checksum_sha256, puts[0].checksum);
    assert_eq!(
        downloaded_sha256(&uploader, report.record.id).await,
        sha256_of(&file)
    );
}

#[tokio::test]
async fn an_interrupted_upload_resumes_and_sends_only_what_storage_lacks() {
    let server = server(free_port(), None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 8 * PART;
    let file = random_file(dir.path(), size);
    let state = dir.path().join("state");
    let parallel = 3;

    // Run 1: stopped (the future dropped, as by Ctrl-C or a crash) at 60%.
    let first = uploader(&server, &state);
    let (progress, sent_first, stop) = counting(size as u64 * 6 / 10);
    let opts = options(parallel);
    tokio::select! {
        result = first.upload(&file, &opts, &progress) => panic!("finished: {result:?}"),
        () = stop.notified() => {}
    }
    let sent_first = sent_first.load(Ordering::Relaxed);

    // Run 2: a new process would do exactly this.
    let second = uploader(&server, &state);
    let (progress, _, _) = counting(u64::MAX);
    let report = second
        .upload(&file, &options(parallel), &progress)
        .await
        .expect("resumed upload");
    assert!(report.resumed);
    assert_eq!(report.record.status, UploadStatus::Completed);
    assert!(report.bytes_already_stored >= 2 * PART as u64, "{report:?}");
    assert_eq!(
        report.bytes_already_stored + report.bytes_sent,
        size as u64,
        "run 2 sends exactly what storage lacked"
    );
    let sent_twice = sent_first - report.bytes_already_stored;
    assert!(
        sent_twice <= (parallel * PART) as u64,
        "{sent_twice} bytes sent twice, more than one part per parallel slot"
    );
    assert_eq!(
        downloaded_sha256(&second, report.record.id).await,
        sha256_of(&file)
    );
}

#[tokio::test]
async fn a_changed_file_starts_a_new_upload_and_the_old_one_is_aborted() {
    let server = server(free_port(), None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = random_file(dir.path(), 4 * PART);
    let state = dir.path().join("state");
    let first = uploader(&server, &state);
    let (progress, _, stop) = counting(PART as u64 * 2);
    let (tx, started) = std::sync::mpsc::channel();
    let watch: uploadgate_client::Progress = {
        let progress = progress.clone();
        Arc::new(move |event| {
            if let Event::Started { upload_id, .. } = &event {
                let _ = tx.send(*upload_id);
            }
            progress(event);
        })
    };
    let opts = options(2);
    tokio::select! {
        result = first.upload(&file, &opts, &watch) => panic!("finished: {result:?}"),
        () = stop.notified() => {}
    }
    let old_id = started.recv().expect("started");

    // Same size, same path, other content at the start.
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[0] ^= 0xff;
    std::fs::write(&file, bytes).expect("rewrite");

    let report = uploader(&server, &state)
        .upload(&file, &options(2), &progress)
        .await
        .expect("upload");
    assert!(!report.resumed);
    assert_ne!(report.record.id, old_id);
    assert_eq!(report.bytes_sent, (4 * PART) as u64);
    let old = first.api().get(old_id).await.expect("old record");
    assert_eq!(old.status, UploadStatus::Aborted);
    assert_eq!(
        downloaded_sha256(&first, report.record.id).await,
        sha256_of(&file)
    );
}

#[tokio::test]
async fn storage_503s_are_retried_with_backoff() {
    let (store, public) = (free_port(), free_port());
    // Three refusals of the first part in a row, the first asking for 1 s.
    let refuse = vec![
        Refusal {
            retry_after_secs: Some(1),
            ..Refusal::UNAVAILABLE
        },
        Refusal::UNAVAILABLE,
        Refusal::UNAVAILABLE,
    ];
    let proxy = StoreProxy::start(
        public,
        store,
        store_proxy::Options {
            refuse,
            ..Default::default()
        },
    )
    .await;
    let server = server(store, Some(public)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = random_file(dir.path(), 3 * PART);
    let uploader = uploader(&server, &dir.path().join("state"));
    let announced = Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = announced.clone();
    let progress: uploadgate_client::Progress = Arc::new(move |event| {
        if let Event::Retrying { delay, .. } = event {
            heard.lock().expect("delays").push(delay);
        }
    });
    let report = uploader
        .upload(&file, &options(1), &progress)
        .await
        .expect("upload survives the 503s");
    assert_eq!(report.record.status, UploadStatus::Completed);
    assert_eq!(report.retries, 3, "{report:?}");

    let first: Vec<Put> = proxy
        .puts()
        .into_iter()
        .filter(|put| put.part == Some(1))
        .collect();
    let statuses: Vec<u16> = first.iter().map(|put| put.status).collect();
    assert_eq!(statuses, [503, 503, 503, 200]);
    let announced = announced.lock().expect("delays").clone();
    assert_eq!(announced.len(), 3, "{announced:?}");
    // Retry-After is honoured; then the ceiling doubles from the 200 ms base.
    let policy = uploader.api().retry_policy();
    assert!(announced[0] >= Duration::from_secs(1), "{announced:?}");
    for (n, delay) in announced.iter().enumerate().skip(1) {
        assert!(*delay <= policy.base * 2u32.pow(n as u32), "{announced:?}");
    }
    // And the client really waited that long before trying again.
    for (n, delay) in announced.iter().enumerate() {
        let waited = first[n + 1].arrived - first[n].answered;
        assert!(
            waited >= *delay,
            "waited {waited:?} after announcing {delay:?}"
        );
    }
    assert_eq!(
        downloaded_sha256(&uploader, report.record.id).await,
        sha256_of(&file)
    );
}

#[tokio::test]
async fn an_upload_interrupted_while_the_server_verifies_it_is_not_sent_again() {
    let server = server(free_port(), None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 4 * PART;
    let file = random_file(dir.path(), size);
    let state = dir.path().join("state");

    // Run 1 stops as soon as every byte is in storage, while completion starts.
    let verifying = Arc::new(Notify::new());
    let seen = verifying.clone();
    let progress: uploadgate_client::Progress = Arc::new(move |event| {
        if matches!(event, Event::Verifying) {
            seen.notify_one();
        }
    });
    let opts = options(2);
    let first = uploader(&server, &state);
    tokio::select! {
        result = first.upload(&file, &opts, &progress) => { result.expect("finished before the stop"); }
        () = verifying.notified() => {}
    }

    let (progress, _, _) = counting(u64::MAX);
    let report = uploader(&server, &state)
        .upload(&file, &opts, &progress)
        .await
        .expect("resumed");
    assert!(report.resumed);
    assert_eq!(report.bytes_sent, 0, "every part was already in storage");
    assert_eq!(report.record.status, UploadStatus::Completed);
    assert_eq!(
        downloaded_sha256(&first, report.record.id).await,
        sha256_of(&file)
    );
}

/// Storage assembles the upload while a resumed run sends its parts (another
/// run of ours finished it, or a completion that died): the part the client
/// sends next is refused with 404, and the client reads the upload's status
/// again and takes the server's answer instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_refused_because_storage_assembled_the_upload_follows_the_server() {
    let server = server(free_port(), None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 3 * PART - 1000;
    let file = random_file(dir.path(), size);
    let bytes = std::fs::read(&file).expect("read");
    let state = dir.path().join("state");

    // Run 1 stops at its first byte: the upload exists and is remembered.
    let (progress, _, stop) = counting(1);
    let (first, opts) = (uploader(&server, &state), options(1));
    tokio::select! {
        result = first.upload(&file, &opts, &progress) => panic!("finished: {result:?}"),
        () = stop.notified() => {}
    }
    let id = ResumeStore::at(&state)
        .find(first.api().server(), &file)
        .expect("remembered")
        .upload_id;
    let record = server.record(&id.to_string()).await;
    // Part 1 lands; the status run 2 reads lists it.
    send_parts(&server, id, &bytes, &[1]).await;

    // Once run 2 has planned parts 2 and 3, something else sends them and
    // storage assembles the upload, before run 2's first PUT.
    let handle = tokio::runtime::Handle::current();
    let (base, token, store) = (
        server.base.clone(),
        server.token("cli"),
        server.store().clone(),
    );
    let assembled = Arc::new(AtomicU32::new(0));
    let once = assembled.clone();
    let progress: uploadgate_client::Progress = Arc::new(move |event| {
        if matches!(event, Event::Started { .. }) && once.fetch_add(1, Ordering::SeqCst) == 0 {
            tokio::task::block_in_place(|| {
                handle.block_on(async {
                    send_parts_as(&base, &token, id, &bytes, &[2, 3]).await;
                    assemble_in_storage(store.as_ref(), &record).await;
                });
            });
        }
    });
    let report = uploader(&server, &state)
        .upload(&file, &options(1), &progress)
        .await
        .expect("the server's answer, not storage's refusal");
    assert_eq!(
        assembled.load(Ordering::SeqCst),
        1,
        "planned once, not looping"
    );
    assert_eq!(report.record.status, UploadStatus::Completed);
    assert_eq!(report.record.id, id);
    assert_eq!(
        downloaded_sha256(&uploader(&server, &state), id).await,
        sha256_of(&file)
    );
    assert!(
        ResumeStore::at(&state)
            .find(first.api().server(), &file)
            .is_none(),
        "nothing left to resume"
    );
}

/// Signs parts `numbers` of upload `id` through the API and PUTs them, as
/// another client would.
async fn send_parts(server: &TestApp, id: uuid::Uuid, bytes: &[u8], numbers: &[u32]) {
    send_parts_as(&server.base, &server.token("cli"), id, bytes, numbers).await;
}

async fn send_parts_as(base: &str, token: &str, id: uuid::Uuid, bytes: &[u8], numbers: &[u32]) {
    let client = reqwest::Client::new();
    let signed: serde_json::Value = client
        .post(format!("{base}/v1/uploads/{id}/parts"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "partNumbers": numbers }))
        .send()
        .await
        .expect("sign")
        .json()
        .await
        .expect("signed parts");
    for part in signed["parts"].as_array().expect("parts") {
        let number = usize::try_from(part["partNumber"].as_u64().expect("number")).expect("usize");
        let body = bytes[(number - 1) * PART..(number * PART).min(bytes.len())].to_vec();
        let mut put = client.put(part["url"].as_str().expect("url")).body(body);
        for (name, value) in part["headers"].as_object().into_iter().flatten() {
            put = put.header(name, value.as_str().expect("header"));
        }
        let response = put.send().await.expect("PUT");
        assert!(response.status().is_success(), "{}", response.status());
    }
}
