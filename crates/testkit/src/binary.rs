//! The real `uploadgate` binary, started with a config file, as an operator
//! would. Its tests pass their `env!("CARGO_BIN_EXE_uploadgate")`.

use std::io::{BufRead as _, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::Api;

/// A running `uploadgate serve`, killed when dropped.
#[derive(Debug)]
pub struct Node {
    pub child: Child,
    pub api: String,
    pub store: Option<String>,
    pub token: String,
    /// Everything the process logged (stderr) so far.
    pub logs: Arc<Mutex<String>>,
    /// Copies stderr into `logs`; it ends when the process closes stderr.
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Node {
    /// Requests to this node with the token it printed.
    pub fn client(&self) -> Api {
        Api::with_token(self.api.clone(), self.token.clone())
    }

    /// Sends the signal named `name` (`TERM`, `INT`, `STOP`...) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// How the process exits, which must be within `limit`.
    pub fn exit_within(&mut self, limit: std::time::Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(exit) = self.child.try_wait().expect("try_wait") {
                return exit;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running {limit:?} after it was asked to stop"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Stops the process as an operator would (SIGTERM), requires a clean
    /// exit within 10 s, and returns everything it logged: nothing can be
    /// logged later, so a check for what is absent from them is final.
    pub fn stop(mut self) -> String {
        self.signal("TERM");
        let exit = self.exit_within(std::time::Duration::from_secs(10));
        assert!(exit.success(), "{exit:?}");
        if let Some(reader) = self.log_reader.take() {
            reader.join().expect("the log reader");
        }
        self.logs.lock().expect("logs").clone()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config file in `dir` for the zero-config setup (embedded store, SQLite),
/// on free ports.
pub fn zero_config(dir: &Path) -> std::path::PathBuf {
    config_with(dir, "")
}

/// `zero_config` plus `extra` TOML (top-level keys, then tables such as
/// profiles): the binary reads files, so its tests write them.
pub fn config_with(dir: &Path, extra: &str) -> std::path::PathBuf {
    let config = dir.join("uploadgate.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n{extra}\n[store]\nlisten = \"127.0.0.1:0\"\n",
            dir.join("data").display().to_string()
        ),
    )
    .expect("write the config");
    config
}

/// Starts `bin serve --demo-token` with `config` and reads what it prints at
/// start-up, the token included.
pub fn serve(bin: &str, config: &Path) -> Node {
    serve_with_env(bin, config, &[])
}

/// `serve` with extra environment variables (e.g. `RUST_LOG`).
pub fn serve_with_env(bin: &str, config: &Path, env: &[(&str, &str)]) -> Node {
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("serve")
        .arg("--demo-token")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("uploadgate starts");
    let logs = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().expect("stderr");
    let sink = logs.clone();
    let log_reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n @ 1..) = stderr.read(&mut chunk) {
            if let Ok(mut logs) = sink.lock() {
                logs.push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let (mut api, mut store, mut token) = (None, None, None);
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(url) = line.strip_prefix("uploadgate is listening on ") {
            api = Some(url.trim().to_owned());
        } else if let Some(url) = line.strip_prefix("embedded S3 store: ") {
            store = Some(url.trim().to_owned());
        } else if let Some(t) = line.trim().strip_prefix("export TOKEN=") {
            token = Some(t.to_owned());
            break;
        }
    }
    // Keep reading: a closed pipe would make the server's next print fail.
    std::thread::spawn(move || lines.for_each(drop));
    Node {
        child,
        api: api.expect("listening line"),
        store,
        token: token.expect("token line"),
        logs,
        log_reader: Some(log_reader),
    }
}
