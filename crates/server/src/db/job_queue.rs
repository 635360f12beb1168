//! The job queue in SQL, written once for SQLite and PostgreSQL over sqlx's
//! generic `Database`: sqlx numbers `$N` placeholders in SQLite as PostgreSQL
//! does, so the dialects differ only in `Dialect`. The upload transition that
//! queues a pipeline's first job in the same transaction is in
//! `upload_transition.rs`.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Type};
use time::OffsetDateTime;
use uploadgate_api::{JobState, Processing};
use uuid::Uuid;

use super::DbError;
use super::affected::Affected;
use super::columns::{self, millis, processing_json};
use super::jobs::{Job, JobQueue, NewJob, Outcome, QueueDepth};
use super::outbox::{NewDelivery, insert_deliveries};
use crate::config::Processor;

/// Where the two dialects' job SQL differs.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// A subquery listing the elements of the JSON array bound as `$4`.
    pub kinds: &'static str,
    /// The claim's row-locking clause (PostgreSQL's `FOR UPDATE SKIP LOCKED`;
    /// SQLite has one writer connection, so its claim is atomic without one).
    pub lock: &'static str,
}

/// The job queue of one database. `writer` and `reader` may be the same pool.
#[derive(Debug)]
pub struct SqlJobs<DB: Database> {
    pub(super) writer: Pool<DB>,
    reader: Pool<DB>,
    /// `sql::claim` in this dialect, built once.
    claim: String,
}

// By hand: a derive would ask `DB: Clone`, which no dialect marker is.
impl<DB: Database> Clone for SqlJobs<DB> {
    fn clone(&self) -> Self {
        Self {
            writer: self.writer.clone(),
            reader: self.reader.clone(),
            claim: self.claim.clone(),
        }
    }
}

impl<DB: Database> SqlJobs<DB> {
    pub fn new(writer: Pool<DB>, reader: Pool<DB>, dialect: Dialect) -> Self {
        Self {
            writer,
            reader,
            claim: sql::claim(dialect.kinds, dialect.lock),
        }
    }
}

/// Statements both dialects share: sqlx numbers `$N` placeholders in SQLite
/// as PostgreSQL does.
pub(super) mod sql {
    pub const COLUMNS: &str =
        "id, upload_id, kind, next, state, attempts, last_error, run_at, lease";

    /// `$1` lease, `$2` locked until, `$3` now, `$4` the kinds as a JSON
    /// array; `kinds` is the dialect's subquery listing `$4`'s elements and
    /// `lock` its row-locking clause (PostgreSQL's `FOR UPDATE SKIP LOCKED`).
    pub fn claim(kinds: &str, lock: &str) -> String {
        format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease = $1, \
                 locked_until = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
                 WHERE ((state = 'queued' AND run_at <= $3) \
                    OR (state = 'running' AND locked_until <= $3)) \
                   AND kind IN ({kinds}) \
                 ORDER BY run_at, id LIMIT 1 {lock}) \
             RETURNING {COLUMNS}"
        )
    }

    /// `$1` locked until, `$2` id, `$3` lease.
    pub const EXTEND: &str = "UPDATE jobs SET locked_until = $1 \
         WHERE id = $2 AND lease = $3 AND state = 'running'";

    /// `$1` state, `$2` last error, `$3` run at, `$4` now, `$5` id, `$6` lease.
    pub const SETTLE: &str = "UPDATE jobs SET state = $1, last_error = $2, run_at = $3, \
             updated_at = $4, lease = NULL, locked_until = NULL \
         WHERE id = $5 AND lease = $6 AND state = 'running'";

    /// `$1` processing JSON, `$2` now, `$3` upload id. A tombstone keeps
    /// nothing a job finishing after its deletion found.
    pub const SET_PROCESSING: &str = "UPDATE uploads SET processing = $1, updated_at = $2 \
         WHERE id = $3 AND status <> 'deleted'";

    /// `$1` now, `$2` upload id: its queued jobs, settled unrun.
    pub const DROP_QUEUED: &str = "UPDATE jobs SET state = 'done', \
             last_error = 'not run: the upload was deleted', updated_at = $1 \
         WHERE upload_id = $2 AND state = 'queued'";

    /// `$1` id, `$2` upload id, `$3` kind, `$4` next, `$5` now. A second job of
    /// the same processor for the same upload is not queued.
    pub const INSERT: &str = "INSERT INTO jobs \
             (id, upload_id, kind, next, state, attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5, $5) \
         ON CONFLICT (upload_id, kind) DO NOTHING";

    pub fn of_upload() -> String {
        format!("SELECT {COLUMNS} FROM jobs WHERE upload_id = $1 ORDER BY created_at, id")
    }

    /// `$1` owner (NULL: every owner), `$2` state, `$3` limit, `$4` the
    /// cursor (NULL: the first page).
    pub fn in_state() -> String {
        format!(
            "SELECT {COLUMNS} FROM jobs \
             WHERE state = $2 \
               AND (CAST($1 AS TEXT) IS NULL OR upload_id IN (SELECT id FROM uploads WHERE owner = $1)) \
               AND (CAST($4 AS TEXT) IS NULL OR id < $4) \
             ORDER BY id DESC LIMIT $3"
        )
    }

    /// `$1` now, `$2` id, `$3` owner; returns the upload id.
    pub const REQUEUE_DEAD: &str = "UPDATE jobs SET state = 'queued', attempts = 0, \
             run_at = $1, updated_at = $1, last_error = NULL \
         WHERE id = $2 AND state = 'dead' \
           AND upload_id IN (SELECT id FROM uploads WHERE owner = $3) \
         RETURNING upload_id";

    pub const DEPTH: &str = "SELECT \
           CAST(COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0) AS BIGINT) AS queued, \
           CAST(COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) AS BIGINT) AS running, \
           CAST(COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0) AS BIGINT) AS dead \
         FROM jobs WHERE state <> 'done'";
}

