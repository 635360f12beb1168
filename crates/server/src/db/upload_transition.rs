//! `UploadRepo::transition` in SQL for both databases: the conditional state
//! change, and in the same transaction the first job of the upload's
//! processing, the queued jobs of a deleted file dropped, and the webhook
//! events the change announces. A completed upload never misses its jobs.

use sqlx::{Database, Encode, Executor, IntoArguments, Type};
use uploadgate_api::{Processing, UploadStatus};
use uuid::Uuid;

use super::affected::Affected;
use super::columns::{self, millis, processing_json};
use super::job_queue::{SqlJobs, insert_job, sql};
use super::outbox::insert_deliveries;
use super::{DbError, Transition};

impl<DB> SqlJobs<DB>
where
    DB: Database,
    DB::QueryResult: Affected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
{
    /// `UploadRepo::transition`: the conditional state change and, when
    /// `change.enqueue` says so, the upload marked as processing and its first
    /// job queued, all in one transaction (a completed upload never misses
    /// its jobs).
    pub async fn transition(
        &self,
        id: Uuid,
        from: UploadStatus,
        change: &Transition,
    ) -> Result<bool, DbError> {
        let completed_at = (change.to == UploadStatus::Completed).then(|| millis(change.at));
        let mut tx = self.writer.begin().await?;
        let result = sqlx::query(columns::TRANSITION)
            .bind(change.to.as_str())
            .bind(millis(change.at))
            .bind(change.reject_reason.clone())
            .bind(completed_at)
            .bind(change.size.map(columns::to_i64).transpose()?)
            .bind(id.to_string())
            .bind(from.as_str())
            .bind(change.claim.map(|token| token.to_string()))
            .bind(i64::from(change.replace_pending))
            .execute(&mut *tx)
            .await?;
        if result.affected() != 1 {
            return Ok(false);
        }
        if let Some(job) = &change.enqueue {
            sqlx::query(sql::SET_PROCESSING)
                .bind(processing_json(&Processing::started())?)
                .bind(millis(change.at))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            insert_job(&mut *tx, id, job, change.at).await?;
        }
        if change.to == UploadStatus::Deleted {
            // Nothing more is done to a deleted file; a job under way ends
            // on its own and purges what it wrote.
            sqlx::query(sql::DROP_QUEUED)
                .bind(millis(change.at))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        insert_deliveries::<DB>(&mut tx, &change.announce, change.at).await?;
        tx.commit().await?;
        Ok(true)
    }
}
