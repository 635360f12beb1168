//! How the API and the embedded store serve their connections: HTTP/1.1 with
//! every stage of a request under a deadline, and a graceful stop.
//!
//! HTTP/1.1 only: browsers reach the API and the store over HTTP/1.1 (or
//! through a proxy that terminates HTTP/2), and the detection of cleartext
//! HTTP/2 would wait, without a deadline, for a client that sends nothing.

use std::future::Future;
use std::net::SocketAddr;

use axum::body::Body;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt as _};
use tower_http::timeout::TimeoutBody;

use crate::config::ConnectionsConfig;

/// Serves `listener` until `shutdown` resolves, then stops accepting and
/// waits for the requests in flight. `service(peer)` answers the requests
/// of a connection from `peer`; `name` says which listener in logs.
pub async fn serve<S, B>(
    name: &'static str,
    listener: TcpListener,
    deadlines: ConnectionsConfig,
    service: impl Fn(SocketAddr) -> S,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(deadlines.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, mostly: give connections in
                    // flight a moment to end rather than spin.
                    tracing::warn!(listener = name, %err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let answer = service(peer);
        let body_idle = deadlines.body_idle_timeout;
        let requests = hyper::service::service_fn(move |request: Request<Incoming>| {
            let request = request.map(|body| Body::new(TimeoutBody::new(body_idle, body)));
            answer.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(socket), requests));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(listener = name, %err, "connection ended with an error");
            }
        });
    }
    // New connections are refused from here on, not left waiting in the
    // backlog while the requests in flight finish.
    drop(listener);
    graceful.shutdown().await;
}
