use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AuthError, Authenticator, Principal};
use crate::secret::Secret;

/// Longest accepted user id, so an id always fits in keys and log lines.
pub const MAX_USER_LEN: usize = 128;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
}

/// Tokens signed with one shared HMAC-SHA256 secret.
pub struct Hs256 {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256(<secret>)")
    }
}

impl Hs256 {
    pub fn new(secret: &Secret) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
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
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

#[async_trait]
impl Authenticator for Hs256 {
    async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::MissingRequiredClaim(claim) => {
                    AuthError::Invalid(format!("the {claim} claim is required"))
                }
                ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
                ErrorKind::InvalidAlgorithm => AuthError::Invalid("only HS256 is accepted".into()),
                _ => AuthError::Invalid("malformed token".into()),
            })?;
        check_user(&data.claims.sub)?;
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

    fn auth() -> Hs256 {
        Hs256::new(&Secret::new("test-secret-test-secret-test-secret"))
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
        let other = Hs256::new(&Secret::new("another-secret-another-secret-xx"));
        let token = other.mint("alice", Duration::from_secs(60)).expect("mint");
        assert!(matches!(
            auth().authenticate(&token).await,
            Err(AuthError::Invalid(_))
        ));

        let claims = Claims {
            sub: "alice".into(),
            exp: 1_000,
            iat: None,
        };
        let old = jsonwebtoken::encode(&Header::default(), &claims, &auth().encoding).expect("enc");
        assert_eq!(auth().authenticate(&old).await, Err(AuthError::Expired));
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
}
