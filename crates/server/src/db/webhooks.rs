//! The webhook delivery log: deliveries recorded by `outbox`, claimed by a
//! sender on any node under a lease, their attempts, redelivery. SQL written
//! once for both databases.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};
use time::OffsetDateTime;
use uploadgate_api::{DeliveryState, EventType};
use uuid::Uuid;

use super::DbError;
use super::access::SqlAccess;
use super::affected::Affected;
use super::columns::{from_millis, millis};

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub event: EventType,
    pub upload_id: Uuid,
    pub owner: String,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    /// The sender's lease, once claimed.
    pub lease: Option<Uuid>,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered 2xx.
    Delivered { status: u16 },
    /// No 2xx: try again at `retry_at`, or (`None`) never again by itself.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<OffsetDateTime>,
    },
}

/// Which deliveries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub event: Option<EventType>,
    pub page: super::Page<String>,
}

#[async_trait]
pub trait WebhookStore: Send + Sync + std::fmt::Debug {
    /// Takes the oldest due pending delivery nobody holds until `until`.
    async fn claim_delivery(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Delivery>, DbError>;
    /// Records an attempt of a claimed delivery; false when its lease was lost.
    async fn record_attempt(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> Result<bool, DbError>;
    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, DbError>;
    /// Queues delivery `id` again now, whatever its state; `None` when unknown.
    async fn redeliver(&self, id: &str, now: OffsetDateTime) -> Result<Option<Delivery>, DbError>;
    /// Drops `owner`'s deliveries but those written without anything
    /// personal (an erasure's): an erased user's filenames and metadata must
    /// not outlive it in the log.
    async fn forget_deliveries_of(&self, owner: &str) -> Result<(), DbError>;
    /// Drops settled deliveries (delivered or failed) created before `before`.
    async fn drop_deliveries(&self, before: OffsetDateTime) -> Result<u64, DbError>;
}

const COLUMNS: &str = "id, event_type, upload_id, owner, payload, state, attempts, last_status, \
     last_error, last_attempt_at, next_attempt_at, created_at, lease";

fn from_row<'r, R>(row: &'r R) -> Result<Delivery, DbError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| DbError::Invalid(format!("corrupt delivery row: {what}"));
    let event: String = row.try_get("event_type")?;
    let state: String = row.try_get("state")?;
    let upload_id: String = row.try_get("upload_id")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        event: EventType::parse(&event).ok_or_else(|| corrupt("event_type"))?,
        upload_id: Uuid::parse_str(&upload_id).map_err(|_| corrupt("upload_id"))?,
        owner: row.try_get("owner")?,
        payload: row.try_get("payload")?,
        state: DeliveryState::parse(&state).ok_or_else(|| corrupt("state"))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?)
            .map_err(|_| corrupt("attempts"))?,
        last_status: row
            .try_get::<Option<i64>, _>("last_status")?
            .map(|s| u16::try_from(s).map_err(|_| corrupt("last_status")))
            .transpose()?,
        last_error: row.try_get("last_error")?,
        last_attempt_at: row
            .try_get::<Option<i64>, _>("last_attempt_at")?
            .map(from_millis)
            .transpose()?,
        next_attempt_at: from_millis(row.try_get("next_attempt_at")?)?,
        created_at: from_millis(row.try_get("created_at")?)?,
        lease: row
            .try_get::<Option<String>, _>("lease")?
            .map(|s| Uuid::parse_str(&s).map_err(|_| corrupt("lease")))
            .transpose()?,
    })
}

#[async_trait]
impl<DB> WebhookStore for SqlAccess<DB>
where
    DB: Database,
    DB::QueryResult: Affected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
    for<'s> &'s str: ColumnIndex<DB::Row>,
{
    async fn claim_delivery(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Delivery>, DbError> {
        // The outer condition repeats the inner one: of two nodes picking the
        // same row, the second finds it taken and claims nothing.
        sqlx::query(&format!(
            "UPDATE webhook_deliveries SET lease = $1, locked_until = $2 \
             WHERE id = (SELECT id FROM webhook_deliveries \
                 WHERE state = 'pending' AND next_attempt_at <= $3 \
                   AND (locked_until IS NULL OR locked_until <= $3) \
                 ORDER BY next_attempt_at, id LIMIT 1) \
               AND state = 'pending' AND (locked_until IS NULL OR locked_until <= $3) \
             RETURNING {COLUMNS}"
        ))
        .bind(Uuid::new_v4().to_string())
        .bind(millis(until))
        .bind(millis(now))
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn record_attempt(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
        now: OffsetDateTime,
    ) -> Result<bool, DbError> {
        let (state, status, error, next) = match attempt {
            Attempt::Delivered { status } => (DeliveryState::Delivered, Some(*status), None, now),
            Attempt::Failed {
                status,
                error,
                retry_at: Some(at),
            } => (DeliveryState::Pending, *status, Some(error.clone()), *at),
            Attempt::Failed {
                status,
                error,
                retry_at: None,
            } => (DeliveryState::Failed, *status, Some(error.clone()), now),
        };
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, \
                 last_status = $2, last_error = $3, last_attempt_at = $4, \
                 next_attempt_at = $5, lease = NULL, locked_until = NULL \
             WHERE id = $6 AND lease = $7",
        )
        .bind(state.as_str().to_owned())
        .bind(status.map(i64::from))
        .bind(error)
        .bind(millis(now))
        .bind(millis(next))
        .bind(delivery.id.clone())
        .bind(delivery.lease.map(|l| l.to_string()).unwrap_or_default())
        .execute(&self.writer)
        .await?;
        Ok(done.affected() == 1)
    }

    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM webhook_deliveries \
             WHERE (CAST($1 AS TEXT) IS NULL OR state = $1) \
               AND (CAST($2 AS TEXT) IS NULL OR event_type = $2) \
               AND (CAST($3 AS TEXT) IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(filter.state.map(|s| s.as_str().to_owned()))
        .bind(filter.event.map(|e| e.as_str().to_owned()))
        .bind(filter.page.before.clone())
        .bind(i64::from(filter.page.limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn redeliver(&self, id: &str, now: OffsetDateTime) -> Result<Option<Delivery>, DbError> {
        // Dropping the lease of an attempt under way makes its outcome go
        // unrecorded, so the redelivery is never overwritten by it (the
        // receiver may then see the same webhook-id twice, as it may anyway).
        // The attempts count again from zero: a redelivery gets the full
        // series of retries.
        sqlx::query(&format!(
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $1, \
                 attempts = 0, lease = NULL, locked_until = NULL \
             WHERE id = $2 RETURNING {COLUMNS}"
        ))
        .bind(millis(now))
        .bind(id.to_owned())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn forget_deliveries_of(&self, owner: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM webhook_deliveries WHERE owner = $1 AND scrubbed = 0")
            .bind(owner.to_owned())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn drop_deliveries(&self, before: OffsetDateTime) -> Result<u64, DbError> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1",
        )
        .bind(millis(before))
        .execute(&self.writer)
        .await?;
        Ok(done.affected())
    }
}
