//! The virus scanner, when a profile scans: a small clean probe streamed to
//! clamd must come back clean.

use super::{Report, bounded};
use crate::config::{Config, Processor};
use crate::processing::clamd::{Verdict, scan};

const PROBE: &[u8] = b"uploadgate check: a clean probe\n";

pub(super) async fn check(report: &mut Report, config: &Config) {
    let Some(address) = &config.scan.clamd else {
        return;
    };
    let scanning = config
        .profiles
        .values()
        .any(|profile| profile.processors.contains(&Processor::Scan));
    if !scanning {
        return;
    }
    let outcome = bounded(async {
        match scan(address, &mut &PROBE[..]).await {
            Ok(Verdict::Clean) => Ok(format!("{address} scanned a probe: clean")),
            Ok(Verdict::Infected(name)) => Err(format!(
                "{address} called a harmless probe infected ({name}): its signatures are wrong"
            )),
            Err(err) => Err(format!("{address}: {err}")),
        }
    })
    .await;
    report.push("clamd", outcome);
}
