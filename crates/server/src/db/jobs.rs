//! The durable job queue: post-processing work that survives crashes.
//!
//! A worker claims a due job with a lease (`locked_until`). While it works it
//! extends the lease; if it dies, the lease runs out and any worker claims the
//! job again. Every later write names the lease, so a worker that lost its job
//! to another cannot record an outcome over the other's.

use async_trait::async_trait;
use time::OffsetDateTime;
use uploadgate_api::{JobState, Processing};
use uuid::Uuid;

use super::DbError;

/// A job as a worker holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: Uuid,
    pub upload_id: Uuid,
    pub kind: String,
    /// Processors to queue, in order, once this one succeeds.
    pub next: Vec<String>,
    pub state: JobState,
    /// Including the current one, once claimed.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub run_at: OffsetDateTime,
    /// This claim's token, when running.
    pub lease: Option<Uuid>,
}

/// The first job of a pipeline, and the processors that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    pub next: Vec<String>,
}

impl NewJob {
    /// The job for the first of `processors`; `None` for an empty pipeline.
    pub fn pipeline(processors: &[String]) -> Option<Self> {
        let (first, rest) = processors.split_first()?;
        Some(Self {
            kind: first.clone(),
            next: rest.to_vec(),
        })
    }
}

/// How a claimed job ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done: record `processing` on the upload and queue `next` (if any), in
    /// the same transaction, so a crash never loses the step in between.
    Succeeded {
        processing: Processing,
        next: Option<NewJob>,
    },
    /// Try again from `retry_at`.
    Retry {
        error: String,
        retry_at: OffsetDateTime,
    },
    /// Out of attempts: dead-letter it and record `processing` (failed).
    Dead {
        error: String,
        processing: Processing,
    },
}

/// How many jobs are in each state, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub queued: u64,
    pub running: u64,
    pub dead: u64,
}

#[async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Takes the oldest due job of one of `kinds` (queued and due, or running
    /// with an expired lease) under a new lease until `until`, counting an
    /// attempt. Several workers (and processes) may claim at once; each job
    /// goes to one. A worker names the processors its config can run, so a
    /// node without, say, a clamd leaves scans to those with one.
    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        kinds: &[&str],
    ) -> Result<Option<Job>, DbError>;
    /// Keeps a long job's lease; false when it was lost (taken over, or retried).
    async fn extend(&self, job: &Job, until: OffsetDateTime) -> Result<bool, DbError>;
    /// Records how `job` ended; false (and nothing written) when its lease was lost.
    async fn finish(
        &self,
        job: &Job,
        outcome: &Outcome,
        now: OffsetDateTime,
    ) -> Result<bool, DbError>;
    /// The jobs of one upload, oldest first.
    async fn jobs_of(&self, upload_id: Uuid) -> Result<Vec<Job>, DbError>;
    /// `owner`'s jobs in `state`, newest first.
    async fn jobs_in_state(
        &self,
        owner: &str,
        state: JobState,
        limit: u32,
    ) -> Result<Vec<Job>, DbError>;
    /// Queues `owner`'s dead job `id` again with fresh attempts and sets its
    /// upload back to processing; false when it is not theirs or not dead.
    async fn retry_dead(&self, owner: &str, id: Uuid, now: OffsetDateTime)
    -> Result<bool, DbError>;
    async fn depth(&self) -> Result<QueueDepth, DbError>;
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

    /// `$1` processing JSON, `$2` now, `$3` upload id.
    pub const SET_PROCESSING: &str =
        "UPDATE uploads SET processing = $1, updated_at = $2 WHERE id = $3";

    /// `$1` id, `$2` upload id, `$3` kind, `$4` next, `$5` now. A second job of
    /// the same processor for the same upload is not queued.
    pub const INSERT: &str = "INSERT INTO jobs \
             (id, upload_id, kind, next, state, attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5, $5) \
         ON CONFLICT (upload_id, kind) DO NOTHING";

    pub fn of_upload() -> String {
        format!("SELECT {COLUMNS} FROM jobs WHERE upload_id = $1 ORDER BY created_at, id")
    }

    /// `$1` owner, `$2` state, `$3` limit.
    pub fn in_state() -> String {
        format!(
            "SELECT {COLUMNS} FROM jobs \
             WHERE state = $2 AND upload_id IN (SELECT id FROM uploads WHERE owner = $1) \
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
pub(super) fn settled(outcome: &Outcome, now: OffsetDateTime) -> (JobState, Option<&str>, i64) {
    use super::columns::millis;
    match outcome {
        Outcome::Succeeded { .. } => (JobState::Done, None, millis(now)),
        Outcome::Retry { error, retry_at } => (JobState::Queued, Some(error), millis(*retry_at)),
        Outcome::Dead { error, .. } => (JobState::Dead, Some(error), millis(now)),
    }
}

/// The processing the outcome records on the upload, if any.
pub(super) fn recorded(outcome: &Outcome) -> Option<&Processing> {
    match outcome {
        Outcome::Succeeded { processing, .. } | Outcome::Dead { processing, .. } => {
            Some(processing)
        }
        Outcome::Retry { .. } => None,
    }
}

/// A `jobs` row (selected with `sql::COLUMNS`) back into a `Job`.
pub(super) fn from_row<'r, R>(row: &'r R) -> Result<Job, DbError>
where
    R: sqlx::Row,
    &'static str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let corrupt = |what: &str| DbError::Other(format!("corrupt job row: {what}"));
    let uuid = |s: String, what: &str| Uuid::parse_str(&s).map_err(|_| corrupt(what));
    let state: String = row.try_get("state")?;
    let next: String = row.try_get("next")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Job {
        id: uuid(row.try_get("id")?, "id")?,
        upload_id: uuid(row.try_get("upload_id")?, "upload_id")?,
        kind: row.try_get("kind")?,
        next: serde_json::from_str(&next).map_err(|_| corrupt("next"))?,
        state: JobState::parse(&state).ok_or_else(|| corrupt("state"))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
        last_error: row.try_get("last_error")?,
        run_at: super::columns::from_millis(row.try_get("run_at")?)?,
        lease: row
            .try_get::<Option<String>, _>("lease")?
            .map(|s| uuid(s, "lease"))
            .transpose()?,
    })
}

