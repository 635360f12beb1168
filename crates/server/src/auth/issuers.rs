//! Tokens of trusted identity providers (`[[auth.issuers]]`), verified with
//! the keys each publishes: signature, `exp`, `nbf`, `iss`, `aud` and the key
//! id, with only the algorithms the configuration allows. An HMAC algorithm
//! is never allowed here (the provider's keys are public: a token "signed"
//! with one by anybody must not pass), nor `none`.

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::cache::VerifiedCache;
use super::hs256::{check_user, refusal};
use super::jwks::KeySet;
use super::{AuthError, Principal};
use crate::config::auth::IssuerConfig;

/// One trusted issuer.
#[derive(Debug)]
pub struct Issuer {
    keys: Arc<KeySet>,
    algorithms: Vec<Algorithm>,
    verified: VerifiedCache,
    /// The key set's retirements when `verified` was last emptied.
    verified_since: AtomicU64,
}

/// Every trusted issuer, found by a token's `iss`.
#[derive(Debug, Default)]
pub struct Issuers(Vec<Issuer>);

impl Issuers {
    pub fn new(configs: &[IssuerConfig]) -> Self {
        let http = super::jwks::http_client();
        Self(
            configs
                .iter()
                .map(|config| Issuer {
                    algorithms: config
                        .algorithms
                        .iter()
                        .filter_map(|name| Algorithm::from_str(name).ok())
                        .filter(|alg| {
                            !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
                        })
                        .collect(),
                    keys: Arc::new(KeySet::new(config.clone(), http.clone())),
                    verified: VerifiedCache::default(),
                    verified_since: AtomicU64::new(0),
                })
                .collect(),
        )
    }

    /// Starts fetching every issuer's keys, and keeps them fresh until `stop`.
    pub fn spawn_refreshers(&self, stop: &watch::Receiver<bool>) {
        for issuer in &self.0 {
            issuer.keys.clone().spawn_refresher(stop.clone());
        }
    }

    /// The issuers whose keys have not been fetched yet (their tokens are
    /// refused until they are).
    pub fn not_loaded(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter(|issuer| !issuer.keys.loaded())
            .map(|issuer| issuer.keys.issuer().issuer.as_str())
            .collect()
    }

    /// The issuer that `iss` names, if trusted.
    pub fn find(&self, iss: &str) -> Option<&Issuer> {
        self.0
            .iter()
            .find(|issuer| issuer.keys.issuer().issuer == iss)
    }
}

impl Issuer {
    /// The user `token` names, if it is valid now.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let config = self.keys.issuer();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let retirements = self.keys.retirements();
        if self.verified_since.swap(retirements, Ordering::AcqRel) != retirements {
            // A token verified with a key the provider no longer publishes
            // must not pass on memory.
            self.verified.clear();
        }
        if let Some(known) = self.verified.get(token, now, config.leeway.as_secs()) {
            return known;
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid("malformed token".into()))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(AuthError::Invalid(format!(
                "{:?} is not an algorithm accepted from this issuer",
                header.alg
            )));
        }
        let published = self.keys.key(header.kid.as_deref()).await.ok_or_else(|| {
            AuthError::Invalid("signed with a key the issuer does not publish".into())
        })?;
        if published
            .algorithm
            .is_some_and(|bound| format!("{bound:?}") != format!("{:?}", header.alg))
        {
            return Err(AuthError::Invalid(
                "the token's algorithm is not its key's".into(),
            ));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&config.issuer]);
        if config.audience_claim == "aud" {
            validation.set_audience(&config.audiences);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        } else {
            // Checked below, in the claim the provider uses.
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp", "iss"]);
        }
        validation.validate_nbf = true;
        validation.leeway = config.leeway.as_secs();
        let data = jsonwebtoken::decode::<Value>(token, &published.key, &validation)
            .map_err(|e| refusal(&e, "the token's algorithm does not fit its key"))?;
        if config.audience_claim != "aud" && !addressed(&data.claims, config) {
            return Err(AuthError::Invalid(format!(
                "wrong audience ({})",
                config.audience_claim
            )));
        }
        let user = claim(&data.claims, &config.user_claim).ok_or_else(|| {
            AuthError::Invalid(format!(
                "the {} claim must name the user",
                config.user_claim
            ))
        })?;
        check_user(&user)?;
        let exp = data
            .claims
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or(now);
        let principal = Principal::user(user);
        // A key retired while this token was checked must not be remembered.
        if self.keys.retirements() == retirements {
            self.verified.put(token, principal.clone(), exp);
        }
        Ok(principal)
    }
}

/// Whether the token's `audience_claim` (a string, or a list of them) names
/// one of the accepted audiences.
fn addressed(claims: &Value, config: &IssuerConfig) -> bool {
    let accepted = |value: &Value| {
        value
            .as_str()
            .is_some_and(|v| config.audiences.iter().any(|a| a == v))
    };
    match claims.get(&config.audience_claim) {
        Some(Value::Array(values)) => values.iter().any(accepted),
        Some(value) => accepted(value),
        None => false,
    }
}

/// The user a token's claims name at `path`: a top-level claim by its whole
/// name (namespaced claims such as `https://example.com/user_id` contain
/// dots and slashes), or else a dotted path into nested objects. A string,
/// or a number written out.
fn claim(claims: &Value, path: &str) -> Option<String> {
    let found = claims.get(path).or_else(|| {
        path.split('.')
            .try_fold(claims, |value, part| value.get(part))
    })?;
    match found {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_user_claim_may_be_namespaced_or_nested() {
        let claims = json!({
            "sub": "auth0|1",
            "https://example.com/user_id": "u-42",
            "app": {"user": {"id": 7}},
            "roles": ["a"],
        });
        assert_eq!(claim(&claims, "sub").as_deref(), Some("auth0|1"));
        assert_eq!(
            claim(&claims, "https://example.com/user_id").as_deref(),
            Some("u-42")
        );
        assert_eq!(claim(&claims, "app.user.id").as_deref(), Some("7"));
        assert_eq!(claim(&claims, "roles"), None);
        assert_eq!(claim(&claims, "missing"), None);
    }
}
