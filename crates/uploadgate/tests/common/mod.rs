//! Running the real `uploadgate` binary.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Node {
    pub child: Child,
    pub api: String,
    pub store: Option<String>,
    pub token: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `uploadgate serve` with `config` and reads what it prints at start-up.
pub fn serve(config: &Path) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_uploadgate"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("uploadgate starts");
    let stdout = child.stdout.take().expect("stdout");
    let (mut api, mut store, mut token) = (None, None, None);
    for line in BufReader::new(stdout).lines() {
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
    Node {
        child,
        api: api.expect("listening line"),
        store,
        token: token.expect("token line"),
    }
}
