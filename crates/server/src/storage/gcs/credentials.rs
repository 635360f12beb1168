//! The server's own credentials on GCS: OAuth2 access tokens obtained from
//! a service account's key file by the JWT bearer grant (RFC 7523) at the
//! key file's `token_uri`, cached until shortly before they expire. One
//! refresh at a time: callers waiting meanwhile get the new token.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::signer::ServiceAccountSigner;
use crate::secret::Secret;
use crate::storage::StorageError;

/// What the server's calls need: read, write and delete objects, and set the
/// bucket's CORS (`bucket setup`).
pub const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.full_control";
/// Google's tokens live an hour; one is renewed this long before it ends.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
const GRANT_TIMEOUT: Duration = Duration::from_secs(30);

/// A service account's key file, as the console downloads it.
#[derive(Debug)]
pub struct ServiceAccount {
    pub signer: ServiceAccountSigner,
    pub token_uri: url::Url,
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: String,
    private_key: Secret,
    token_uri: url::Url,
}

impl ServiceAccount {
    /// From the key file's text; errors name the problem, never the key.
    pub fn from_key_file(text: &str) -> Result<Self, String> {
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            format!(
                "not a service account key file (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        if file.kind != "service_account" {
            return Err(format!(
                "a key file of type {:?}, not \"service_account\"",
                file.kind
            ));
        }
        Ok(Self {
            signer: ServiceAccountSigner::new(&file.client_email, file.private_key.expose())?,
            token_uri: file.token_uri,
        })
    }