/// The `next` column's JSON.
pub(super) fn next_json(next: &[String]) -> String {
    serde_json::to_string(next).unwrap_or_else(|_| "[]".into())
}

/// Reads the row of `sql::DEPTH`.
pub(super) fn depth_from_row<'r, R>(row: &'r R) -> Result<QueueDepth, DbError>
where
    R: sqlx::Row,
    &'static str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let count = |name: &'static str| -> Result<u64, DbError> {
        let n: i64 = row.try_get(name)?;
        u64::try_from(n).map_err(|_| DbError::Other(format!("negative {name}: {n}")))
    };
    Ok(QueueDepth {
        queued: count("queued")?,
        running: count("running")?,
        dead: count("dead")?,
    })
}

/// The `processing` column of an upload whose dead job is queued again: back
/// to `processing`, results kept.
pub(super) fn reopened(stored: Option<&str>) -> Result<String, DbError> {
    let mut processing = match stored {
        Some(json) => serde_json::from_str(json)
            .map_err(|_| DbError::Other("corrupt upload row: processing".into()))?,
        None => Processing::started(),
    };
    processing.state = uploadgate_api::ProcessingState::Processing;
    super::columns::processing_json(&processing)
}

/// The `JobQueue` of a repository, written once for both dialects: `$writer`
/// and `$reader` name its pools (the same one in PostgreSQL), `$kinds` and
/// `$lock` its claim's dialect (see `sql::claim`). Also gives the repository
/// `transition_enqueuing`, its `UploadRepo::transition`, since completing an
/// upload and queueing its processing share one transaction.
macro_rules! impl_job_queue {
    ($repo:ty, $conn:ty, writer = $writer:ident, reader = $reader:ident, kinds = $kinds:expr, lock = $lock:expr) => {
        const _: () = {
            use ::time::OffsetDateTime;
            use ::uploadgate_api::{JobState, UploadStatus};
            use ::uuid::Uuid;
            use $crate::db::columns::{self, millis, processing_json};
            use $crate::db::jobs::{self, Job, JobQueue, NewJob, Outcome, QueueDepth, sql};
            use $crate::db::{DbError, Transition};

            impl $repo {
                /// `UploadRepo::transition` in this dialect: the conditional
                /// state change and, when `change.enqueue` says so, the upload
                /// marked as processing and its first job queued, all in one
                /// transaction (a completed upload never misses its jobs).
                pub(super) async fn transition_enqueuing(
                    &self,
                    id: Uuid,
                    from: UploadStatus,
                    change: &Transition,
                ) -> Result<bool, DbError> {
                    let completed_at =
                        (change.to == UploadStatus::Completed).then(|| millis(change.at));
                    let mut tx = self.$writer.begin().await?;
                    let result = sqlx::query(columns::TRANSITION)
                        .bind(change.to.as_str())
                        .bind(millis(change.at))
                        .bind(&change.reject_reason)
                        .bind(completed_at)
                        .bind(change.size.map(columns::to_i64).transpose()?)
                        .bind(id.to_string())
                        .bind(from.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if result.rows_affected() != 1 {
                        return Ok(false);
                    }
                    if let Some(job) = &change.enqueue {
                        sqlx::query(sql::SET_PROCESSING)
                            .bind(processing_json(&::uploadgate_api::Processing::started())?)
                            .bind(millis(change.at))
                            .bind(id.to_string())
                            .execute(&mut *tx)
                            .await?;
                        Self::insert_job(&mut tx, id, job, change.at).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                /// Queues `job` for `upload_id` inside `tx`.
                async fn insert_job(
                    tx: &mut $conn,
                    upload_id: Uuid,
                    job: &NewJob,
                    now: OffsetDateTime,
                ) -> Result<(), DbError> {
                    sqlx::query(sql::INSERT)
                        .bind(Uuid::now_v7().to_string())
                        .bind(upload_id.to_string())
                        .bind(&job.kind)
                        .bind(jobs::next_json(&job.next))
                        .bind(millis(now))
                        .execute(tx)
                        .await?;
                    Ok(())
                }
            }

            #[::async_trait::async_trait]
            impl JobQueue for $repo {
                async fn claim(
                    &self,
                    now: OffsetDateTime,
                    until: OffsetDateTime,
                    kinds: &[&str],
                ) -> Result<Option<Job>, DbError> {
                    let kinds = ::serde_json::to_string(kinds)
                        .map_err(|e| DbError::Other(e.to_string()))?;
                    let row = sqlx::query(&sql::claim($kinds, $lock))
                        .bind(Uuid::new_v4().to_string())
                        .bind(millis(until))
                        .bind(millis(now))
                        .bind(kinds)
                        .fetch_optional(&self.$writer)
                        .await?;
                    row.as_ref().map(jobs::from_row).transpose()
                }

                async fn extend(&self, job: &Job, until: OffsetDateTime) -> Result<bool, DbError> {
                    let result = sqlx::query(sql::EXTEND)
                        .bind(millis(until))
                        .bind(job.id.to_string())
                        .bind(job.lease.map(|l| l.to_string()))
                        .execute(&self.$writer)
                        .await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn finish(
                    &self,
                    job: &Job,
                    outcome: &Outcome,
                    now: OffsetDateTime,
                ) -> Result<bool, DbError> {
                    let (state, error, run_at) = jobs::settled(outcome, now);
                    let mut tx = self.$writer.begin().await?;
                    let settled = sqlx::query(sql::SETTLE)
                        .bind(state.as_str())
                        .bind(error)
                        .bind(run_at)
                        .bind(millis(now))
                        .bind(job.id.to_string())
                        .bind(job.lease.map(|l| l.to_string()))
                        .execute(&mut *tx)
                        .await?;
                    if settled.rows_affected() != 1 {
                        return Ok(false);
                    }
                    if let Some(processing) = jobs::recorded(outcome) {
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
                        Self::insert_job(&mut tx, job.upload_id, next, now).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn jobs_of(&self, upload_id: Uuid) -> Result<Vec<Job>, DbError> {
                    let rows = sqlx::query(&sql::of_upload())
                        .bind(upload_id.to_string())
                        .fetch_all(&self.$reader)
                        .await?;
                    rows.iter().map(jobs::from_row).collect()
                }

                async fn jobs_in_state(
                    &self,
                    owner: &str,
                    state: JobState,
                    limit: u32,
                ) -> Result<Vec<Job>, DbError> {
                    let rows = sqlx::query(&sql::in_state())
                        .bind(owner)
                        .bind(state.as_str())
                        .bind(i64::from(limit))
                        .fetch_all(&self.$reader)
                        .await?;
                    rows.iter().map(jobs::from_row).collect()
                }

                async fn retry_dead(
                    &self,
                    owner: &str,
                    id: Uuid,
                    now: OffsetDateTime,
                ) -> Result<bool, DbError> {
                    let mut tx = self.$writer.begin().await?;
                    let Some(upload_id) = sqlx::query_scalar::<_, String>(sql::REQUEUE_DEAD)
                        .bind(millis(now))
                        .bind(id.to_string())
                        .bind(owner)
                        .fetch_optional(&mut *tx)
                        .await?
                    else {
                        return Ok(false);
                    };
                    let stored: Option<String> =
                        sqlx::query_scalar("SELECT processing FROM uploads WHERE id = $1")
                            .bind(&upload_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    let processing = jobs::reopened(stored.as_deref())?;
                    sqlx::query(sql::SET_PROCESSING)
                        .bind(processing)
                        .bind(millis(now))
                        .bind(&upload_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn depth(&self) -> Result<QueueDepth, DbError> {
                    let row = sqlx::query(sql::DEPTH).fetch_one(&self.$reader).await?;
                    jobs::depth_from_row(&row)
                }
            }
        };
    };
}
pub(super) use impl_job_queue;
