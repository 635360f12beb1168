//! A clamd stand-in on a loopback port that answers the INSTREAM protocol
//! from a script (hang, answer slowly, answer clean), for the tests of the
//! job machinery: retries, dead letters, a worker killed mid-job, shutdown.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What the stand-in does with the next scan.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// Reads the stream and never answers (a clamd that hangs, or a worker
    /// killed mid-scan): the scan times out, which is worth a retry.
    Hang,
    /// Answers clean after this many milliseconds.
    SlowClean(u64),
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Reply>,
    scans: usize,
}

pub struct FakeClamd {
    /// For `scan.clamd`.
    pub address: String,
    shared: Arc<Mutex<Shared>>,
    _task: tokio::task::JoinHandle<()>,
}

impl FakeClamd {
    /// Answers with `script` in order, then clean at once to everything.
    pub async fn start(script: &[Reply]) -> FakeClamd {
        let shared = Arc::new(Mutex::new(Shared {
            script: script.iter().copied().collect(),
            scans: 0,
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("tcp://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let reply = {
                        let mut shared = shared.lock().expect("lock");
                        shared.scans += 1;
                        shared.script.pop_front().unwrap_or(Reply::SlowClean(0))
                    };
                    tokio::spawn(answer(socket, reply));
                }
            }
        });
        FakeClamd {
            address,
            shared,
            _task: task,
        }
    }

    /// Scans asked for so far, answered or not.
    pub fn scans(&self) -> usize {
        self.shared.lock().expect("lock").scans
    }

    /// Waits (at most 20 s) until a scan has started.
    pub async fn first_scan(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.scans() == 0 {
            assert!(tokio::time::Instant::now() < deadline, "no scan");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Reads `zINSTREAM\0` and length-prefixed chunks up to the empty one, then replies.
async fn answer(mut socket: TcpStream, reply: Reply) {
    let mut command = [0u8; 10];
    if socket.read_exact(&mut command).await.is_err() {
        return;
    }
    loop {
        let mut len = [0u8; 4];
        if socket.read_exact(&mut len).await.is_err() {
            return;
        }
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 {
            break;
        }
        let mut chunk = vec![0u8; len];
        if socket.read_exact(&mut chunk).await.is_err() {
            return;
        }
    }
    match reply {
        Reply::Hang => std::future::pending().await,
        Reply::SlowClean(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let _ = socket.write_all(b"stream: OK\0").await;
        }
    }
}
