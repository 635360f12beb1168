//! Latency over the run, second by second, and the run's totals.

use std::fmt::Write as _;
use std::time::Duration;

use crate::connection::Sample;
use crate::process::Usage;

/// The thresholds whose exceeding seconds the summary counts.
const STALL_MS: [f64; 3] = [20.0, 50.0, 100.0];

#[derive(Debug)]
pub struct Report {
    seconds: Vec<Second>,
    all: Stats,
    rss_mib: Vec<f64>,
    cpu: f64,
}

#[derive(Debug, Default)]
struct Second {
    stats: Stats,
    rss_mib: Option<f64>,
    cpu: Option<f64>,
}

#[derive(Debug, Default)]
struct Stats {
    requests: usize,
    errors: usize,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

impl Stats {
    fn of(samples: &[Sample]) -> Self {
        let mut millis: Vec<f64> = samples.iter().map(|s| ms(s.latency)).collect();
        millis.sort_by(f64::total_cmp);
        Self {
            requests: samples.len(),
            errors: samples.iter().filter(|s| !s.ok).count(),
            p50: rank(&millis, 0.50),
            p99: rank(&millis, 0.99),
            p999: rank(&millis, 0.999),
            max: millis.last().copied().unwrap_or(0.0),
        }
    }
}

/// The nearest-rank percentile of sorted values.
fn rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl Report {
    /// Each sample counts in the second it was sent in.
    pub fn new(samples: Vec<Sample>, usage: &[Usage], seconds: usize) -> Self {
        let mut by_second: Vec<Vec<Sample>> = vec![Vec::new(); seconds];
        for sample in &samples {
            let second = (sample.sent.as_secs() as usize).min(seconds - 1);
            by_second[second].push(*sample);
        }
        let mut seconds: Vec<Second> = by_second
            .iter()
            .map(|samples| Second {
                stats: Stats::of(samples),
                ..Second::default()
            })
            .collect();
        // A sample taken at the end of second n describes second n - 1.
        for sample in usage {
            if let Some(second) = sample
                .second
                .checked_sub(1)
                .and_then(|s| seconds.get_mut(s))
            {
                second.rss_mib = Some(sample.rss_mib);
                second.cpu = Some(sample.cpu);
            }
        }
        Self {
            all: Stats::of(&samples),
            rss_mib: seconds.iter().filter_map(|s| s.rss_mib).collect(),
            cpu: seconds.iter().filter_map(|s| s.cpu).sum(),
            seconds,
        }
    }

    pub fn per_second_tsv(&self) -> String {
        let mut out =
            String::from("second\trequests\terrors\tp50_ms\tp99_ms\tmax_ms\trss_mib\tcpu_s\n");
        for (index, second) in self.seconds.iter().enumerate() {
            let s = &second.stats;
            let _ = writeln!(
                out,
                "{index}\t{}\t{}\t{:.2}\t{:.2}\t{:.2}\t{}\t{}",
                s.requests,
                s.errors,
                s.p50,
                s.p99,
                s.max,
                second
                    .rss_mib
                    .map_or(String::from("-"), |v| format!("{v:.1}")),
                second.cpu.map_or(String::from("-"), |v| format!("{v:.2}")),
            );
        }
        out
    }

    /// Human lines, then one `summary key=value ...` line for scripts.
    pub fn summary(&self) -> String {
        let all = &self.all;
        let run = self.seconds.len() as f64;
        let worst = self
            .seconds
            .iter()
            .max_by(|a, b| a.stats.p99.total_cmp(&b.stats.p99));
        let worst_p99 = worst.map_or(0.0, |s| s.stats.p99);
        let over: Vec<usize> = STALL_MS
            .iter()
            .map(|limit| self.seconds.iter().filter(|s| s.stats.max > *limit).count())
            .collect();
        let rss_first = self.rss_mib.first().copied().unwrap_or(0.0);
        let rss_last = self.rss_mib.last().copied().unwrap_or(0.0);
        let rss_max = self.rss_mib.iter().copied().fold(0.0, f64::max);
        let cpu_us = if all.requests == 0 {
            0.0
        } else {
            self.cpu / all.requests as f64 * 1e6
        };
        let rps = all.requests as f64 / run;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} requests in {run:.0} s ({rps:.0}/s), {} errors; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            all.requests, all.errors, all.p50, all.p99, all.p999, all.max,
        );
        let _ = writeln!(
            out,
            "per second: worst p99 {worst_p99:.2} ms; seconds whose max passed 20 ms: {}, 50 ms: {}, 100 ms: {} (of {})",
            over[0],
            over[1],
            over[2],
            self.seconds.len(),
        );
        if !self.rss_mib.is_empty() {
            let _ = writeln!(
                out,
                "server: RSS {rss_first:.0} MiB after the first second, {rss_last:.0} MiB at the end, {rss_max:.0} MiB at most; CPU {cpu_us:.0} us per request"
            );
        }
        let fields = [
            ("requests", all.requests as f64),
            ("rps", rps),
            ("errors", all.errors as f64),
            ("p50_ms", all.p50),
            ("p99_ms", all.p99),
            ("p999_ms", all.p999),
            ("max_ms", all.max),
            ("worst_second_p99_ms", worst_p99),
            ("over_20ms", over[0] as f64),
            ("over_50ms", over[1] as f64),
            ("over_100ms", over[2] as f64),
            ("seconds", run),
            ("rss_first_mib", rss_first),
            ("rss_last_mib", rss_last),
            ("rss_max_mib", rss_max),
            ("cpu_us", cpu_us),
        ];
        out.push_str("summary");
        for (key, value) in fields {
            let _ = write!(out, " {key}={value:.3}");
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sent_ms: u64, latency_ms: u64, ok: bool) -> Sample {
        Sample {
            sent: Duration::from_millis(sent_ms),
            latency: Duration::from_millis(latency_ms),
            ok,
        }
    }

