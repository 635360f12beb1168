//! Group commit for new uploads, the busiest write: inserts that arrive
//! together share one statement and one durable commit instead of paying a
//! round trip and a commit each.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{DbError, Upload};

/// Most inserts committed together; 21 values each stays far below SQLite's
/// limit of 32,766 bound parameters and PostgreSQL's of 65,535.
const MAX_GROUP: usize = 256;

/// The task that commits inserts has ended (the runtime is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the insert queue has stopped")]
struct QueueStopped;

/// An insert waiting for the next group, and where to send its outcome.
type Queued = (Upload, oneshot::Sender<Result<(), DbError>>);

/// The sending end of a database's insert queue.
#[derive(Debug, Clone)]
pub struct GroupCommit(mpsc::Sender<Queued>);

impl GroupCommit {
    /// Starts a task that commits queued inserts with `insert`, which writes
    /// its uploads in one statement.
    pub fn start<F, Fut>(insert: F) -> Self
    where
        F: Fn(Arc<[Upload]>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), DbError>> + Send + 'static,
    {
        let (sender, queue) = mpsc::channel(MAX_GROUP * 4);
        tokio::spawn(commit_groups(queue, insert));
        Self(sender)
    }

    /// Inserts `upload` with the next group; returns once that is committed.
    pub async fn insert(&self, upload: Upload) -> Result<(), DbError> {
        let stopped = || DbError::Unavailable(std::sync::Arc::new(QueueStopped));
        let (reply, outcome) = oneshot::channel();
        self.0.send((upload, reply)).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

async fn commit_groups<F, Fut>(mut queue: mpsc::Receiver<Queued>, insert: F)
where
    F: Fn(Arc<[Upload]>) -> Fut,
    Fut: Future<Output = Result<(), DbError>>,
{
    let mut group: Vec<Queued> = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (uploads, replies): (Vec<Upload>, Vec<_>) = group.drain(..).unzip();
        let uploads: Arc<[Upload]> = uploads.into();
        match insert(uploads.clone()).await {
            // One bad row fails the statement: retry alone to tell whose it was.
            // Not when the database is unavailable: each retry would wait as long.
            Err(err) if !err.is_unavailable() && uploads.len() > 1 => {
                for (upload, reply) in uploads.iter().zip(replies) {
                    let _ = reply.send(insert(Arc::from([upload.clone()])).await);
                }
            }
            outcome => {
                for reply in replies {
                    let _ = reply.send(outcome.clone());
                }
            }
        }
    }
}
