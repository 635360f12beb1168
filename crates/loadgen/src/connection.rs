//! One kept-alive connection sending the same request until the deadline.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What one request was: when it was sent, how long its answer took, whether it was 2xx.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub sent: Duration,
    pub latency: Duration,
    pub ok: bool,
}

/// The request every connection sends.
#[derive(Debug, Clone)]
pub struct Request {
    address: String,
    template: http::Request<()>,
    body: Bytes,
}

impl Request {
    pub fn new(
        url: &http::Uri,
        method: http::Method,
        headers: &[String],
        body: Bytes,
    ) -> anyhow::Result<Self> {
        if url.scheme_str() != Some("http") {
            bail!("only http:// URLs: the soak runs on loopback");
        }
        let authority = url.authority().context("the URL has no host")?;
        let address = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let mut builder = http::Request::builder()
            .method(method)
            .uri(url.path_and_query().map_or("/", |p| p.as_str()))
            .header(http::header::HOST, authority.as_str());
        for header in headers {
            let (name, value) = header
                .split_once(':')
                .with_context(|| format!("{header:?} is not `Name: value`"))?;
            builder = builder.header(name.trim(), value.trim());
        }
        Ok(Self {
            address,
            template: builder.body(())?,
            body,
        })
    }

    fn build(&self) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.template.method().clone();
        *request.uri_mut() = self.template.uri().clone();
        *request.headers_mut() = self.template.headers().clone();
        request
    }
}

/// Sends `request` back to back until `deadline`, reconnecting after a
/// failure (counted, with the time it took to fail).
pub async fn run(request: Request, start: Instant, deadline: Instant) -> Vec<Sample> {
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        let sent = Instant::now();
        if let Err(error) = send_until(&request, start, deadline, &mut samples).await {
            samples.push(Sample {
                sent: sent - start,
                latency: sent.elapsed(),
                ok: false,
            });
            eprintln!("connection failed, reconnecting: {error:#}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    samples
}

async fn send_until(
    request: &Request,
    start: Instant,
    deadline: Instant,
    samples: &mut Vec<Sample>,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(&request.address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let result = async {
        loop {
            let sent = Instant::now();
            if sent >= deadline {
                return Ok(());
            }
            sender.ready().await?;
            let response = sender.send_request(request.build()).await?;
            let ok = response.status().is_success();
            response.into_body().collect().await?;
            samples.push(Sample {
                sent: sent - start,
                latency: sent.elapsed(),
                ok,
            });
        }
    }
    .await;
    driver.abort();
    result
}
