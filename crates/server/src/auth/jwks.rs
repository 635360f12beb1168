//! One identity provider's signing keys: fetched from its JSON Web Key Set
//! (found by OpenID discovery), kept, and fetched again when its answer says
//! they are stale, on an interval, or when a token names a key not known yet
//! (at most once a minute, so made-up key ids cannot make uploadgate hammer
//! the provider). While the provider is down, the keys already known go on
//! working; nothing waits on it for longer than `FETCH_TIMEOUT`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;
use tokio::sync::watch;
use url::Url;

use crate::config::auth::{IssuerConfig, secure_url};
use crate::retry_delay::{doubling, with_jitter};

/// The longest one fetch (discovery or keys) may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The least time between two fetches for an unknown key id.
const UNKNOWN_KID_EVERY: Duration = Duration::from_secs(60);
/// The shortest time keys are kept, whatever the provider's `max-age` says.
const MIN_FRESH: Duration = Duration::from_secs(60);
/// The largest discovery document or key set read: a provider's is a few KiB.
const MAX_BODY: usize = 256 * 1024;
/// The most keys kept of one set.
const MAX_KEYS: usize = 100;
/// Retries of a failed fetch wait this long, doubling up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A key as published: what it verifies, and the algorithm it is bound to.
#[derive(Clone)]
pub struct PublishedKey {
    pub key: DecodingKey,
    /// The JWK's `alg`, when it names one: tokens must use exactly that.
    pub algorithm: Option<KeyAlgorithm>,
    /// The JWK's public parameters and `alg`, as published: a key whose
    /// material changes under the same `kid` is another key.
    material: String,
}

/// The keys of one issuer and how to refresh them.
pub struct KeySet {
    issuer: IssuerConfig,
    http: reqwest::Client,
    keys: RwLock<Option<HashMap<String, PublishedKey>>>,
    /// When the last fetch for an unknown key id started.
    last_unknown: Mutex<Option<Instant>>,
    /// The JWKS URL, once discovery found it.
    jwks_url: RwLock<Option<Url>>,
    /// Counts the fetches that dropped a key or replaced one's material, so
    /// that tokens remembered as verified with a retired key are forgotten.
    retirements: AtomicU64,
}

impl std::fmt::Debug for PublishedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("issuer", &self.issuer.issuer)
            .field("loaded", &self.loaded())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Http(String),
    #[error("the key set holds no usable key")]
    NoKeys,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: Url,
}

/// A key set, each key read on its own: one key of a kind this verifier
/// does not know (an encryption key, a new curve) must not hide the others.
#[derive(Deserialize)]
struct KeySetDocument {
    keys: Vec<serde_json::Value>,
}

/// The HTTP client of key fetches. Fetches are minutes apart, so no
/// connection is kept (it would only be one the provider closed meanwhile);
/// redirects are followed a few times, never off https.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("more than 3 redirects")
            } else if secure_url(attempt.url()) {
                attempt.follow()
            } else {
                attempt.error("a redirect away from https")
            }
        }))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_default()
}

impl KeySet {
    pub fn new(issuer: IssuerConfig, http: reqwest::Client) -> Self {
        Self {
            jwks_url: RwLock::new(issuer.jwks_url.clone()),
            issuer,
            http,
            keys: RwLock::default(),
            last_unknown: Mutex::default(),
            retirements: AtomicU64::new(0),
        }
    }

    pub fn issuer(&self) -> &IssuerConfig {
        &self.issuer
    }

    /// Whether keys were ever fetched.
    pub fn loaded(&self) -> bool {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// How many keys are kept (none before the first fetch).
    pub fn key_count(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, HashMap::len)
    }

    /// Changes whenever a key is no longer published.
    pub fn retirements(&self) -> u64 {
        self.retirements.load(Ordering::Acquire)
    }

