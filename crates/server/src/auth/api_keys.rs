//! API keys of applications' backends. A key is shown once, when it is made;
//! only its SHA-256 is stored (a key is 32 random bytes: no slow hash is
//! needed to keep it from being guessed back). Each use reads the database,
//! so a revoked key stops working at once on every node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use super::{AuthError, KeyHolder, Scope};
use crate::db::{ApiKeyRecord, Database, DbError};

/// How every key starts, so that tools (and people) tell it from a token.
pub const API_KEY_PREFIX: &str = "ugk_";

/// How often a key's last use is written, at most, per node.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A key just made: the only time it is seen whole.
#[derive(Clone)]
pub struct NewApiKey {
    pub key: String,
    pub record: ApiKeyRecord,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("key", &"<secret>")
            .field("record", &self.record)
            .finish()
    }
}

/// The SHA-256 of `key`, hex: what is stored and looked up.
fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The API keys of one database.
#[derive(Clone)]
pub struct ApiKeys {
    db: Arc<dyn Database>,
    /// When this node last wrote each key's last use.
    touched: Arc<Mutex<HashMap<String, Instant>>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeys")
    }
}

impl ApiKeys {
    pub fn new(db: Arc<dyn Database>) -> Self {
        Self {
            db,
            touched: Arc::default(),
        }
    }

    /// Makes a key named `name` with `scopes`; `None` when the name is taken.
    pub async fn create(&self, name: &str, scopes: &[Scope]) -> Result<Option<NewApiKey>, DbError> {
        let key = format!("{API_KEY_PREFIX}{}", crate::data_dir::random_token(32));
        let record = ApiKeyRecord {
            name: name.to_owned(),
            hash: hash_api_key(&key),
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: crate::db::now(),
            last_used_at: None,
        };
        Ok(self
            .db
            .access()
            .insert_api_key(&record)
            .await?
            .then_some(NewApiKey { key, record }))
    }

    pub async fn list(&self) -> Result<Vec<ApiKeyRecord>, DbError> {
        self.db.access().api_keys().await
    }

    /// False when no key has this name.
    pub async fn revoke(&self, name: &str) -> Result<bool, DbError> {
        self.db.access().revoke_api_key(name).await
    }

    /// Who holds `key`, if it is a live key.
    pub async fn verify(&self, key: &str) -> Result<KeyHolder, AuthError> {
        let record = self
            .db
            .access()
            .api_key(&hash_api_key(key))
            .await
            .map_err(|_| AuthError::Unavailable)?
            .ok_or_else(|| AuthError::Invalid("unknown or revoked API key".into()))?;
        self.touch(&record.name);
        Ok(KeyHolder {
            scopes: record
                .scopes
                .iter()
                .filter_map(|s| Scope::parse(s))
                .collect(),
            name: record.name,
            hash: record.hash,
        })
    }

    /// Whether the upload token of grant `id` still stands: its grant is
    /// unexpired, and the key that minted it was not revoked since.
    pub async fn grant_live(&self, id: uuid::Uuid) -> Result<bool, AuthError> {
        self.db
            .access()
            .grant_live(id, crate::db::now())
            .await
            .map_err(|_| AuthError::Unavailable)
    }

    /// Records the key's use, at most once a minute per node, off the
    /// request's path: a busy database must not hold the request up.
    fn touch(&self, name: &str) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
            if touched
                .get(name)
                .is_some_and(|at| at.elapsed() < TOUCH_EVERY)
            {
                return;
            }
            touched.insert(name.to_owned(), Instant::now());
        }
        let db = self.db.clone();
        let name = name.to_owned();
        tokio::spawn(async move {
            if let Err(err) = db.access().touch_api_key(&name, crate::db::now()).await {
                tracing::warn!(key = name, %err, "cannot record an API key's use");
            }
        });
    }
}
