use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::http::AppState;

/// The caller's address, for per-IP limits: the TCP peer, or the entry the
/// trusted reverse proxy appended to `X-Forwarded-For`. `None` for in-process
/// calls, which have neither.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        if !state.uploads.config.limits.trust_forwarded_for {
            return Ok(ClientIp(peer));
        }
        // Only the last entry: earlier ones are whatever the client chose to send.
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|list| list.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok());
        Ok(ClientIp(forwarded.or(peer)))
    }
}
