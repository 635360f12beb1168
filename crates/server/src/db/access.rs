//! Who may call besides users: API keys (by the hash of the key) and what
//! scoped upload tokens have spent. SQL written once for both databases.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use super::affected::Affected;
use super::columns::{from_millis, millis, to_i64};

/// An API key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub name: String,
    /// SHA-256 of the key, hex.
    pub hash: String,
    pub scopes: Vec<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// What a scoped upload token may spend, recorded when it is minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: Uuid,
    pub user: String,
    pub max_files: Option<u32>,
    pub max_bytes: Option<u64>,
    pub expires_at: OffsetDateTime,
    /// The name of the API key that minted it, for people reading the table.
    pub key_name: String,
    /// That key's hash: what the grant's liveness follows, so that a key
    /// made later under the same name does not revive it.
    pub key_hash: String,
}

#[async_trait]
pub trait AccessStore: Send + Sync + std::fmt::Debug {
    /// False when the name is taken.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<bool, DbError>;
    async fn api_key(&self, hash: &str) -> Result<Option<ApiKeyRecord>, DbError>;
    /// By name.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, DbError>;
    /// Deletes the key and the grants of every upload token it minted;
    /// false when no key has this name.
    async fn revoke_api_key(&self, name: &str) -> Result<bool, DbError>;
    async fn touch_api_key(&self, name: &str, at: OffsetDateTime) -> Result<(), DbError>;
    async fn open_grant(&self, grant: &GrantRecord) -> Result<(), DbError>;
    /// Whether grant `id` exists, is unexpired, and its key still does.
    async fn grant_live(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, DbError>;
    /// Spends one file and `bytes` of grant `id` if it is unexpired and has
    /// that much left; false otherwise.
    async fn spend_grant(&self, id: Uuid, bytes: u64, now: OffsetDateTime)
    -> Result<bool, DbError>;
    /// Gives back what `spend_grant` took (the upload was not created).
    async fn refund_grant(&self, id: Uuid, bytes: u64) -> Result<(), DbError>;
    /// Forgets grants that expired before `before`; returns how many.
    async fn drop_grants(&self, before: OffsetDateTime) -> Result<u64, DbError>;
}

/// `AccessStore` over one database's pools.
#[derive(Debug)]
pub struct SqlAccess<DB: Database> {
    pub writer: Pool<DB>,
    pub reader: Pool<DB>,
}

// By hand: a derive would ask `DB: Clone`, which no dialect marker is.
impl<DB: Database> Clone for SqlAccess<DB> {
    fn clone(&self) -> Self {
        Self {
            writer: self.writer.clone(),
            reader: self.reader.clone(),
        }
    }
}

const KEY_COLUMNS: &str = "name, hash, scopes, created_at, last_used_at";

fn key_from_row<'r, R>(row: &'r R) -> Result<ApiKeyRecord, DbError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiKeyRecord {
        name: row.try_get("name")?,
        hash: row.try_get("hash")?,
        scopes: serde_json::from_str(&scopes)
            .map_err(|_| DbError::invalid("corrupt api key row: scopes"))?,
        created_at: from_millis(row.try_get("created_at")?)?,
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(from_millis)
            .transpose()?,
    })
}

#[async_trait]
impl<DB> AccessStore for SqlAccess<DB>
where
    DB: Database,
    DB::QueryResult: Affected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
    for<'s> &'s str: ColumnIndex<DB::Row>,
{
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<bool, DbError> {
        let scopes = serde_json::to_string(&key.scopes)
            .map_err(|e| DbError::invalid(format!("scopes: {e}")))?;
        let done = sqlx::query(&format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, NULL) \
             ON CONFLICT (name) DO NOTHING"
        ))
        .bind(key.name.clone())
        .bind(key.hash.clone())
        .bind(scopes)
        .bind(millis(key.created_at))
        .execute(&self.writer)
        .await?;
        Ok(done.affected() == 1)
    }

    async fn api_key(&self, hash: &str) -> Result<Option<ApiKeyRecord>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = $1"
        ))
        .bind(hash.to_owned())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, DbError> {
        let rows = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY name"))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn revoke_api_key(&self, name: &str) -> Result<bool, DbError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "DELETE FROM upload_grants \
             WHERE key_hash IN (SELECT hash FROM api_keys WHERE name = $1)",
        )
        .bind(name.to_owned())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM api_keys WHERE name = $1")
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.affected() == 1)
    }

    async fn touch_api_key(&self, name: &str, at: OffsetDateTime) -> Result<(), DbError> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE name = $2")
            .bind(millis(at))
            .bind(name.to_owned())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn open_grant(&self, grant: &GrantRecord) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO upload_grants \
             (id, user_id, max_files, max_bytes, expires_at, key_name, key_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(grant.id.to_string())
        .bind(grant.user.clone())
        .bind(grant.max_files.map(i64::from))
        .bind(grant.max_bytes.map(to_i64).transpose()?)
        .bind(millis(grant.expires_at))
        .bind(grant.key_name.clone())
        .bind(grant.key_hash.clone())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn grant_live(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, DbError> {
        // The key is looked up too, by its identity: a grant opened while
        // its key was being revoked must not outlive it, nor come back when
        // a new key takes the old one's name.
        let row = sqlx::query(
            "SELECT 1 FROM upload_grants g JOIN api_keys k ON k.hash = g.key_hash \
             WHERE g.id = $1 AND g.expires_at > $2",
        )
        .bind(id.to_string())
        .bind(millis(now))
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.is_some())
    }

    async fn spend_grant(
        &self,
        id: Uuid,
        bytes: u64,
        now: OffsetDateTime,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE upload_grants SET files_used = files_used + 1, bytes_used = bytes_used + $2 \
             WHERE id = $1 AND expires_at > $3 \
               AND (max_files IS NULL OR files_used < max_files) \
               AND (max_bytes IS NULL OR bytes_used + $2 <= max_bytes)",
        )
        .bind(id.to_string())
        .bind(to_i64(bytes)?)
        .bind(millis(now))
        .execute(&self.writer)
        .await?;
        Ok(done.affected() == 1)
    }

    async fn refund_grant(&self, id: Uuid, bytes: u64) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE upload_grants SET files_used = files_used - 1, bytes_used = bytes_used - $2 \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(to_i64(bytes)?)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn drop_grants(&self, before: OffsetDateTime) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM upload_grants WHERE expires_at < $1")
            .bind(millis(before))
            .execute(&self.writer)
            .await?;
        Ok(done.affected())
    }
}