    #[test]
    fn each_second_has_its_own_tail_and_the_summary_counts_the_stalls() {
        // Second 0: 100 fast requests; second 1: 99 fast and one of 120 ms;
        // second 2: 98 fast and two failures of 30 ms.
        let mut samples: Vec<Sample> = (0..100).map(|i| sample(i * 5, 2, true)).collect();
        samples.extend((0..99).map(|i| sample(1000 + i * 5, 3, true)));
        samples.push(sample(1999, 120, true));
        samples.extend((0..98).map(|i| sample(2000 + i * 5, 4, true)));
        samples.extend([sample(2990, 30, false), sample(2995, 30, false)]);
        let report = Report::new(samples, &[], 3);

        let table = report.per_second_tsv();
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip(1)
            .map(|l| l.split('\t').collect())
            .collect();
        assert_eq!(rows[0][..6], ["0", "100", "0", "2.00", "2.00", "2.00"]);
        assert_eq!(rows[1][..6], ["1", "100", "0", "3.00", "3.00", "120.00"]);
        assert_eq!(rows[2][..6], ["2", "100", "2", "4.00", "30.00", "30.00"]);

        let summary = report.summary();
        let line = summary.lines().last().expect("a summary line");
        for field in [
            "requests=300.000",
            "errors=2.000",
            "max_ms=120.000",
            "worst_second_p99_ms=30.000",
        ] {
            assert!(line.contains(field), "{field} in {line}");
        }
        for field in ["over_20ms=2.000", "over_50ms=1.000", "over_100ms=1.000"] {
            assert!(line.contains(field), "{field} in {line}");
        }
    }

    #[test]
    fn a_sample_sent_at_the_deadline_counts_in_the_last_second() {
        let report = Report::new(vec![sample(3000, 1, true)], &[], 3);
        assert!(
            report
                .per_second_tsv()
                .lines()
                .nth(3)
                .is_some_and(|l| l.starts_with("2\t1\t"))
        );
    }
}
