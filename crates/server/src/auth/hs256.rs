use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AuthError, Authenticator, Principal};
use crate::config::AuthConfig;
use crate::secret::Secret;

/// Longest accepted user id, so an id always fits in keys and log lines.
pub const MAX_USER_LEN: usize = 128;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// Checked by `jsonwebtoken` (with `aud`); here for minting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    aud: Option<String>,
}

/// Most tokens remembered as verified; when full, the memory starts over.
const MAX_VERIFIED: usize = 10_000;

/// Tokens signed with one shared HMAC-SHA256 secret.
pub struct Hs256 {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// `iss` and `aud` of minted tokens.
    issuer: Option<String>,
    audience: Option<String>,
    /// Tokens already verified, by their exact text: a client sends the same
    /// token with every request, and decoding and MACing it again cost more
    /// than the rest of signing a part URL. A token found here is the same
    /// bytes that verified, so only its expiry needs checking again.
    verified: Mutex<HashMap<Box<str>, Verified>>,
}

#[derive(Debug, Clone)]
struct Verified {
    user: String,
    exp: i64,
}

impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256(<secret>)")
    }
}

impl Hs256 {
    /// Tokens signed with `secret`, which must also carry what `claims` asks.
    pub fn new(secret: &Secret, claims: &AuthConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        let mut required = vec!["exp", "sub"];
        validation.leeway = 30;
        // A token that says it is not valid yet is not.
        validation.validate_nbf = true;
        if let Some(issuer) = &claims.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        if claims.audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&claims.audiences);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            issuer: claims.issuer.clone(),
            audience: claims.audiences.first().cloned(),
            verified: Mutex::default(),
        }
    }

    /// A token for `user`, valid for `ttl`.
    pub fn mint(&self, user: &str, ttl: Duration) -> Result<String, AuthError> {
        check_user(user)?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user.to_owned(),
            exp: now.saturating_add(ttl),
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

#[async_trait]
impl Authenticator for Hs256 {
    async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.authenticate_at(token, OffsetDateTime::now_utc().unix_timestamp())
    }
}

impl Hs256 {
    /// `authenticate` at `now` (Unix seconds) for a token verified before;
    /// a new token is checked against the clock, by `jsonwebtoken`.
    fn authenticate_at(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        let known = self
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned();
        if let Some(known) = known {
            // The same rule as `jsonwebtoken`'s, leeway included.
            if known.exp < now.saturating_sub(i64::try_from(self.validation.leeway).unwrap_or(0)) {
                return Err(AuthError::Expired);
            }
            return Ok(Principal { user: known.user });
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => {
                    AuthError::Invalid("the token is not valid yet (nbf)".into())
                }
                ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer (iss)".into()),
                ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience (aud)".into()),
                ErrorKind::MissingRequiredClaim(claim) => {
                    AuthError::Invalid(format!("the {claim} claim is required"))
                }
                ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
                ErrorKind::InvalidAlgorithm => AuthError::Invalid("only HS256 is accepted".into()),
                _ => AuthError::Invalid("malformed token".into()),
            })?;
        check_user(&data.claims.sub)?;
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= MAX_VERIFIED {
            verified.clear();
        }
        verified.insert(
            token.into(),
            Verified {
                user: data.claims.sub.clone(),
                exp: data.claims.exp,
            },
        );
        Ok(Principal {
            user: data.claims.sub,
        })
    }
}

