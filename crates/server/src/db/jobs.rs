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
use crate::config::Processor;

/// A job as a worker holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: Uuid,
    pub upload_id: Uuid,
    pub kind: Processor,
    /// Processors to queue, in order, once this one succeeds.
    pub next: Vec<Processor>,
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
    pub kind: Processor,
    pub next: Vec<Processor>,
}

impl NewJob {
    /// The job for the first of `processors`; `None` for an empty pipeline.
    pub fn pipeline(processors: &[Processor]) -> Option<Self> {
        let (first, rest) = processors.split_first()?;
        Some(Self {
            kind: *first,
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
        kinds: &[Processor],
    ) -> Result<Option<Job>, DbError>;
    /// Keeps a long job's lease; false when it was lost (taken over, or retried).
    async fn extend(&self, job: &Job, until: OffsetDateTime) -> Result<bool, DbError>;
    /// Records how `job` ended, and the webhook events that announces;
    /// false (and nothing written) when its lease was lost.
    async fn finish(
        &self,
        job: &Job,
        outcome: &Outcome,
        announce: &[super::NewDelivery],
        now: OffsetDateTime,
    ) -> Result<bool, DbError>;
    /// The jobs of one upload, oldest first.
    async fn jobs_of(&self, upload_id: Uuid) -> Result<Vec<Job>, DbError>;
    /// `owner`'s jobs in `state` (every owner's for `None`) on `page`, newest first.
    async fn jobs_in_state(
        &self,
        owner: Option<&str>,
        state: JobState,
        page: &super::Page<Uuid>,
    ) -> Result<Vec<Job>, DbError>;
    /// Queues `owner`'s dead job `id` again with fresh attempts and sets its
    /// upload back to processing; false when it is not theirs or not dead.
    async fn retry_dead(&self, owner: &str, id: Uuid, now: OffsetDateTime)
    -> Result<bool, DbError>;
    async fn depth(&self) -> Result<QueueDepth, DbError>;
}
