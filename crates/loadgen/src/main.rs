//! `uploadgate-loadgen`: what `bench/soak.sh` drives the servers with. wrk
//! reports only totals over a run; a stall of half a second in minute three
//! hides in them. This keeps every request's latency, by the second it was
//! sent in, and reports each second's p99 and max.

mod connection;
mod process;
mod report;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use clap::Parser;

use crate::connection::Request;

/// Sends one request over and over on `--connections` kept-alive HTTP/1.1
/// connections for `--duration`, then prints the run's latency second by second.
#[derive(Debug, Parser)]
struct Args {
    /// An `http://` URL on loopback.
    url: http::Uri,
    #[arg(long, default_value = "POST")]
    method: http::Method,
    /// `Name: value`; repeat for more.
    #[arg(long = "header")]
    headers: Vec<String>,
    #[arg(long, default_value = "")]
    body: String,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    duration: Duration,
    /// Samples this process's RSS and CPU every second (the server under test).
    #[arg(long)]
    watch_pid: Option<u32>,
    /// Writes one line per second here (tab-separated, with a header).
    #[arg(long)]
    per_second: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let request = Request::new(
        &args.url,
        args.method,
        &args.headers,
        Bytes::from(args.body),
    )?;
    let start = Instant::now();
    let deadline = start + args.duration;
    let watcher = args
        .watch_pid
        .map(|pid| tokio::spawn(process::watch(pid, start, deadline)));
    let connections: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(connection::run(request.clone(), start, deadline)))
        .collect();
    let mut samples = Vec::new();
    for connection in connections {
        samples.extend(connection.await.context("a connection task panicked")?);
    }
    let usage = match watcher {
        Some(watcher) => watcher.await.context("the process watcher panicked")?,
        None => Vec::new(),
    };
    let seconds = args.duration.as_secs().max(1) as usize;
    let report = report::Report::new(samples, &usage, seconds);
    if let Some(path) = &args.per_second {
        std::fs::write(path, report.per_second_tsv())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    print!("{}", report.summary());
    Ok(())
}
