//! A proxy in front of the embedded store, which the server points clients
//! at (`store.public_url`): it records every PUT the client sends (its part,
//! the checksum it carried, the SHA-256 of the bytes that came, when), and
//! can refuse the first ones or hold them until enough are in flight at once.
//! What the client claims to do (parallel parts, checksums, backoff) is then
//! read from what reached storage, not from the client's own report.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;

/// How long a held PUT waits for the others before it goes on anyway.
const HOLD_AT_MOST: Duration = Duration::from_secs(5);

/// One PUT that reached the proxy.
#[derive(Debug, Clone)]
pub struct Put {
    /// `partNumber` from the URL; `None` for a single PUT.
    pub part: Option<u32>,
    /// The `x-amz-checksum-sha256` header it carried.
    pub checksum: Option<String>,
    /// Base64 SHA-256 of the body that came.
    pub body_sha256: String,
    /// The URL's `X-Amz-SignedHeaders`.
    pub signed_headers: String,
    pub arrived: Instant,
    pub answered: Instant,
    pub status: u16,
}

/// The answer the proxy gives a PUT instead of forwarding it.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub status: StatusCode,
    pub retry_after_secs: Option<u64>,
}

impl Refusal {
    pub const UNAVAILABLE: Refusal = Refusal {
        status: StatusCode::SERVICE_UNAVAILABLE,
        retry_after_secs: None,
    };
}

#[derive(Debug, Default)]
pub struct Options {
    /// Answers for the first PUTs, in order; the rest are forwarded.
    pub refuse: Vec<Refusal>,
    /// PUTs wait until this many have been in flight at once (or
    /// `HOLD_AT_MOST` passed): a client that sends one part at a time
    /// never gets there.
    pub hold_until: usize,
}

#[derive(Debug)]
struct Shared {
    store: u16,
    client: reqwest::Client,
    refuse: Mutex<VecDeque<Refusal>>,
    hold_until: usize,
    in_flight: AtomicUsize,
    most_in_flight: watch::Sender<usize>,
    puts: Mutex<Vec<Put>>,
}

#[derive(Debug, Clone)]
pub struct StoreProxy {
    shared: Arc<Shared>,
}

impl StoreProxy {
    /// Listens on `listen` and forwards to the store on `store`.
    pub async fn start(listen: u16, store: u16, options: Options) -> StoreProxy {
        let shared = Arc::new(Shared {
            store,
            client: reqwest::Client::new(),
            refuse: Mutex::new(options.refuse.into()),
            hold_until: options.hold_until,
            in_flight: AtomicUsize::new(0),
            most_in_flight: watch::Sender::new(0),
            puts: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], listen)))
            .await
            .expect("bind the proxy");
        let handler_state = shared.clone();
        let app = axum::Router::new().fallback(move |request: Request| {
            let shared = handler_state.clone();
            async move { shared.handle(request).await }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StoreProxy { shared }
    }

    /// Every PUT so far, in the order they arrived.
    pub fn puts(&self) -> Vec<Put> {
        let mut puts = self.shared.puts.lock().expect("puts").clone();
        puts.sort_by_key(|put| put.arrived);
        puts
    }

    /// The most PUTs that were in flight at once.
    pub fn most_in_flight(&self) -> usize {
        *self.shared.most_in_flight.borrow()
    }
}

impl Shared {
    async fn handle(&self, request: Request) -> Response {
        if request.method() != Method::PUT {
            return self.forward(request).await;
        }
        let arrived = Instant::now();
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.send_if_modified(|most| {
            let higher = now > *most;
            *most = (*most).max(now);
            higher
        });
        let response = self.put(request, arrived).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        response
    }

    async fn put(&self, request: Request, arrived: Instant) -> Response {
        let query = request.uri().query().unwrap_or_default().to_owned();
        let param = |name: &str| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let (part, signed_headers) = (
            param("partNumber").map(|n| n.parse().expect("a part number")),
            param("X-Amz-SignedHeaders").unwrap_or_default(),
        );
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the whole body");
        let record = |status: StatusCode| Put {
            part,
            checksum: parts
                .headers
                .get("x-amz-checksum-sha256")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body_sha256: base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body)),
            signed_headers: signed_headers.clone(),
            arrived,
            answered: Instant::now(),
            status: status.as_u16(),
        };
        let refusal = self.refuse.lock().expect("refusals").pop_front();
        if let Some(refusal) = refusal {
            self.puts.lock().expect("puts").push(record(refusal.status));
            let mut response = refusal.status.into_response();
            if let Some(secs) = refusal.retry_after_secs {
                response
                    .headers_mut()
                    .insert("retry-after", secs.to_string().parse().expect("a header"));
            }
            return response;
        }
        if self.hold_until > 1 {
            let mut most = self.most_in_flight.subscribe();
            let enough = most.wait_for(|most| *most >= self.hold_until);
            let _ = tokio::time::timeout(HOLD_AT_MOST, enough).await;
        }
        let response = self
            .send(
                parts.method.clone(),
                &parts.uri,
                &parts.headers,
                body.clone(),
            )
            .await;
        self.puts
            .lock()
            .expect("puts")
            .push(record(response.status()));
        response
    }

    async fn forward(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the whole body");
        self.send(parts.method, &parts.uri, &parts.headers, body)
            .await
    }

    async fn send(
        &self,
        method: Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response {
        let url = format!(
            "http://127.0.0.1:{}{}",
            self.store,
            uri.path_and_query().map_or("/", |p| p.as_str())
        );
        // Host stays as signed: the proxy's address.
        let answer = self
            .client
            .request(method, url)
            .headers(headers.clone())
            .body(body)
            .send()
            .await
            .expect("the store is reachable");
        let mut response = Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            response = response.header(name, value);
        }
        response
            .body(Body::from(answer.bytes().await.expect("the store's body")))
            .expect("a response")
    }
}
