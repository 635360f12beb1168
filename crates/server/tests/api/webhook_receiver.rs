//! A real HTTP receiver for webhook deliveries on a loopback port, answering
//! from a script (fail, hang, succeed) and keeping every request it got;
//! and their verification by the official Standard Webhooks library, as an
//! application would verify them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// What the receiver does with the next delivery.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Never answers (a receiver that hangs, or a worker killed mid-delivery).
    Hang,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    /// `webhook-id`.
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Bytes,
    /// What the receiver answered.
    pub status: Option<u16>,
}

const VERIFIER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/engines/webhooks"
);

impl Delivery {
    /// Verifies this delivery with the npm `standardwebhooks` package under
    /// `secret`: the payload it accepts, or why it refused.
    pub fn verify(&self, secret: &str) -> Result<serde_json::Value, String> {
        use std::io::Write as _;
        let input = serde_json::json!({
            "headers": {
                "webhook-id": self.id,
                "webhook-timestamp": self.timestamp,
                "webhook-signature": self.signature,
            },
            "body": String::from_utf8_lossy(&self.body),
        });
        let mut child = std::process::Command::new(VERIFIER)
            .arg("verify")
            .env("WEBHOOK_SECRET", secret)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("scripts/engines/webhooks (run `scripts/engines/webhooks install` once)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.to_string().as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("verifier");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(serde_json::from_str(&text).expect("the verified payload"))
        } else {
            Err(text)
        }
    }
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Reply>,
    got: Vec<Delivery>,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers with `script` in order, then 200 to everything.
    pub async fn start(script: &[Reply]) -> Receiver {
        let shared = Arc::new(Mutex::new(Shared {
            script: script.iter().copied().collect(),
            got: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        Receiver {
            url,
            shared,
            _task: task,
        }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().expect("lock").got.clone()
    }

    /// Waits (at most 20 s) until `n` deliveries have arrived, answered or not.
    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let got = self.deliveries();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} deliveries: {got:?}",
                got.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

async fn receive(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let reply = {
        let mut shared = shared.lock().expect("lock");
        let reply = shared.script.pop_front().unwrap_or(Reply::Status(200));
        shared.got.push(Delivery {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: body.clone(),
            status: match reply {
                Reply::Status(code) => Some(code),
                Reply::Hang => None,
            },
        });
        reply
    };
    match reply {
        Reply::Status(code) => StatusCode::from_u16(code).expect("status"),
        Reply::Hang => std::future::pending().await,
    }
}
