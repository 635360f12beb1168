use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::RwLock;

use crate::storage::StorageError;

/// Refresh temporary credentials this long before they expire, so that a URL
/// signed now stays valid for its whole TTL where the role allows it.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Credentials for signing, fetched once and reused until close to expiry.
///
/// The SDK client caches credentials for its own calls, but presigning happens
/// outside it, and asking the default chain each time would hit the instance
/// metadata service on every request.
#[derive(Debug)]
pub struct CachedCredentials {
    provider: SharedCredentialsProvider,
    current: RwLock<Option<Credentials>>,
}

impl CachedCredentials {
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            current: RwLock::new(None),
        }
    }

    pub async fn get(&self) -> Result<Credentials, StorageError> {
        if let Some(creds) = self.current.read().await.as_ref().filter(|c| fresh(c)) {
            return Ok(creds.clone());
        }
        let mut slot = self.current.write().await;
        if let Some(creds) = slot.as_ref().filter(|c| fresh(c)) {
            return Ok(creds.clone());
        }
        let creds = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| StorageError::Unavailable(e.into()))?;
        *slot = Some(creds.clone());
        Ok(creds)
    }
}

fn fresh(creds: &Credentials) -> bool {
    creds
        .expiry()
        .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_MARGIN)
}
