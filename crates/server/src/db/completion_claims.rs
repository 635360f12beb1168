//! The completion claim, in SQL written once for both databases: a lease
//! (`completing_until`) and the token of its holder (`completing_by`).

use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;
use super::affected::Affected;
use super::columns::millis;

/// `$1` until, `$2` token, `$3` id, `$4` now.
const CLAIM: &str = "UPDATE uploads SET completing_until = $1, completing_by = $2 \
     WHERE id = $3 AND status IN ('pending', 'uploading') \
       AND (completing_until IS NULL OR completing_until < $4)";

/// `$1` new until, `$2` id, `$3` token.
const RENEW: &str = "UPDATE uploads SET completing_until = $1 \
     WHERE id = $2 AND completing_by = $3 AND status IN ('pending', 'uploading')";

/// `$1` id, `$2` token.
const RELEASE: &str = "UPDATE uploads SET completing_until = NULL, completing_by = NULL \
     WHERE id = $1 AND completing_by = $2";

/// The claim statements of one database's pool.
#[derive(Debug)]
pub struct CompletionClaims<DB: Database>(pub Pool<DB>);

// By hand: a derive would ask `DB: Clone`, which no dialect marker is.
impl<DB: Database> Clone for CompletionClaims<DB> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<DB> CompletionClaims<DB>
where
    DB: Database,
    DB::QueryResult: Affected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    pub async fn claim(
        &self,
        id: Uuid,
        token: Uuid,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(CLAIM)
            .bind(millis(until))
            .bind(token.to_string())
            .bind(id.to_string())
            .bind(millis(now))
            .execute(&self.0)
            .await?;
        Ok(done.affected() == 1)
    }

    pub async fn renew(
        &self,
        id: Uuid,
        token: Uuid,
        until: OffsetDateTime,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(RENEW)
            .bind(millis(until))
            .bind(id.to_string())
            .bind(token.to_string())
            .execute(&self.0)
            .await?;
        Ok(done.affected() == 1)
    }

    pub async fn release(&self, id: Uuid, token: Uuid) -> Result<(), DbError> {
        sqlx::query(RELEASE)
            .bind(id.to_string())
            .bind(token.to_string())
            .execute(&self.0)
            .await?;
        Ok(())
    }
}
