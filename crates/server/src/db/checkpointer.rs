//! Copies SQLite's WAL into the database file on a thread of its own.
//!
//! Left to itself, SQLite checkpoints in the connection whose commit takes the
//! WAL past 1,000 pages: our one writer, which then copies those pages and
//! fsyncs the database file while every insert waiting for a group commit
//! waits too. So a thread of its own runs a passive checkpoint every
//! `INTERVAL`: it takes neither the write lock nor any wait, and commits go on
//! appending to the WAL while it copies.
//!
//! The writer keeps an auto-checkpoint, at a higher mark, for one thing the
//! thread cannot do: start the WAL over. SQLite rewinds the WAL only when a
//! write begins with every frame copied, which a thread racing a busy writer
//! rarely sees (tried: with the writer's checkpoint off, the WAL grew without
//! bound). When the writer's turn comes, the thread has copied all but the last
//! few milliseconds of frames, so the writer's pass is short.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::DbError;

/// How often the WAL is copied in.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// The writer's pragmas: its own checkpoint only past 4,000 pages (16 MiB), by
/// when the thread has copied nearly all of them; and a WAL file trimmed back
/// to 64 MiB after a burst made it larger.
pub const WRITER_PRAGMAS: [(&str, &str); 2] = [
    ("wal_autocheckpoint", "4000"),
    ("journal_size_limit", "67108864"),
];

/// WAL frames behind after a pass that make it worth a warning: readers that
/// keep old snapshots for long stop passes from finishing, and the WAL grows.
const FRAMES_BEHIND_WARNING: i64 = 262_144;

/// Stops the thread, after one last pass, when dropped.
#[derive(Debug)]
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Checkpoints the database at `path` (in WAL mode) every `interval`.
    pub fn start(path: &Path, interval: Duration) -> Result<Self, DbError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A pass waits for no lock: it skips what a reader still needs.
        connection.busy_timeout(Duration::ZERO)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut health = Health::Keeping;
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(interval),
                        Err(RecvTimeoutError::Timeout)
                    );
                    health = checkpoint(&connection, health);
                    if last {
                        return;
                    }
                }
            })
            .map_err(|err| DbError::Invalid(format!("starting the checkpoint thread: {err}")))?;
        Ok(Self { _stop: stop })
    }
}

/// What the last pass found: a condition that lasts is logged when it starts
/// and when it ends, not ten times a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Keeping,
    Behind,
    Failing,
}

/// One passive pass. Another checkpoint holding the lock (the writer's own)
/// is no failure: SQLite reports it in the row, and the next pass goes on.
fn checkpoint(connection: &Connection, was: Health) -> Health {
    let pass = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    let now = match &pass {
        Ok((frames, copied)) if frames - copied > FRAMES_BEHIND_WARNING => Health::Behind,
        Ok(_) => Health::Keeping,
        Err(_) => Health::Failing,
    };
    if now != was {
        match (now, pass) {
            (Health::Behind, Ok((frames, copied))) => {
                tracing::warn!(frames, copied, "SQLite WAL checkpoints fall behind");
            }
            (Health::Failing, Err(err)) => {
                tracing::warn!(%err, "SQLite WAL checkpoints fail; retrying every pass");
            }
            _ => tracing::info!("SQLite WAL checkpoints keep up again"),
        }
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    /// Writes 32 MiB in 256 commits on a connection with `pragmas`; returns
    /// the WAL file's largest size, and the connection (the last connection's
    /// close checkpoints).
    fn write_burst(db: &Path, pragmas: &str) -> (u64, Connection) {
        let writer = Connection::open(db).expect("open");
        writer
            .execute_batch(&format!(
                "PRAGMA journal_mode=WAL; {pragmas}
                 CREATE TABLE IF NOT EXISTS blobs (b BLOB NOT NULL);"
            ))
            .expect("schema");
        let mut largest = 0;
        for _ in 0..256 {
            writer
                .execute("INSERT INTO blobs (b) VALUES (zeroblob(131072))", [])
                .expect("insert");
            largest = largest.max(size(&db.with_extension("db-wal")));
            std::thread::sleep(Duration::from_millis(2));
        }
        (largest, writer)
    }

    fn created(dir: &Path, name: &str) -> std::path::PathBuf {
        let db = dir.join(name);
        Connection::open(&db)
            .and_then(|c| c.execute_batch("PRAGMA journal_mode=WAL;"))
            .expect("create");
        db
    }

    #[test]
    fn the_thread_copies_the_wal_while_the_writer_never_checkpoints() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = created(dir.path(), "a.db");
        let checkpointer = Checkpointer::start(&db, Duration::from_millis(20)).expect("start");
        let (_, _writer) = write_burst(&db, "PRAGMA wal_autocheckpoint=0;");
        std::thread::sleep(Duration::from_millis(200));
        drop(checkpointer);
        assert!(
            size(&db) > 32 << 20,
            "the database file holds {} bytes",
            size(&db)
        );

        // Without the thread, all of it stays in the WAL: the assertion above can fail.
        let unchecked = created(dir.path(), "b.db");
        let (_, _writer) = write_burst(&unchecked, "PRAGMA wal_autocheckpoint=0;");
        assert!(size(&unchecked) < 1 << 20);
    }

    #[test]
    fn the_writers_pragmas_keep_the_wal_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = created(dir.path(), "a.db");
        let _checkpointer = Checkpointer::start(&db, Duration::from_millis(20)).expect("start");
        let pragmas: String = WRITER_PRAGMAS
            .iter()
            .map(|(key, value)| format!("PRAGMA {key}={value};"))
            .collect();
        let (largest, _writer) = write_burst(&db, &pragmas);
        // 4,000 pages of 4 KiB, and the commit that crossed the mark.
        assert!(largest < 18 << 20, "the WAL grew to {largest} bytes");
    }
}
