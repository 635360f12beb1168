//! The webhook outbox: deliveries are inserted in the transaction that
//! commits what they announce, so an event is never sent for a state that
//! was rolled back, nor lost for one that was committed.

use sqlx::{Database, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;
use uploadgate_api::EventType;
use uuid::Uuid;

use super::DbError;
use super::columns::millis;

/// An event to deliver, as the transaction that commits its state records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// `msg_` and a UUIDv7: the `webhook-id`.
    pub id: String,
    pub event: EventType,
    pub upload_id: Uuid,
    pub owner: String,
    /// The exact body to send.
    pub payload: String,
    /// The payload holds nothing personal (an erasure's): erasing the owner
    /// keeps it in the log.
    pub scrubbed: bool,
    /// Recorded only if the upload is not deleted when the transaction
    /// commits (a processing result of a file deleted meanwhile is news to nobody).
    pub unless_deleted: bool,
}

/// Records `deliveries` on `conn`, inside the caller's transaction.
pub async fn insert_deliveries<DB>(
    conn: &mut DB::Connection,
    deliveries: &[NewDelivery],
    now: OffsetDateTime,
) -> Result<(), DbError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    for delivery in deliveries {
        sqlx::query(
            "INSERT INTO webhook_deliveries \
                 (id, event_type, upload_id, owner, payload, scrubbed, state, attempts, \
                  next_attempt_at, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7 \
             WHERE $8 = 0 OR EXISTS \
                 (SELECT 1 FROM uploads WHERE id = $3 AND status <> 'deleted')",
        )
        .bind(delivery.id.clone())
        .bind(delivery.event.as_str().to_owned())
        .bind(delivery.upload_id.to_string())
        .bind(delivery.owner.clone())
        .bind(delivery.payload.clone())
        .bind(i64::from(delivery.scrubbed))
        .bind(millis(now))
        .bind(i64::from(delivery.unless_deleted))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
