//! Who is calling. Bearer tokens only for now; the trait leaves room for JWKS
//! (RS256/ES256 identity providers) and hashed API keys as further implementations.

mod hs256;

use async_trait::async_trait;

pub use hs256::Hs256;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable user id (`sub`); scopes every upload.
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

#[async_trait]
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// Checks a bearer token (without the `Bearer ` prefix).
    async fn authenticate(&self, token: &str) -> Result<Principal, AuthError>;
}
