//! No configuration value makes `uploadgate serve` panic: bad ones get a clear
//! message and a failed exit, and `*` as a CORS origin works.

use std::process::{Command, Stdio};
use std::time::Duration;

use uploadgate_testkit::binary::{config_with, serve, serve_with_env, zero_config};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");

/// Runs `serve` with the config `toml` (on top of the zero-config file) and
/// returns its exit status and stderr; it must exit by itself.
fn refused(extra: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with(dir.path(), extra);
    refused_file(&config)
}

fn refused_file(config: &std::path::Path) -> (bool, String) {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("uploadgate starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not refuse the config within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    (status.success(), stderr)
}

#[test]
fn bad_values_are_refused_with_a_message_never_a_panic() {
    let cases = [
        ("[profiles.p]\nmax_size = \"10 parsecs\"\n", "max_size"),
        ("[profiles.p]\nurl_ttl = \"-5m\"\n", "url_ttl"),
        ("[profiles.p\nmax_size = 1\n", "TOML"),
        ("[janitor]\ninterval = \"soon\"\n", "interval"),
        ("[profiles.p]\nprocessors = [\"teleport\"]\n", "teleport"),
        ("database_url = \"mysql://localhost/db\"\n", "database URL"),
    ];
    for (extra, mentions) in cases {
        let (ok, stderr) = refused(extra);
        assert!(!ok, "{extra:?} was accepted");
        assert!(!stderr.contains("panicked"), "{extra:?}: {stderr}");
        assert!(
            stderr.to_lowercase().contains(&mentions.to_lowercase()),
            "{extra:?} should name {mentions:?}: {stderr}"
        );
    }
    // A listen address that is not one.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad-listen.toml");
    std::fs::write(&config, "listen = \"localhost:eighty\"\n").expect("write");
    let (ok, stderr) = refused_file(&config);
    assert!(!ok && !stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("listen"), "{stderr}");
}

#[tokio::test]
async fn a_wildcard_cors_origin_serves_every_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = serve(BIN, &config_with(dir.path(), "cors_origins = [\"*\"]\n"));
    let preflight = |url: String| async move {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, url)
            .header("origin", "https://anywhere.example")
            .header("access-control-request-method", "PUT")
            .send()
            .await
            .expect("preflight")
    };
    let api = preflight(format!("{}/v1/uploads", node.api)).await;
    assert_eq!(api.headers()["access-control-allow-origin"], "*");
    let store = node.store.clone().expect("embedded store");
    let store = preflight(format!("{store}uploads/staging/x")).await;
    assert_eq!(store.headers()["access-control-allow-origin"], "*");

    // The same through the environment.
    let dir = tempfile::tempdir().expect("tempdir");
    let node = serve_with_env(
        BIN,
        &zero_config(dir.path()),
        &[("UPLOADGATE_CORS_ORIGINS", "*")],
    );
    let api = preflight(format!("{}/v1/uploads", node.api)).await;
    assert_eq!(api.headers()["access-control-allow-origin"], "*");
}

/// What `serve` (without `--demo-token`) prints before it serves.
async fn startup_output(extra: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with(dir.path(), extra);
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("uploadgate starts");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let first = printed
        .recv_timeout(Duration::from_secs(20))
        .expect("a first line");
    let api = first
        .strip_prefix("uploadgate is listening on ")
        .expect("the listening line")
        .to_owned();
    // Everything is printed before the first request is served.
    let healthy = reqwest::get(format!("{api}/healthz"))
        .await
        .expect("healthz");
    assert!(healthy.status().is_success());
    let _ = child.kill();
    let _ = child.wait();
    let mut output = first;
    while let Ok(line) = printed.recv_timeout(Duration::from_millis(200)) {
        output.push('\n');
        output.push_str(&line);
    }
    output
}

#[tokio::test]
async fn only_the_zero_configuration_setup_prints_a_token() {
    let zero = startup_output("").await;
    assert!(zero.contains("export TOKEN="), "{zero}");
    let configured =
        startup_output("jwt_secret = \"a-configured-secret-of-at-least-32-bytes\"\n").await;
    assert!(
        !configured.contains("TOKEN") && !configured.contains("token="),
        "{configured}"
    );
}
