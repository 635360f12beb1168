//! `uploadgate upload` and friends, as a script would run them: exit codes,
//! `--json`, and Ctrl-C followed by a resume, against a real `serve`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use uploadgate_testkit::binary::{Node, config_with, serve};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");
use serde_json::Value;

const PROFILE: &str = "[profiles.default]\ncontent_types = [\"application/octet-stream\", \"image/png\"]\n\
    max_size = \"1GiB\"\nmultipart_threshold = \"5MiB\"\npart_size = \"5MiB\"\n";

fn client(node: &Node, state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_uploadgate"));
    command
        .env("UPLOADGATE_SERVER", &node.api)
        .env("UPLOADGATE_TOKEN", &node.token)
        .env("UPLOADGATE_STATE_DIR", state);
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("uploadgate runs")
}

fn file_of(dir: &Path, name: &str, len: usize) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut x: u32 = 2_463_534_242;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[1]
        })
        .collect();
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn exit_codes_tell_scripts_what_happened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = serve(BIN, &config_with(dir.path(), PROFILE));
    let state = dir.path().join("state");
    let file = file_of(dir.path(), "data.bin", 1000);

    let ok = run(client(&node, &state).args(["upload", "--json"]).arg(&file));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let outcomes: Value = serde_json::from_slice(&ok.stdout).expect("--json prints JSON");
    assert_eq!(outcomes[0]["record"]["status"], "completed");
    let id = outcomes[0]["record"]["id"].as_str().expect("id").to_owned();

    let status = run(client(&node, &state).args(["status", "--json", &id]));
    assert_eq!(status.status.code(), Some(0));
    let listed = run(client(&node, &state).args(["ls", "--json"]));
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id));
    let out = dir.path().join("back.bin");
    let download = run(client(&node, &state)
        .args(["download", &id, "-o"])
        .arg(&out));
    assert_eq!(download.status.code(), Some(0));
    assert_eq!(
        std::fs::read(&out).expect("read"),
        std::fs::read(&file).expect("read")
    );

    let refused = run(client(&node, &state)
        .args(["upload", "--type", "text/html"])
        .arg(&file));
    assert_eq!(refused.status.code(), Some(3), "refused by policy");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not allowed"));

    let missing = run(client(&node, &state).args(["upload", "no-such-file"]));
    assert_eq!(missing.status.code(), Some(2), "usage");
    let no_token = run(client(&node, &state)
        .env_remove("UPLOADGATE_TOKEN")
        .args(["ls"]));
    assert_eq!(no_token.status.code(), Some(2), "usage");
    let bad_token = run(client(&node, &state)
        .env("UPLOADGATE_TOKEN", "nope")
        .args(["ls"]));
    assert_eq!(bad_token.status.code(), Some(3), "refused");

    // PNG declared, HTML sent: uploaded, then rejected at verification.
    let html = dir.path().join("page.png");
    std::fs::write(&html, b"<html><body>not a picture</body></html>").expect("write");
    let rejected = run(client(&node, &state).arg("upload").arg(&html));
    assert_eq!(
        rejected.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&rejected.stderr)
    );

    let unreachable = run(client(&node, &state)
        .env("UPLOADGATE_SERVER", "http://127.0.0.1:9")
        .args(["status", &id]));
    assert_eq!(unreachable.status.code(), Some(4), "network");
}

#[test]
fn ctrl_c_leaves_the_upload_resumable_and_the_same_command_finishes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = serve(BIN, &config_with(dir.path(), PROFILE));
    let state = dir.path().join("state");
    let size = 200 * 1024 * 1024;
    let file = file_of(dir.path(), "big.bin", size);

    let mut first = client(&node, &state)
        .args(["upload", "--json", "--parallel", "2"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("upload starts");
    let mut stderr = BufReader::new(first.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first line");
    assert!(line.contains("upload "), "{line}");
    std::thread::sleep(Duration::from_millis(500));
    let signal = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -INT {}", first.id()))
        .status()
        .expect("kill");
    assert!(signal.success());
    let exit = first.wait().expect("wait");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    assert_eq!(exit.code(), Some(130), "{rest}");
    assert!(
        rest.contains("Run the same command again to resume"),
        "{rest}"
    );

    let second = run(client(&node, &state).args(["upload", "--json"]).arg(&file));
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let outcome: Value = serde_json::from_slice(&second.stdout).expect("json");
    assert_eq!(outcome[0]["resumed"], true, "{outcome}");
    assert_eq!(outcome[0]["record"]["status"], "completed");
    let stored = outcome[0]["bytesAlreadyStored"].as_u64().expect("number");
    let sent = outcome[0]["bytesSent"].as_u64().expect("number");
    assert!(stored > 0, "nothing was kept from the first run");
    assert_eq!(stored + sent, size as u64);
}
