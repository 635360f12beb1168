//! SQLite lookups of one `uploads` row by a unique key, run on the calling thread.
//!
//! sqlx runs every SQLite statement on a thread of its own per connection and
//! hands the request and the rows across with two thread wake-ups. An indexed
//! lookup of one row takes a few microseconds, a fraction of that hand-off
//! (measured with `perf` under `bench/load.sh`: sqlx's threads and their
//! wake-ups were about 40% of the server's CPU when signing part URLs). So the
//! lookups on the request path take a connection here and run right away, and
//! everything else (writes, scans, the job queue) stays on sqlx.
//!
//! WAL readers never wait for the writer, so a lookup blocks its thread only
//! as long as the lookup itself; the short busy timeout bounds the rare wait
//! on a checkpoint or recovery, after which the caller gets `Unavailable`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Params};

use super::columns::{self, RowColumns};
use super::{DbError, Upload};

/// About one per runtime thread, with room for a thread that is preempted
/// while holding one.
const CONNECTIONS: usize = 4;

/// The longest a lookup waits for a lock SQLite holds briefly (see above).
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct PointReads {
    connections: Box<[Mutex<Connection>]>,
    /// Where the next caller starts looking for a free connection.
    next: AtomicUsize,
}

impl PointReads {
    /// Read-only connections to the database file at `path`, which must exist
    /// and be in WAL mode (the writer's connection sees to both).
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let connections = (0..CONNECTIONS)
            .map(|_| {
                let connection = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                connection.busy_timeout(BUSY_TIMEOUT)?;
                Ok(Mutex::new(connection))
            })
            .collect::<Result<_, DbError>>()?;
        Ok(Self {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// The upload `sql` (selecting `COLUMNS`) finds, if any.
    pub fn upload(&self, sql: &str, params: impl Params) -> Result<Option<Upload>, DbError> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(sql)?;
        let mut rows = statement.query(params)?;
        rows.next()?.map(columns::from_row).transpose()
    }

    /// A free connection, or the next one in turn when all are taken.
    fn connection(&self) -> MutexGuard<'_, Connection> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.connections.len();
        (0..n)
            .find_map(|i| self.connections[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| {
                // A panic mid-lookup leaves nothing half-done in a read-only connection.
                self.connections[start % n]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
            })
    }
}

impl RowColumns for rusqlite::Row<'_> {
    fn text(&self, index: usize) -> Result<Option<String>, DbError> {
        Ok(self.get(index)?)
    }
    fn int(&self, index: usize) -> Result<Option<i64>, DbError> {
        Ok(self.get(index)?)
    }
}
