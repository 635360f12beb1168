//! The webhook endpoint, when one is configured: reachable, with no event sent
//! (a HEAD request; any HTTP answer proves the endpoint is there).

use super::{Report, bounded, describe, http_client};
use crate::config::Config;

pub(super) async fn check(report: &mut Report, config: &Config) {
    let Some(url) = &config.webhooks.url else {
        return;
    };
    // The URL's path or query may hold a token: only its origin is shown.
    let origin = url.origin().ascii_serialization();
    let outcome = bounded(async {
        let response = http_client()
            .head(url.clone())
            .send()
            .await
            .map_err(|err| format!("{origin}: {}", describe(&err)))?;
        Ok(format!(
            "{origin} answered HEAD with {}; no event was sent",
            response.status()
        ))
    })
    .await;
    report.push("webhooks", outcome);
}
