//! `uploadgate check`: every configured part tried once, the way the first
//! upload would try it, so that a wrong bucket, a CORS rule that misses the
//! app's origin or an identity provider that does not answer is found before
//! going live. `serve` runs the same checks at start and logs what fails.
//!
//! What is reported never holds a secret: no URL with credentials or a
//! signature, no key, no token; failures are named by the part and by what
//! the part answered.

mod clamd;
mod database;
mod identity;
mod store;
mod webhooks;

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::storage::ObjectStore;

/// The longest one check may take: a part that has not answered by then is down
/// as far as users are concerned.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// What one part answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which part: `database`, `store`, `store: CORS for https://app.example`, ...
    pub part: String,
    pub ok: bool,
    /// What was seen when it passed; what is wrong (and what to do) when it failed.
    pub detail: String,
}

/// Every finding of one run, in the order the parts were checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Finding>,
}

impl Report {
    fn push(&mut self, part: impl Into<String>, outcome: Result<String, String>) {
        let ok = outcome.is_ok();
        self.checks.push(Finding {
            part: part.into(),
            ok,
            detail: outcome.unwrap_or_else(|reason| reason),
        });
        self.ok = self.checks.iter().all(|finding| finding.ok);
    }

    /// The findings that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.checks.iter().filter(|finding| !finding.ok)
    }
}

/// One line per part: `ok` or `FAIL`, the part, and what it answered.
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for finding in &self.checks {
            let status = if finding.ok { "ok" } else { "FAIL" };
            writeln!(f, "{status:<4}  {}: {}", finding.part, finding.detail)?;
        }
        Ok(())
    }
}

/// Checks every part `config` names, with `store` as the server reaches it
/// and `origins` as the browser origins the API allows.
pub async fn run(config: &Config, store: &dyn ObjectStore, origins: &[String]) -> Report {
    let mut report = Report {
        ok: true,
        checks: Vec::new(),
    };
    database::check(&mut report, config).await;
    store::check(&mut report, config, store, origins).await;
    identity::check(&mut report, config).await;
    clamd::check(&mut report, config).await;
    webhooks::check(&mut report, config).await;
    report
}

/// `work`, or a failure saying it did not answer within `CHECK_TIMEOUT`.
async fn bounded<T>(work: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(CHECK_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())))
}

/// The HTTP client of the checks: no redirect is followed (a probe must reach
/// the part itself) and no connection kept.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CHECK_TIMEOUT)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_default()
}

/// A request's failure without its URL, which may carry a signature or a token.
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_connect() {
        "cannot connect".to_owned()
    } else if err.is_timeout() {
        "no answer in time".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_fails_when_any_part_fails_and_prints_a_line_per_part() {
        let mut report = Report::default();
        report.push("database", Ok("sqlite, 3 migrations applied".into()));
        assert!(report.ok);
        report.push("store", Err("cannot connect".into()));
        report.push("clamd", Ok("clean".into()));
        assert!(!report.ok);
        assert_eq!(
            report.to_string(),
            "ok    database: sqlite, 3 migrations applied\nFAIL  store: cannot connect\nok    clamd: clean\n"
        );
        assert_eq!(report.failures().count(), 1);
    }
}
