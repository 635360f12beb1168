//! The server's RSS and CPU, sampled once a second from `/proc`.

use std::time::{Duration, Instant};

/// One second's sample of the watched process.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub second: usize,
    pub rss_mib: f64,
    /// CPU time (user + system, all threads) spent during this second, in seconds.
    pub cpu: f64,
}

pub async fn watch(pid: u32, start: Instant, deadline: Instant) -> Vec<Usage> {
    let mut usage = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut previous = cpu_seconds(pid);
    loop {
        ticker.tick().await;
        if Instant::now() > deadline + Duration::from_millis(500) {
            return usage;
        }
        let (Some(rss_mib), Some(cpu)) = (rss_mib(pid), cpu_seconds(pid)) else {
            return usage;
        };
        usage.push(Usage {
            second: start.elapsed().as_secs() as usize,
            rss_mib,
            cpu: cpu - previous.unwrap_or(cpu),
        });
        previous = Some(cpu);
    }
}

fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: fields count from after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports in clock ticks of 1/100 s (USER_HZ) on every architecture we run.
    Some((user + system) / 100.0)
}
