//! `Idempotency-Key`s of upload creation: which upload a key created, so a
//! repeated request (a client retrying a lost answer) gets it back instead of
//! a second one. SQL written once for both databases.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use super::access::SqlAccess;
use super::affected::Affected;
use super::columns::{from_millis, millis};

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is new: this request creates the upload.
    Mine,
    /// An earlier request holds it.
    Taken {
        request_hash: String,
        /// `None` while that request is still creating its upload.
        upload_id: Option<Uuid>,
        created_at: OffsetDateTime,
    },
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync + std::fmt::Debug {
    /// Takes `key` of `owner` for a request whose body hashes to `hash`, or
    /// says who holds it.
    async fn claim_key(
        &self,
        owner: &str,
        key: &str,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<KeyClaim, DbError>;
    /// Records the upload the key's request created.
    async fn settle_key(&self, owner: &str, key: &str, upload: Uuid) -> Result<(), DbError>;
    /// Lets go of a key whose request created nothing (it failed), or that
    /// a request claimed at `created_at` and never settled (it crashed).
    async fn release_key(
        &self,
        owner: &str,
        key: &str,
        created_at: OffsetDateTime,
    ) -> Result<(), DbError>;
    /// Forgets keys used before `before`; returns how many.
    async fn drop_keys(&self, before: OffsetDateTime) -> Result<u64, DbError>;
    /// Forgets every key of `owner` (an erased user).
    async fn drop_keys_of(&self, owner: &str) -> Result<(), DbError>;
}

#[async_trait]
impl<DB> IdempotencyStore for SqlAccess<DB>
where
    DB: Database,
    DB::QueryResult: Affected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'s> &'s str: ColumnIndex<DB::Row>,
{
    async fn claim_key(
        &self,
        owner: &str,
        key: &str,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<KeyClaim, DbError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (owner, key, request_hash, upload_id, created_at) \
             VALUES ($1, $2, $3, NULL, $4) ON CONFLICT (owner, key) DO NOTHING",
        )
        .bind(owner.to_owned())
        .bind(key.to_owned())
        .bind(hash.to_owned())
        .bind(millis(now))
        .execute(&self.writer)
        .await?;
        if inserted.affected() == 1 {
            return Ok(KeyClaim::Mine);
        }
        // The writer: the row was just committed by another request.
        let row = sqlx::query(
            "SELECT request_hash, upload_id, created_at FROM idempotency_keys \
             WHERE owner = $1 AND key = $2",
        )
        .bind(owner.to_owned())
        .bind(key.to_owned())
        .fetch_optional(&self.writer)
        .await?;
        let Some(row) = row else {
            // Released between the two statements: the caller asks again.
            return Ok(KeyClaim::Taken {
                request_hash: hash.to_owned(),
                upload_id: None,
                created_at: now,
            });
        };
        let upload_id: Option<String> = row.try_get("upload_id")?;
        Ok(KeyClaim::Taken {
            request_hash: row.try_get("request_hash")?,
            upload_id: upload_id
                .map(|id| Uuid::parse_str(&id))
                .transpose()
                .map_err(|_| DbError::invalid("corrupt idempotency key row: upload_id"))?,
            created_at: from_millis(row.try_get("created_at")?)?,
        })
    }

    async fn settle_key(&self, owner: &str, key: &str, upload: Uuid) -> Result<(), DbError> {
        sqlx::query("UPDATE idempotency_keys SET upload_id = $1 WHERE owner = $2 AND key = $3")
            .bind(upload.to_string())
            .bind(owner.to_owned())
            .bind(key.to_owned())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn release_key(
        &self,
        owner: &str,
        key: &str,
        created_at: OffsetDateTime,
    ) -> Result<(), DbError> {
        sqlx::query(
            "DELETE FROM idempotency_keys \
             WHERE owner = $1 AND key = $2 AND upload_id IS NULL AND created_at = $3",
        )
        .bind(owner.to_owned())
        .bind(key.to_owned())
        .bind(millis(created_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn drop_keys(&self, before: OffsetDateTime) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(millis(before))
            .execute(&self.writer)
            .await?;
        Ok(done.affected())
    }

    async fn drop_keys_of(&self, owner: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE owner = $1")
            .bind(owner.to_owned())
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
