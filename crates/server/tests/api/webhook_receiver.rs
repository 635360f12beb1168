//! A real HTTP receiver for webhook deliveries on a loopback port, answering
//! from a script (fail, hang, succeed) and keeping every request it got.

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
    /// Answers 200 after this many milliseconds.
    SlowOk(u64),
    /// Never answers (a receiver that hangs, or a worker killed mid-delivery).
    Hang,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: Bytes,
    /// What the receiver answered.
    pub status: Option<u16>,
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

    /// Waits (at most 20 s) until a delivery has arrived, answered or not.
    pub async fn first_delivery(&self) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.deliveries().is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery attempt"
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
            id: header("uploadgate-delivery"),
            timestamp: header("uploadgate-timestamp").parse().unwrap_or(0),
            signature: header("uploadgate-signature"),
            body: body.clone(),
            status: match reply {
                Reply::Status(code) => Some(code),
                Reply::SlowOk(_) => Some(200),
                Reply::Hang => None,
            },
        });
        reply
    };
    match reply {
        Reply::Status(code) => StatusCode::from_u16(code).expect("status"),
        Reply::SlowOk(ms) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            StatusCode::OK
        }
        Reply::Hang => std::future::pending().await,
    }
}
