//! Slow and silent clients, on raw sockets: neither the API nor the embedded
//! store keeps a connection open for one that makes no progress (slowloris).

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use uploadgate_testkit::TestApp;
use uploadgate_testkit::engines::external_store;

/// Both deadlines, short for the test.
const DEADLINE: Duration = Duration::from_millis(800);
/// How long after its deadline a connection may take to be closed.
const SLACK: Duration = Duration::from_millis(1500);

async fn app() -> TestApp {
    TestApp::builder()
        .configure(|config| {
            config.connections.header_read_timeout = DEADLINE;
            config.connections.body_idle_timeout = DEADLINE;
        })
        .start()
        .await
}

/// `host:port` of a URL.
fn address(url: &str) -> String {
    let url = url::Url::parse(url).expect("url");
    format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port_or_known_default().expect("port")
    )
}

/// Sends `head` then `drip` one line at a time, 300 ms apart, and returns how
/// long the peer took to close the connection (reading what it answered, if
/// anything). Panics if it is still open once every line was sent.
async fn dripped(address: &str, head: &str, drip: &[&str]) -> (Duration, String) {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    for line in drip {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (started.elapsed(), lossy(&answer)),
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if stream.write_all(line.as_bytes()).await.is_err() {
            return (started.elapsed(), lossy(&answer));
        }
    }
    panic!(
        "still open after {:?}, having answered {:?}",
        started.elapsed(),
        lossy(&answer)
    );
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Twenty header lines, 300 ms apart: six seconds of a request that never ends.
fn header_lines() -> Vec<&'static str> {
    vec!["X-Slow: still coming\r\n"; 20]
}

#[tokio::test]
async fn headers_sent_a_line_at_a_time_are_cut_off_at_their_deadline() {
    let app = app().await;
    let mut listeners = vec![address(&app.url("/"))];
    if !external_store() {
        let record = app.create_put("alice", "image/png", &[0u8; 1000]).await;
        listeners.push(address(record["upload"]["url"].as_str().expect("url")));
    }
    for listener in &listeners {
        let (took, _) = dripped(
            listener,
            "GET /healthz HTTP/1.1\r\nHost: test\r\n",
            &header_lines(),
        )
        .await;
        assert!(took < DEADLINE + SLACK, "{listener}: closed after {took:?}");

        // Connected, then silent.
        let (took, answer) = dripped(listener, "", &[""; 20]).await;
        assert!(took < DEADLINE + SLACK, "{listener}: closed after {took:?}");
        assert!(answer.is_empty(), "{answer}");
    }
}

#[tokio::test]
async fn a_keep_alive_connection_left_idle_is_closed() {
    let app = app().await;
    let (took, answer) = dripped(
        &address(&app.url("/")),
        "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n",
        &[""; 20],
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < DEADLINE + SLACK, "closed after {took:?}");
}

#[tokio::test]
async fn a_body_that_stops_is_cut_off_and_a_steady_one_is_not() {
    let app = app().await;
    // The API: a creation whose JSON body stops after its first bytes.
    let token = app.token("alice");
    let (took, answer) = dripped(
        &address(&app.url("/")),
        &format!(
            "POST /v1/uploads HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"filename\""
        ),
        &[""; 20],
    )
    .await;
    assert!(took < DEADLINE + SLACK, "closed after {took:?}: {answer}");
    assert!(!answer.contains(" 201 "), "{answer}");

    if external_store() {
        return;
    }
    // The embedded store: a presigned PUT whose body stops after 10 bytes.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(1000, b' ');
    let record = app.create_put("alice", "application/pdf", &pdf).await;
    let (took, answer) = dripped(
        &address(record["upload"]["url"].as_str().expect("url")),
        &format!("{}0123456789", presigned_put_head(&record, 1000)),
        &[""; 20],
    )
    .await;
    assert!(took < DEADLINE + SLACK, "closed after {took:?}: {answer}");

    // A body sent a little at a time, each pause under the deadline, is
    // taken whole however long it takes in all (here about 2.7 s).
    let mut stream = TcpStream::connect(address(record["upload"]["url"].as_str().expect("url")))
        .await
        .expect("connect");
    stream
        .write_all(presigned_put_head(&record, 1000).as_bytes())
        .await
        .expect("head");
    for chunk in pdf.chunks(100) {
        tokio::time::sleep(DEADLINE / 3).await;
        stream.write_all(chunk).await.expect("a steady body");
    }
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).await.expect("answered");
    assert_eq!(&answer, b"HTTP/1.1 200", "{}", lossy(&answer));
    let completed = app
        .complete("alice", record["id"].as_str().expect("id"))
        .await;
    assert_eq!(completed.status(), reqwest::StatusCode::OK);
    let completed: Value = completed.json().await.expect("record");
    assert_eq!(completed["status"], "completed", "{completed}");
}

/// The request line and headers of the presigned PUT `record` instructs.
fn presigned_put_head(record: &Value, length: usize) -> String {
    let url = url::Url::parse(record["upload"]["url"].as_str().expect("url")).expect("url");
    let mut head = format!(
        "PUT {}?{} HTTP/1.1\r\nHost: {}\r\nContent-Length: {length}\r\n",
        url.path(),
        url.query().unwrap_or_default(),
        address(url.as_str()),
    );
    let headers = record["upload"]["headers"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, value) in headers {
        head.push_str(&format!("{name}: {}\r\n", value.as_str().expect("header")));
    }
    head.push_str("\r\n");
    head
}

#[tokio::test]
async fn deadlines_of_zero_are_refused() {
    let mut config = uploadgate_server::config::Config::default();
    config.connections.header_read_timeout = Duration::ZERO;
    let err = config.finish().expect_err("a zero deadline");
    assert!(err.to_string().contains("header_read_timeout"), "{err}");
}
