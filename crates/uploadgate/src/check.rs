//! `uploadgate check`, and the same checks when `serve` starts.

use std::future::Future;

use uploadgate_server::check::Report;
use uploadgate_server::config::Config;

/// Prints one line per part (or the report as JSON); fails when any part failed.
pub async fn run(config: &Config, json: bool) -> anyhow::Result<()> {
    let report = uploadgate_server::server::check(config).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    let failed = report.failures().count();
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} checks failed",
        report.checks.len()
    );
    Ok(())
}

/// Runs `checks` in the background and logs each failure: a server with a
/// broken part still starts (what works keeps working), but says so at once
/// rather than at its first upload.
pub fn log_at_start(checks: impl Future<Output = Report> + Send + 'static) {
    tokio::spawn(async move {
        let report = checks.await;
        for finding in report.failures() {
            tracing::warn!(part = %finding.part, reason = %finding.detail, "check failed at start: run `uploadgate check` for the whole report");
        }
        if report.ok {
            tracing::info!(checks = report.checks.len(), "every check passed at start");
        }
    });
}