    /// The signed JWT the grant sends, issued at `now` (Unix seconds).
    fn assertion(&self, now: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = json!({
            "iss": self.signer.email(),
            "scope": SCOPE,
            "aud": self.token_uri.as_str(),
            "iat": now,
            "exp": now + 3600,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature = URL_SAFE_NO_PAD.encode(self.signer.sign_bytes(signed.as_bytes()));
        format!("{signed}.{signature}")
    }
}

#[derive(Deserialize)]
struct Granted {
    access_token: Secret,
    expires_in: u64,
}

struct Cached {
    token: Secret,
    renew_at: Instant,
}

/// Access tokens for one service account.
pub struct AccessTokens {
    account: ServiceAccount,
    http: reqwest::Client,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    pub fn new(account: ServiceAccount, http: reqwest::Client) -> Self {
        Self {
            account,
            http,
            cached: Mutex::new(None),
        }
    }

    pub fn account(&self) -> &ServiceAccount {
        &self.account
    }

    /// A token valid for a while yet: the cached one, or a new one.
    pub async fn get(&self) -> Result<Secret, StorageError> {
        let mut cached = self.cached.lock().await;
        if let Some(held) = cached.as_ref()
            && Instant::now() < held.renew_at
        {
            return Ok(held.token.clone());
        }
        let granted = self.grant().await?;
        let lifetime = Duration::from_secs(granted.expires_in);
        // A token shorter-lived than twice the margin is renewed halfway.
        let renew_in = lifetime
            .checked_sub(RENEW_BEFORE)
            .filter(|left| *left >= RENEW_BEFORE)
            .unwrap_or(lifetime / 2);
        *cached = Some(Cached {
            token: granted.access_token.clone(),
            renew_at: Instant::now() + renew_in,
        });
        Ok(granted.access_token)
    }

    async fn grant(&self) -> Result<Granted, StorageError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| StorageError::Other(e.into()))?
            .as_secs();
        let assertion = self.account.assertion(now);
        let response = self
            .http
            .post(self.account.token_uri.clone())
            .timeout(GRANT_TIMEOUT)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| StorageError::Unavailable(e.without_url().into()))?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(StorageError::Unavailable(
                format!("the token endpoint answered {status}").into(),
            ));
        }
        if !status.is_success() {
            // OAuth's error code names the problem (invalid_grant: a revoked
            // key, a clock off by minutes) without echoing the assertion.
            let code = response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|body| {
                    body.get("error")
                        .and_then(|e| e.as_str())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "(no error code)".into());
            return Err(StorageError::Other(
                format!("the token endpoint refused the service account: {status} {code}").into(),
            ));
        }
        response.json().await.map_err(|e| {
            StorageError::Other(format!("the token endpoint's answer: {}", e.without_url()).into())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::extract::State;
    use axum::routing::post;
    use axum::{Json, Router};
    use rsa::pkcs1v15::VerifyingKey;
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::signature::Verifier as _;
    use serde_json::Value;

    use super::*;

    const KEY_FILE: &str = include_str!("testdata/test_service_account.not-a-test.json");

    /// A loopback listener and the token URI it answers at.
    async fn listen() -> (tokio::net::TcpListener, url::Url) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let uri = format!("http://{}/token", listener.local_addr().expect("addr"))
            .parse()
            .expect("url");
        (listener, uri)
    }

    /// A token endpoint on loopback that checks the grant as Google's does
    /// (the assertion's RS256 signature with the account's public key, its
    /// claims) and answers tokens living `lifetime` seconds.
    async fn token_endpoint(lifetime: u64) -> (url::Url, Arc<AtomicU32>) {
        let key_file: Value = serde_json::from_str(KEY_FILE).expect("key file");
        let private =
            rsa::RsaPrivateKey::from_pkcs8_pem(key_file["private_key"].as_str().expect("key"))
                .expect("key");
        let verifying = VerifyingKey::<rsa::sha2::Sha256>::new(rsa::RsaPublicKey::from(&private));
        let (listener, uri) = listen().await;
        let calls = Arc::new(AtomicU32::new(0));
        let state = (verifying, uri.clone(), calls.clone(), lifetime);
        let app = Router::new()
            .route(
                "/token",
                post(
                    |State((verifying, uri, calls, lifetime)): State<(VerifyingKey<rsa::sha2::Sha256>, url::Url, Arc<AtomicU32>, u64)>,
                     body: String| async move {
                        let form: std::collections::HashMap<String, String> =
                            url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                        assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
                        let assertion = &form["assertion"];
                        let (signed, signature) = assertion.rsplit_once('.').expect("a JWT");
                        let signature = rsa::pkcs1v15::Signature::try_from(
                            URL_SAFE_NO_PAD.decode(signature).expect("base64").as_slice(),
                        )
                        .expect("a signature");
                        verifying.verify(signed.as_bytes(), &signature).expect("signed by the account");
                        let claims = signed.split('.').nth(1).expect("claims");
                        let claims: Value =
                            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).expect("base64")).expect("json");
                        assert_eq!(claims["iss"], "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com");
                        assert_eq!(claims["aud"], uri.as_str());
                        assert_eq!(claims["scope"], SCOPE);
                        assert_eq!(claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"), 3600);
                        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                        Json(json!({"access_token": format!("token-{n}"), "expires_in": lifetime, "token_type": "Bearer"}))
                    },
                ),
            )
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        (uri, calls)
    }

    fn account(token_uri: &url::Url) -> ServiceAccount {
        let mut file: Value = serde_json::from_str(KEY_FILE).expect("key file");
        file["token_uri"] = json!(token_uri.as_str());
        ServiceAccount::from_key_file(&file.to_string()).expect("a key file")
    }

    #[tokio::test]
    async fn a_token_is_granted_once_and_served_from_the_cache_until_near_its_end() {
        let (uri, calls) = token_endpoint(3600).await;
        let tokens = Arc::new(AccessTokens::new(account(&uri), reqwest::Client::new()));
        let together = (0..8).map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.get().await.expect("a token").expose().to_owned() })
        });
        for token in futures::future::join_all(together).await {
            assert_eq!(token.expect("task"), "token-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "eight callers, one grant");

        // A token living 2 s is renewed after 1 s.
        let (uri, calls) = token_endpoint(2).await;
        let tokens = AccessTokens::new(account(&uri), reqwest::Client::new());
        assert_eq!(tokens.get().await.expect("token").expose(), "token-1");
        assert_eq!(tokens.get().await.expect("token").expose(), "token-1");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(tokens.get().await.expect("token").expose(), "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refused_grant_names_the_oauth_error_and_nothing_secret() {
        let app = Router::new().route(
            "/token",
            post(|| async {
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_grant"})),
                )
            }),
        );
        let (listener, uri) = listen().await;
        tokio::spawn(async move { axum::serve(listener, app).await });
        let tokens = AccessTokens::new(account(&uri), reqwest::Client::new());
        let err = tokens.get().await.expect_err("refused").to_string();
        assert!(err.contains("invalid_grant"), "{err}");
        assert!(!err.contains("eyJ") && !err.contains("PRIVATE"), "{err}");
    }

    #[test]
    fn key_files_that_are_not_a_service_accounts_are_refused_without_the_key() {
        let mut file: Value = serde_json::from_str(KEY_FILE).expect("key file");
        file["type"] = json!("authorized_user");
        let err = ServiceAccount::from_key_file(&file.to_string()).expect_err("refused");
        assert!(
            err.contains("authorized_user") && !err.contains("PRIVATE"),
            "{err}"
        );
        let err =
            ServiceAccount::from_key_file("{\"private_key\": \"-----BEGIN").expect_err("refused");
        assert!(!err.contains("BEGIN"), "{err}");
    }
}