/// What `Outcome` writes to the job row: state, last error, run at.
fn settled(outcome: &Outcome, now: OffsetDateTime) -> (JobState, Option<&str>, i64) {
    match outcome {
        Outcome::Succeeded { .. } => (JobState::Done, None, millis(now)),
        Outcome::Retry { error, retry_at } => (JobState::Queued, Some(error), millis(*retry_at)),
        Outcome::Dead { error, .. } => (JobState::Dead, Some(error), millis(now)),
    }
}

/// The processing the outcome records on the upload, if any.
fn recorded(outcome: &Outcome) -> Option<&Processing> {
    match outcome {
        Outcome::Succeeded { processing, .. } | Outcome::Dead { processing, .. } => {
            Some(processing)
        }
        Outcome::Retry { .. } => None,
    }
}

/// A `jobs` row (selected with `sql::COLUMNS`) back into a `Job`.
fn from_row<'r, R>(row: &'r R) -> Result<Job, DbError>
where
    R: sqlx::Row,
    &'static str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let corrupt = |what: &str| DbError::Invalid(format!("corrupt job row: {what}"));
    let uuid = |s: String, what: &str| Uuid::parse_str(&s).map_err(|_| corrupt(what));
    let state: String = row.try_get("state")?;
    let next: String = row.try_get("next")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Job {
        id: uuid(row.try_get("id")?, "id")?,
        upload_id: uuid(row.try_get("upload_id")?, "upload_id")?,
        kind: Processor::parse(&row.try_get::<String, _>("kind")?)
            .ok_or_else(|| corrupt("kind"))?,
        next: serde_json::from_str(&next).map_err(|_| corrupt("next"))?,
        state: JobState::parse(&state).ok_or_else(|| corrupt("state"))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
        last_error: row.try_get("last_error")?,
        run_at: columns::from_millis(row.try_get("run_at")?)?,
        lease: row
            .try_get::<Option<String>, _>("lease")?
            .map(|s| uuid(s, "lease"))
            .transpose()?,
    })
}

/// The `next` column's JSON.
fn next_json(next: &[Processor]) -> String {
    serde_json::to_string(next).unwrap_or_else(|_| "[]".into())
}

/// Reads the row of `sql::DEPTH`.
fn depth_from_row<'r, R>(row: &'r R) -> Result<QueueDepth, DbError>
where
    R: sqlx::Row,
    &'static str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let count = |name: &'static str| -> Result<u64, DbError> {
        let n: i64 = row.try_get(name)?;
        u64::try_from(n).map_err(|_| DbError::Invalid(format!("negative {name}: {n}")))
    };
    Ok(QueueDepth {
        queued: count("queued")?,
        running: count("running")?,
        dead: count("dead")?,
    })
}

