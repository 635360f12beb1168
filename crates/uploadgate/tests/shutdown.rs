//! SIGTERM stops `uploadgate serve` gracefully: the request in flight is
//! answered, new connections are refused, and the process exits 0.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use uploadgate_testkit::binary::{serve, zero_config};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = zero_config(dir.path());
    let mut node = serve(BIN, &config);
    assert!(node.store.is_some(), "the embedded store runs");
    let addr = node.api.trim_start_matches("http://").to_owned();

    // A request whose body is still on its way when the signal arrives.
    let body = r#"{"filename":"a.png","contentType":"image/png","size":10}"#;
    let (head, tail) = body.split_at(20);
    let mut stream = TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "POST /v1/uploads HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}",
        node.token,
        body.len()
    )
    .expect("send the head");
    stream.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(200));

    node.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        node.child.try_wait().expect("try_wait").is_none(),
        "exited with a request in flight"
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "still accepting new connections after SIGTERM"
    );

    stream.write_all(tail.as_bytes()).expect("send the rest");
    let mut response = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = stream.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request in flight was not answered: {response:?}"
    );

    let exit = node.exit_within(Duration::from_secs(10));
    assert!(exit.success(), "{exit:?}");
}