    /// The key `kid` names (the only key, when the token names none and the
    /// set has one). An unknown `kid` fetches the set again, at most once a
    /// minute; `None` when it is still unknown.
    pub async fn key(&self, kid: Option<&str>) -> Option<PublishedKey> {
        if let Some(key) = self.lookup(kid) {
            return Some(key);
        }
        if !self.loaded() {
            // The refresher is fetching (with backoff while the provider is
            // down); fetching here too would spend the once-a-minute fetch
            // that a rotated key needs.
            return None;
        }
        let due = {
            let mut last = self
                .last_unknown
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = last.is_none_or(|at| at.elapsed() >= UNKNOWN_KID_EVERY);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if !due {
            return None;
        }
        if let Err(err) = self.fetch().await {
            tracing::warn!(issuer = %self.issuer.issuer, %err, "cannot fetch the issuer's keys for an unknown key id");
        }
        self.lookup(kid)
    }

    fn lookup(&self, kid: Option<&str>) -> Option<PublishedKey> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let keys = keys.as_ref()?;
        match kid {
            Some(kid) => keys.get(kid).cloned(),
            None if keys.len() == 1 => keys.values().next().cloned(),
            None => None,
        }
    }

    /// Fetches the key set (after discovery, the first time) and replaces the
    /// keys kept; returns how long the answer says it stays fresh.
    pub async fn fetch(&self) -> Result<Option<Duration>, FetchError> {
        let known = self
            .jwks_url
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let url = match known {
            Some(url) => url,
            None => {
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    self.issuer.issuer.trim_end_matches('/')
                );
                let found: Discovery = self.get_json(&discovery).await?.0;
                // OpenID Discovery: the document must be the issuer's own.
                if found.issuer.trim_end_matches('/') != self.issuer.issuer.trim_end_matches('/') {
                    return Err(FetchError::Http(format!(
                        "the discovery document is for issuer {:?}",
                        found.issuer
                    )));
                }
                if !secure_url(&found.jwks_uri) {
                    return Err(FetchError::Http(
                        "the discovery document's jwks_uri is not https".into(),
                    ));
                }
                *self
                    .jwks_url
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(found.jwks_uri.clone());
                found.jwks_uri
            }
        };
        let (set, max_age): (KeySetDocument, _) = self.get_json(url.as_str()).await?;
        let keys: HashMap<String, PublishedKey> = set
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter(|jwk| {
                // Keys published for encryption do not verify signatures.
                !matches!(
                    jwk.common.public_key_use,
                    Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
                )
            })
            .take(MAX_KEYS)
            .filter_map(|jwk| {
                let key = DecodingKey::from_jwk(&jwk).ok()?;
                let kid = jwk.common.key_id.clone().unwrap_or_default();
                let material =
                    serde_json::to_string(&(&jwk.algorithm, &jwk.common.key_algorithm)).ok()?;
                Some((
                    kid,
                    PublishedKey {
                        key,
                        algorithm: jwk.common.key_algorithm,
                        material,
                    },
                ))
            })
            .collect();
        if keys.is_empty() {
            return Err(FetchError::NoKeys);
        }
        let previous = self
            .keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(keys.clone());
        let retired = |(kid, old): (&String, &PublishedKey)| {
            keys.get(kid).is_none_or(|new| new.material != old.material)
        };
        if previous.is_some_and(|old| old.iter().any(retired)) {
            self.retirements.fetch_add(1, Ordering::Release);
        }
        Ok(max_age)
    }

    /// GETs `url` as JSON, with its `Cache-Control: max-age`.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(T, Option<Duration>), FetchError> {
        let failed = |e: reqwest::Error| FetchError::Http(e.without_url().to_string());
        let mut response = self
            .http
            .get(url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(failed)?
            .error_for_status()
            .map_err(failed)?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        // At most `MAX_BODY`: a hostile endpoint could stream without end
        // within the timeout.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::Http(format!(
                    "the answer is over {MAX_BODY} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let parsed = serde_json::from_slice(&body)
            .map_err(|e| FetchError::Http(format!("the answer is not the JSON expected: {e}")))?;
        Ok((parsed, max_age))
    }

    /// Fetches the keys until `stop`: at once, then every `refresh`, or
    /// sooner when the provider's `max-age` says (but not within a minute),
    /// retrying a failed fetch with backoff while the keys already known
    /// stay in use.
    pub fn spawn_refresher(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        tokio::spawn(async move {
            let mut failures = 0;
            loop {
                let wait = match self.fetch().await {
                    Ok(max_age) => {
                        failures = 0;
                        max_age.map_or(self.issuer.refresh, |age| {
                            age.max(MIN_FRESH).min(self.issuer.refresh)
                        })
                    }
                    Err(err) => {
                        failures += 1;
                        let wait = with_jitter(doubling(FIRST_BACKOFF, MAX_BACKOFF, failures));
                        tracing::warn!(issuer = %self.issuer.issuer, %err, retry_in = ?wait, "cannot fetch the issuer's keys");
                        wait
                    }
                };
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return,
                }
            }
        });
    }
}