fn check_user(user: &str) -> Result<(), AuthError> {
    if user.is_empty() || user.len() > MAX_USER_LEN || user.chars().any(char::is_control) {
        return Err(AuthError::Invalid(format!(
            "sub must be 1 to {MAX_USER_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-test-secret-test-secret";

    fn auth() -> Hs256 {
        Hs256::new(&Secret::new(SECRET), &AuthConfig::default())
    }

    #[tokio::test]
    async fn minted_tokens_authenticate() {
        let token = auth().mint("alice", Duration::from_secs(60)).expect("mint");
        assert_eq!(
            auth().authenticate(&token).await.expect("valid").user,
            "alice"
        );
    }

    #[tokio::test]
    async fn other_secrets_and_expired_tokens_fail() {
        let other = Hs256::new(
            &Secret::new("another-secret-another-secret-xx"),
            &AuthConfig::default(),
        );
        let token = other.mint("alice", Duration::from_secs(60)).expect("mint");
        assert!(matches!(
            auth().authenticate(&token).await,
            Err(AuthError::Invalid(_))
        ));

        let claims = Claims {
            sub: "alice".into(),
            exp: 1_000,
            iat: None,
            iss: None,
            aud: None,
        };
        let old = jsonwebtoken::encode(&Header::default(), &claims, &auth().encoding).expect("enc");
        assert_eq!(auth().authenticate(&old).await, Err(AuthError::Expired));
    }

    #[tokio::test]
    async fn remembered_tokens_still_expire() {
        let auth = auth();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let token = auth.mint("alice", Duration::from_secs(60)).expect("mint");
        assert_eq!(
            auth.authenticate(&token).await.expect("valid").user,
            "alice"
        );
        assert_eq!(auth.verified.lock().expect("lock").len(), 1);
        assert_eq!(
            auth.authenticate_at(&token, now + 60 + 30)
                .expect("within leeway")
                .user,
            "alice"
        );
        assert_eq!(
            auth.authenticate_at(&token, now + 60 + 32),
            Err(AuthError::Expired)
        );
        // A token one byte off is not the remembered one: it is verified, and fails.
        let at = token.len() - 10;
        let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
        assert!(matches!(
            auth.authenticate(&forged).await,
            Err(AuthError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn tokens_without_exp_are_refused() {
        #[derive(Serialize)]
        struct NoExp {
            sub: String,
        }
        let token = jsonwebtoken::encode(
            &Header::default(),
            &NoExp {
                sub: "alice".into(),
            },
            &auth().encoding,
        )
        .expect("enc");
        assert!(auth().authenticate(&token).await.is_err());
    }

    /// A token with `claims` (JSON) signed with the test secret.
    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::default(), &claims, &auth().encoding).expect("enc")
    }

    #[tokio::test]
    async fn a_token_is_not_valid_before_its_nbf() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let tomorrow = signed(
            serde_json::json!({"sub": "alice", "exp": now + 2 * 86_400, "nbf": now + 86_400}),
        );
        assert!(matches!(
            auth().authenticate(&tomorrow).await,
            Err(AuthError::Invalid(why)) if why.contains("nbf")
        ));
        let valid = signed(serde_json::json!({"sub": "alice", "exp": now + 60, "nbf": now - 1}));
        assert_eq!(
            auth().authenticate(&valid).await.expect("valid").user,
            "alice"
        );
    }

    #[tokio::test]
    async fn a_configured_issuer_and_audience_are_required() {
        let claims = AuthConfig {
            issuer: Some("https://app.example".into()),
            audiences: vec!["uploadgate".into(), "files".into()],
        };
        let strict = Hs256::new(&Secret::new(SECRET), &claims);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let exp = now + 60;
        for (claims, why) in [
            (serde_json::json!({"sub": "a", "exp": exp}), "no iss or aud"),
            (
                serde_json::json!({"sub": "a", "exp": exp, "aud": "files"}),
                "no iss",
            ),
            (
                serde_json::json!({"sub": "a", "exp": exp, "iss": "https://app.example"}),
                "no aud",
            ),
            (
                serde_json::json!({"sub": "a", "exp": exp, "iss": "https://evil.example", "aud": "files"}),
                "wrong iss",
            ),
            (
                serde_json::json!({"sub": "a", "exp": exp, "iss": "https://app.example", "aud": "other"}),
                "wrong aud",
            ),
        ] {
            assert!(
                strict.authenticate(&signed(claims)).await.is_err(),
                "accepted with {why}"
            );
        }
        let good = signed(
            serde_json::json!({"sub": "a", "exp": exp, "iss": "https://app.example", "aud": ["x", "files"]}),
        );
        assert_eq!(strict.authenticate(&good).await.expect("valid").user, "a");
        // What `uploadgate token` mints passes.
        let minted = strict.mint("b", Duration::from_secs(60)).expect("mint");
        assert_eq!(strict.authenticate(&minted).await.expect("valid").user, "b");
    }
}
