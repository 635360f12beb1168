//! The one authenticator the API uses: it tells an API key from a token by
//! its prefix, and a trusted issuer's token from one of uploadgate's own by
//! its `iss`, then leaves the checking to each.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::api_keys::{API_KEY_PREFIX, ApiKeys};
use super::{AuthError, Authenticator, Caller, Hs256, Issuers, Via};

#[derive(Debug, Clone)]
pub struct Gate {
    /// Tokens signed with uploadgate's own secret, scoped upload tokens too.
    pub tokens: Arc<Hs256>,
    pub issuers: Arc<Issuers>,
    pub api_keys: ApiKeys,
}

#[async_trait]
impl Authenticator for Gate {
    async fn authenticate(&self, credential: &str) -> Result<Caller, AuthError> {
        if credential.starts_with(API_KEY_PREFIX) {
            return self.api_keys.verify(credential).await.map(Caller::Backend);
        }
        // Which key checks the token is decided by its (not yet verified)
        // `iss`; each verifier then accepts only its own algorithms, so a
        // token cannot choose its way past one.
        match unverified_issuer(credential)
            .as_deref()
            .and_then(|iss| self.issuers.find(iss))
        {
            Some(issuer) => issuer.verify(credential).await.map(Caller::User),
            None => {
                let principal = self.tokens.verify(credential)?;
                if let Via::UploadToken(grant) = &principal.via
                    && !self.api_keys.grant_live(grant.id).await?
                {
                    return Err(AuthError::Invalid(
                        "this upload token was revoked with the API key that minted it".into(),
                    ));
                }
                Ok(Caller::User(principal))
            }
        }
    }
}

/// The `iss` a JWT's payload claims, read without any check: only to pick
/// who checks it.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_read_from_the_payload_only() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"https://id.example","sub":"a"}"#);
        assert_eq!(
            unverified_issuer(&format!("e30.{payload}.sig")).as_deref(),
            Some("https://id.example")
        );
        assert_eq!(unverified_issuer("not a token"), None);
        assert_eq!(unverified_issuer("a.%%%.c"), None);
    }
}
