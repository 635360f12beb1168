//! After deletion: tombstones whose objects must still leave storage, and
//! erasures of a user (durable, leased, in batches). SQL written once for
//! both databases.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::access::SqlAccess;
use super::affected::Affected;
use super::columns::{COLUMNS, RowColumns, from_millis, from_row, millis};
use super::{DbError, Upload};

/// A request to erase everything of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub id: Uuid,
    pub owner: String,
    /// Uploads created up to this instant are erased.
    pub requested_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    /// Uploads erased so far.
    pub erased: u64,
    /// This run's lease, once claimed.
    pub lease: Option<Uuid>,
}

#[async_trait]
pub trait DeletionStore: Send + Sync + std::fmt::Debug {
    /// Records that deleted upload `id`'s objects are gone from storage and,
    /// with `scrub`, strips the tombstone of everything personal (filename,
    /// type, metadata, object key, checksum, processing results). The staging
    /// key stays: it is made of the upload id alone, and a presigned URL still
    /// valid may write there after the erasure, for the janitor to delete.
    /// False when `id` is not a tombstone.
    async fn settle_purge(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        scrub: bool,
    ) -> Result<bool, DbError>;
    /// Marks tombstone `id`'s objects as not all gone (a purge failed after
    /// an earlier one succeeded), so the janitor tries again.
    async fn reopen_purge(&self, id: Uuid) -> Result<(), DbError>;
    /// Completed uploads whose replacement of earlier ones is still to do,
    /// completed before `cutoff`.
    async fn pending_replacements(
        &self,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError>;
    /// Records that `id`'s replacement of earlier uploads is done.
    async fn settle_replacement(&self, id: Uuid) -> Result<(), DbError>;
    /// Tombstones deleted before `cutoff` whose objects may still be in
    /// storage, oldest first.
    async fn unpurged(&self, cutoff: OffsetDateTime, limit: u32) -> Result<Vec<Upload>, DbError>;
    /// Starts erasing `owner`'s uploads created up to `now`, or moves the
    /// cutoff of the erasure of `owner` still running to `now`.
    async fn request_erasure(&self, owner: &str, now: OffsetDateTime) -> Result<Erasure, DbError>;
    async fn erasure(&self, id: Uuid) -> Result<Option<Erasure>, DbError>;
    /// Takes an unfinished erasure nobody holds (or whose holder's lease ran
    /// out) until `until`.
    async fn claim_erasure(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Erasure>, DbError>;
    /// Up to `limit` uploads `erasure` has still to erase, in id order after
    /// `after` (so uploads that must wait do not hold up the rest).
    async fn still_to_erase(
        &self,
        erasure: &Erasure,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError>;
    /// How many uploads `erasure` has still to erase, counting up to `up_to`.
    async fn count_to_erase(&self, erasure: &Erasure, up_to: u32) -> Result<u64, DbError>;
    /// Adds `erased` to the erasure's count and keeps its lease until
    /// `until`, or (`finished`) ends it; false when the lease was lost.
    async fn record_erasure(
        &self,
        erasure: &Erasure,
        erased: u64,
        finished: bool,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, DbError>;
}

/// An upload still to erase: anything but a tombstone already stripped
/// (`object_key` is emptied only by a scrub).
const TO_ERASE: &str = "owner = $1 AND created_at <= $2 \
     AND NOT (status = 'deleted' AND object_key = '')";

const ERASURE_COLUMNS: &str = "id, owner, requested_at, finished_at, erased, lease";

fn erasure_from_row<'r, R>(row: &'r R) -> Result<Erasure, DbError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| DbError::Invalid(format!("corrupt erasure row: {what}"));
    let uuid = |s: String, what: &str| Uuid::parse_str(&s).map_err(|_| corrupt(what));
    Ok(Erasure {
        id: uuid(row.try_get("id")?, "id")?,
        owner: row.try_get("owner")?,
        requested_at: from_millis(row.try_get("requested_at")?)?,
        finished_at: row
            .try_get::<Option<i64>, _>("finished_at")?
            .map(from_millis)
            .transpose()?,
        erased: u64::try_from(row.try_get::<i64, _>("erased")?).map_err(|_| corrupt("erased"))?,
        lease: row
            .try_get::<Option<String>, _>("lease")?
            .map(|s| uuid(s, "lease"))
            .transpose()?,
    })
}

#[async_trait]
impl<DB> DeletionStore for SqlAccess<DB>
where
    DB: Database,
    DB::QueryResult: Affected,
    DB::Row: RowColumns,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
    for<'s> &'s str: ColumnIndex<DB::Row>,
{
    async fn settle_purge(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        scrub: bool,
    ) -> Result<bool, DbError> {
        let sql = if scrub {
            "UPDATE uploads SET purged_at = COALESCE(purged_at, $1), updated_at = $1, \
                 filename = '', content_type = '', metadata = '{}', object_key = '', \
                 checksum_sha256 = NULL, reject_reason = NULL, \
                 processing = NULL, multipart_upload_id = NULL \
             WHERE id = $2 AND status = 'deleted'"
        } else {
            "UPDATE uploads SET purged_at = COALESCE(purged_at, $1), updated_at = $1 \
             WHERE id = $2 AND status = 'deleted'"
        };
        let done = sqlx::query(sql)
            .bind(millis(at))
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(done.affected() == 1)
    }

    async fn reopen_purge(&self, id: Uuid) -> Result<(), DbError> {
        sqlx::query("UPDATE uploads SET purged_at = NULL WHERE id = $1 AND status = 'deleted'")
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn pending_replacements(
        &self,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads \
             WHERE replace_pending = 1 AND completed_at < $1 ORDER BY completed_at LIMIT $2"
        ))
        .bind(millis(cutoff))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn settle_replacement(&self, id: Uuid) -> Result<(), DbError> {
        sqlx::query("UPDATE uploads SET replace_pending = 0 WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn unpurged(&self, cutoff: OffsetDateTime, limit: u32) -> Result<Vec<Upload>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads \
             WHERE status = 'deleted' AND purged_at IS NULL AND deleted_at < $1 \
             ORDER BY deleted_at LIMIT $2"
        ))
        .bind(millis(cutoff))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn request_erasure(&self, owner: &str, now: OffsetDateTime) -> Result<Erasure, DbError> {
        // One statement: two requests at once end in one erasure, whose
        // cutoff is the later request's.
        let row = sqlx::query(&format!(
            "INSERT INTO erasures (id, owner, requested_at, state, erased, updated_at) \
             VALUES ($1, $2, $3, 'running', 0, $3) \
             ON CONFLICT (owner) WHERE state = 'running' \
             DO UPDATE SET requested_at = excluded.requested_at, updated_at = excluded.updated_at \
             RETURNING {ERASURE_COLUMNS}"
        ))
        .bind(Uuid::now_v7().to_string())
        .bind(owner.to_owned())
        .bind(millis(now))
        .fetch_one(&self.writer)
        .await?;
        erasure_from_row(&row)
    }

    async fn erasure(&self, id: Uuid) -> Result<Option<Erasure>, DbError> {
        sqlx::query(&format!(
            "SELECT {ERASURE_COLUMNS} FROM erasures WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(erasure_from_row)
        .transpose()
    }

    async fn claim_erasure(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Erasure>, DbError> {
        // One statement, so two nodes never take the same erasure.
        sqlx::query(&format!(
            "UPDATE erasures SET lease = $1, locked_until = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM erasures WHERE state = 'running' \
                 AND (locked_until IS NULL OR locked_until <= $3) \
                 ORDER BY requested_at LIMIT 1) \
               AND state = 'running' AND (locked_until IS NULL OR locked_until <= $3) \
             RETURNING {ERASURE_COLUMNS}"
        ))
        .bind(Uuid::new_v4().to_string())
        .bind(millis(until))
        .bind(millis(now))
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(erasure_from_row)
        .transpose()
    }

    async fn still_to_erase(
        &self,
        erasure: &Erasure,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads WHERE {TO_ERASE} \
               AND (CAST($3 AS TEXT) IS NULL OR id > $3) \
             ORDER BY id LIMIT $4"
        ))
        .bind(erasure.owner.clone())
        .bind(millis(erasure.requested_at))
        .bind(after.map(|id| id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn count_to_erase(&self, erasure: &Erasure, up_to: u32) -> Result<u64, DbError> {
        let row = sqlx::query(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n \
             FROM (SELECT id FROM uploads WHERE {TO_ERASE} LIMIT $3) AS page"
        ))
        .bind(erasure.owner.clone())
        .bind(millis(erasure.requested_at))
        .bind(i64::from(up_to))
        .fetch_one(&self.reader)
        .await?;
        let count: i64 = row.try_get("n")?;
        u64::try_from(count).map_err(|_| DbError::invalid("negative count"))
    }

    async fn record_erasure(
        &self,
        erasure: &Erasure,
        erased: u64,
        finished: bool,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE erasures SET erased = erased + $1, updated_at = $2, \
                 state = CASE WHEN $3 = 1 THEN 'done' ELSE state END, \
                 finished_at = CASE WHEN $3 = 1 THEN $2 ELSE finished_at END, \
                 locked_until = CASE WHEN $3 = 1 THEN NULL ELSE $4 END \
             WHERE id = $5 AND lease = $6 AND state = 'running'",
        )
        .bind(i64::try_from(erased).unwrap_or(i64::MAX))
        .bind(millis(now))
        .bind(i64::from(finished))
        .bind(millis(until))
        .bind(erasure.id.to_string())
        .bind(erasure.lease.map(|l| l.to_string()).unwrap_or_default())
        .execute(&self.writer)
        .await?;
        Ok(done.affected() == 1)
    }
}
