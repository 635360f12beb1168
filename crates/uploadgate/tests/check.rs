//! `uploadgate check` as an operator runs it: one line per part, `--json`,
//! the exit status, no secret in what it prints; and `serve` logging what
//! fails when it starts.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use uploadgate_testkit::binary::{config_with, serve};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");

/// `uploadgate check ARGS` in `dir`, with no `UPLOADGATE_*` variable from the
/// environment of the test run.
fn check_in(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.current_dir(dir).arg("check").args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("UPLOADGATE_") {
            command.env_remove(name);
        }
    }
    command.output().expect("uploadgate check runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_zero_configuration_setup_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = check_in(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 4, "{stdout}");
    assert!(lines.iter().all(|line| line.starts_with("ok ")), "{stdout}");
    for part in [
        "database:",
        "store:",
        "store: presigned upload:",
        "store: CORS for http://127.0.0.1:8080:",
    ] {
        assert!(
            lines
                .iter()
                .any(|line| line[2..].trim_start().starts_with(part)),
            "no {part} line:\n{stdout}"
        );
    }
    // Checking creates nothing a first `serve` would find changed.
    assert!(!dir.path().join("data/uploadgate.db").exists());

    let out = check_in(dir.path(), &["--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|check| check["ok"] == true
                && check["part"].is_string()
                && check["detail"].is_string()),
        "{report}"
    );
}

#[test]
fn a_failing_part_exits_non_zero_and_no_secret_is_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let secrets = [
        "s3-secret-key-must-not-be-printed",
        "jwt-secret-that-must-not-be-printed-anywhere",
        "webhook-token-in-the-query",
    ];
    let config = config_with(
        dir.path(),
        &format!(
            "jwt_secret = {:?}\n\
             [s3]\nendpoint = \"http://{closed}\"\naccess_key_id = \"AKIDCHECK\"\nsecret_access_key = {:?}\nforce_path_style = true\n\
             [webhooks]\nurl = \"http://{closed}/hook?token={}\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n",
            secrets[1], secrets[0], secrets[2]
        ),
    );
    let out = check_in(dir.path(), &["--config", config.to_str().expect("path")]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("FAIL  store:")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("FAIL  webhooks:")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("ok    database:")),
        "{stdout}"
    );
    assert!(stderr.contains("checks failed"), "{stderr}");
    for secret in secrets {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} printed:\n{stdout}{stderr}"
        );
    }
}

#[tokio::test]
async fn serve_logs_what_fails_when_it_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let config = config_with(
        dir.path(),
        &format!("[[auth.issuers]]\nissuer = \"http://{closed}\"\naudiences = [\"uploadgate\"]\n"),
    );
    let node = serve(BIN, &config);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = node.logs.lock().expect("logs").clone();
        let failed: Vec<serde_json::Value> = logs
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .filter(|line: &serde_json::Value| {
                line["message"]
                    == "check failed at start: run `uploadgate check` for the whole report"
            })
            .collect();
        if !failed.is_empty() {
            assert_eq!(
                failed.len(),
                1,
                "only the identity provider fails: {failed:?}"
            );
            assert_eq!(failed[0]["level"], "WARN");
            assert_eq!(
                failed[0]["part"],
                format!("identity provider http://{closed}")
            );
            break;
        }
        assert!(Instant::now() < deadline, "no failed check logged:\n{logs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server serves all the same: what works keeps working.
    let ready = reqwest::get(format!("{}/readyz", node.api))
        .await
        .expect("the server answers");
    assert!(ready.status().is_success(), "{}", ready.status());
}