/// The `max-age` of a `Cache-Control` value.
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let (name, value) = directive.trim().split_once('=')?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| value.trim().trim_matches('"').parse().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            max_age("Max-Age=\"60\", must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age("no-store"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    /// The key set of an issuer served by `app` on loopback: found by
    /// discovery, or at `/keys` when `discover` is false.
    async fn served(app: axum::Router, discover: bool) -> KeySet {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let jwks_url = if discover {
            String::new()
        } else {
            format!("jwks_url = \"{base}/keys\"\n")
        };
        let config: IssuerConfig = toml::from_str(&format!(
            "issuer = {base:?}\n{jwks_url}audiences = [\"a\"]\n"
        ))
        .expect("config");
        KeySet::new(config, http_client())
    }

    async fn key_set_at(body: String) -> KeySet {
        served(
            axum::Router::new().route("/keys", axum::routing::get(move || async move { body })),
            false,
        )
        .await
    }

    #[tokio::test]
    async fn discovery_must_name_this_issuer_and_keys_stay_on_https() {
        let discovery = |document: serde_json::Value| {
            axum::Router::new().route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move { axum::Json(document) }),
            )
        };
        let other = served(
            discovery(serde_json::json!({"issuer": "https://evil.example", "jwks_uri": "https://evil.example/keys"})),
            true,
        )
        .await;
        let err = other.fetch().await.expect_err("another issuer's document");
        assert!(err.to_string().contains("is for issuer"), "{err}");

        // The issuer's own document, pointing at plain http off loopback.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app =
            discovery(serde_json::json!({"issuer": base, "jwks_uri": "http://keys.example/keys"}));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config: IssuerConfig =
            toml::from_str(&format!("issuer = {base:?}\naudiences = [\"a\"]\n")).expect("config");
        let plain = KeySet::new(config, http_client());
        let err = plain.fetch().await.expect_err("http jwks_uri");
        assert!(err.to_string().contains("not https"), "{err}");

        let redirected = served(
            axum::Router::new().route(
                "/keys",
                axum::routing::get(|| async {
                    axum::response::Redirect::temporary("http://keys.example/keys")
                }),
            ),
            false,
        )
        .await;
        assert!(
            redirected.fetch().await.is_err(),
            "a redirect to plain http"
        );
        assert!(!redirected.loaded());
    }

    #[tokio::test]
    async fn keys_of_unknown_kinds_or_for_encryption_are_skipped_not_fatal() {
        let n = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
        let set = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "X448", "kid": "new-curve", "x": "AAAA"},
            {"kty": "RSA", "use": "enc", "kid": "enc", "alg": "RSA-OAEP", "n": n, "e": "AQAB"},
            {"kty": "RSA", "use": "sig", "kid": "sig", "alg": "RS256", "n": n, "e": "AQAB"},
        ]});
        let keys = key_set_at(set.to_string()).await;
        keys.fetch().await.expect("the usable key is kept");
        assert!(keys.lookup(Some("sig")).is_some());
        assert!(
            keys.lookup(Some("enc")).is_none(),
            "an encryption key verifies nothing"
        );
        assert!(keys.lookup(Some("new-curve")).is_none());
    }

    #[tokio::test]
    async fn an_endless_answer_is_cut_off() {
        let keys = key_set_at(format!("{{\"keys\": [\"{}\"]}}", "a".repeat(MAX_BODY))).await;
        let err = keys.fetch().await.expect_err("too big");
        assert!(err.to_string().contains("over"), "{err}");
        assert!(!keys.loaded());
    }
}
