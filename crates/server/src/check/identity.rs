//! Each trusted identity provider: its discovery document and key set, fetched
//! as the server fetches them.

use super::{Report, bounded};
use crate::auth::probe_issuer;
use crate::config::Config;

pub(super) async fn check(report: &mut Report, config: &Config) {
    for issuer in &config.auth.issuers {
        let outcome = bounded(async {
            let keys = probe_issuer(issuer).await?;
            let via = if issuer.jwks_url.is_some() {
                "the configured jwks_url"
            } else {
                "discovery"
            };
            Ok(format!(
                "{keys} signing keys published, found through {via}"
            ))
        })
        .await;
        report.push(format!("identity provider {}", issuer.issuer), outcome);
    }
}
