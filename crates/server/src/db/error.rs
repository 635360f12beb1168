//! How the database fails: with its driver's error kept as the source, and
//! sorted by codes, never by message text.

use std::sync::Arc;

/// A driver error, shared: one failed group commit answers every insert in it.
pub type Source = Arc<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// Cannot be reached, overloaded or busy; worth retrying.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Source),
    /// The statement failed (a constraint, a bug); retrying will not help.
    #[error("database error: {0}")]
    Failed(#[source] Source),
    /// A stored value this version cannot read, or a value that cannot be stored.
    #[error("{0}")]
    Invalid(String),
}

impl DbError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// A value that cannot be read back or stored, named.
    pub fn invalid(what: impl Into<String>) -> Self {
        Self::Invalid(what.into())
    }
}

/// SQLite's primary result codes for "another connection holds the lock".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        let transient = match &err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => transient(db.as_ref()),
            _ => false,
        };
        if transient {
            Self::Unavailable(Arc::new(err))
        } else {
            Self::Failed(Arc::new(err))
        }
    }
}

impl From<sqlx::migrate::MigrateError> for DbError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Failed(Arc::new(err))
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(err: rusqlite::Error) -> Self {
        let transient = matches!(
            err.sqlite_error_code(),
            Some(
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::SystemIoFailure,
            )
        );
        if transient {
            Self::Unavailable(Arc::new(err))
        } else {
            Self::Failed(Arc::new(err))
        }
    }
}

/// Whether a database's error says "try again", by its dialect's code.
fn transient(err: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = err.code() else {
        return false;
    };
    if err
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        code.parse().is_ok_and(sqlite_transient)
    } else {
        postgres_transient(&code)
    }
}

/// SQLite's busy and locked; extended codes keep the primary code in their
/// low byte.
fn sqlite_transient(code: i32) -> bool {
    matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)
}

/// PostgreSQL's connection, resource and operator-intervention classes,
/// serialization failures and deadlocks.
fn postgres_transient(sqlstate: &str) -> bool {
    matches!(sqlstate.get(..2), Some("08" | "53" | "57")) || matches!(sqlstate, "40001" | "40P01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_locked_and_connection_codes_are_transient() {
        for code in [5, 261, 517, 6, 262] {
            assert!(sqlite_transient(code), "{code}");
        }
        for code in [19, 2067, 1, 11] {
            assert!(!sqlite_transient(code), "{code}");
        }
        for code in ["08006", "53300", "57P01", "40001", "40P01"] {
            assert!(postgres_transient(code), "{code}");
        }
        for code in ["23505", "42601", "22001", ""] {
            assert!(!postgres_transient(code), "{code}");
        }
    }
}
