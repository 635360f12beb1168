//! Who is calling: a user with a bearer token (signed with uploadgate's own
//! secret, or by a trusted identity provider), a scoped upload token minted
//! for one user, or the application's backend with an API key.

mod api_keys;
mod cache;
mod gate;
mod hs256;
mod issuers;
mod jwks;

use std::collections::BTreeMap;

use async_trait::async_trait;
use uuid::Uuid;

use crate::config;

pub use api_keys::{API_KEY_PREFIX, ApiKeys, NewApiKey};
pub use gate::Gate;
pub use hs256::{Hs256, UploadTokenRequest};
pub use issuers::Issuers;

/// Fetches `issuer`'s discovery document (unless its key set's URL is
/// configured) and key set once, as the server does at start, without keeping
/// them: how many usable keys it publishes, or why they cannot be had.
pub async fn probe_issuer(issuer: &config::auth::IssuerConfig) -> Result<usize, String> {
    let keys = jwks::KeySet::new(issuer.clone(), jwks::http_client());
    keys.fetch().await.map_err(|err| err.to_string())?;
    Ok(keys.key_count())
}

/// Refuses a user id that would not fit keys and log lines.
pub fn check_user_id(user: &str) -> Result<(), AuthError> {
    hs256::check_user(user)
}

/// A user the request acts for, and how it was established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable user id (`sub`, or the issuer's `user_claim`); scopes every upload.
    pub user: String,
    pub via: Via,
}

impl Principal {
    /// A user authenticated by a plain bearer token.
    pub fn user(user: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            via: Via::Token,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A bearer token: uploadgate's own, or a trusted issuer's.
    Token,
    /// A scoped upload token: what its uploads may be.
    UploadToken(Grant),
    /// The application's backend, with an API key, acting for the user.
    ApiKey(String),
}

/// The restrictions of a scoped upload token, enforced at every creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's `jti`: its counters live in the database under it.
    pub id: Uuid,
    /// The only profile its uploads may use.
    pub profile: String,
    /// Bytes all its uploads together may declare.
    pub max_bytes: Option<u64>,
    /// Uploads it may create.
    pub max_files: Option<u32>,
    /// Metadata set on every upload it creates, over what the client sends.
    pub metadata: BTreeMap<String, String>,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Act for any user on API v1 (with `Uploadgate-User`).
    Uploads,
    /// Mint scoped upload tokens.
    Tokens,
    /// What needs no user: every user's uploads and jobs.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Self::Uploads, Self::Tokens, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploads => "uploads",
            Self::Tokens => "tokens",
            Self::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// An application backend's API key, as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub name: String,
    /// The stored hash of the key: its identity, which a name is not (a
    /// revoked key's name can be given to a new key).
    pub hash: String,
    pub scopes: Vec<Scope>,
}

/// Who presented the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    User(Principal),
    Backend(KeyHolder),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    /// Storage of API keys cannot be read now; the caller may retry.
    #[error("credentials cannot be checked now")]
    Unavailable,
}

#[async_trait]
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// Checks a bearer credential (without the `Bearer ` prefix).
    async fn authenticate(&self, credential: &str) -> Result<Caller, AuthError>;
}