/// The `processing` column of an upload whose dead job is queued again: back
/// to `processing`, results kept.
fn reopened(stored: Option<&str>) -> Result<String, DbError> {
    let mut processing = match stored {
        Some(json) => serde_json::from_str(json)
            .map_err(|_| DbError::Invalid("corrupt upload row: processing".into()))?,
        None => Processing::started(),
    };
    processing.state = uploadgate_api::ProcessingState::Processing;
    processing_json(&processing)
}

/// Queues `job` for `upload_id` on `conn` (inside the caller's transaction).
pub(super) async fn insert_job<'c, DB, E>(
    conn: E,
    upload_id: Uuid,
    job: &NewJob,
    now: OffsetDateTime,
) -> Result<(), DbError>
where
    DB: Database,
    E: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(sql::INSERT)
        .bind(Uuid::now_v7().to_string())
        .bind(upload_id.to_string())
        .bind(job.kind.as_str())
        .bind(next_json(&job.next))
        .bind(millis(now))
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl<DB> JobQueue for SqlJobs<DB>
where
    DB: Database,
    DB::QueryResult: Affected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'s> &'s str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        kinds: &[Processor],
    ) -> Result<Option<Job>, DbError> {
        let kinds = serde_json::to_string(kinds)
            .map_err(|e| DbError::invalid(format!("processor list: {e}")))?;
        let row = sqlx::query(&self.claim)
            .bind(Uuid::new_v4().to_string())
            .bind(millis(until))
            .bind(millis(now))
            .bind(kinds)
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn extend(&self, job: &Job, until: OffsetDateTime) -> Result<bool, DbError> {
        let result = sqlx::query(sql::EXTEND)
            .bind(millis(until))
            .bind(job.id.to_string())
            .bind(job.lease.map(|l| l.to_string()))
            .execute(&self.writer)
            .await?;
        Ok(result.affected() == 1)
    }

    async fn finish(
        &self,
        job: &Job,
        outcome: &Outcome,
        announce: &[NewDelivery],
        now: OffsetDateTime,
    ) -> Result<bool, DbError> {
        let (state, error, run_at) = settled(outcome, now);
        let mut tx = self.writer.begin().await?;
        let settled = sqlx::query(sql::SETTLE)
            .bind(state.as_str())
            .bind(error.map(str::to_owned))
            .bind(run_at)
            .bind(millis(now))
            .bind(job.id.to_string())
            .bind(job.lease.map(|l| l.to_string()))
            .execute(&mut *tx)
            .await?;
        if settled.affected() != 1 {
            return Ok(false);
        }
        if let Some(processing) = recorded(outcome) {
            sqlx::query(sql::SET_PROCESSING)
                .bind(processing_json(processing)?)
                .bind(millis(now))
                .bind(job.upload_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if let Outcome::Succeeded {
            next: Some(next), ..
        } = outcome
        {
            insert_job(&mut *tx, job.upload_id, next, now).await?;
        }
        insert_deliveries::<DB>(&mut tx, announce, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn jobs_of(&self, upload_id: Uuid) -> Result<Vec<Job>, DbError> {
        let rows = sqlx::query(&sql::of_upload())
            .bind(upload_id.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(from_row).collect()
    }

    async fn jobs_in_state(
        &self,
        owner: Option<&str>,
        state: JobState,
        page: &super::Page<Uuid>,
    ) -> Result<Vec<Job>, DbError> {
        let rows = sqlx::query(&sql::in_state())
            .bind(owner.map(str::to_owned))
            .bind(state.as_str())
            .bind(i64::from(page.limit))
            .bind(page.before.map(|id| id.to_string()))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(from_row).collect()
    }

    async fn retry_dead(
        &self,
        owner: &str,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, DbError> {
        let mut tx = self.writer.begin().await?;
        let Some(upload_id) = sqlx::query_scalar::<_, String>(sql::REQUEUE_DEAD)
            .bind(millis(now))
            .bind(id.to_string())
            .bind(owner.to_owned())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(false);
        };
        let stored: Option<String> =
            sqlx::query_scalar("SELECT processing FROM uploads WHERE id = $1")
                .bind(upload_id.clone())
                .fetch_one(&mut *tx)
                .await?;
        let processing = reopened(stored.as_deref())?;
        sqlx::query(sql::SET_PROCESSING)
            .bind(processing)
            .bind(millis(now))
            .bind(upload_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn depth(&self) -> Result<QueueDepth, DbError> {
        let row = sqlx::query(sql::DEPTH).fetch_one(&self.reader).await?;
        depth_from_row(&row)
    }
}
