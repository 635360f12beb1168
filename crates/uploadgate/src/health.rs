//! `uploadgate health`: the container's health check. The image has no shell
//! and no curl, so the binary asks its own server whether it is ready.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use uploadgate_server::config::Config;

const TIMEOUT: Duration = Duration::from_secs(4);

/// GETs `/readyz` of the server this configuration describes; fails unless it answers 200.
pub async fn run(config: &Config) -> anyhow::Result<()> {
    let url = format!("http://{}/readyz", local(config.listen));
    let response = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} does not answer"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "{url} answered {status}");
    println!("{url}: {status}");
    Ok(())
}

/// Where a local client reaches a server listening on `listen`: a wildcard
/// address is reached on loopback.
fn local(listen: SocketAddr) -> SocketAddr {
    match listen {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, v4.port()))
        }
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, v6.port()))
        }
        other => other,
    }
}
