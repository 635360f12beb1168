//! The worker loop: claim a due job, run it under a renewed lease, record how
//! it ended.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;
use uploadgate_api::{EventType, Processing, ProcessingState, UploadStatus};

use super::{ProcessError, run};
use crate::config::{Config, Processor};
use crate::db::{self, Job, NewDelivery, NewJob, Outcome, Upload};
use crate::lease;
use crate::metrics::{JobKindLabels, JobLabels};
use crate::retry_delay::{doubling, with_jitter};
use crate::uploads::Uploads;

/// `run_workers` in a task of its own (inside `serve`).
pub fn spawn(uploads: Uploads, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run_workers(uploads, stop))
}

/// Runs `workers.concurrency` workers until `stop` turns true. A job under way
/// when it does is finished first; if the process dies instead, the job's lease
/// runs out and another worker runs it again.
pub async fn run_workers(uploads: Uploads, stop: watch::Receiver<bool>) {
    let mut workers = JoinSet::new();
    for _ in 0..uploads.config.workers.concurrency {
        workers.spawn(work(uploads.clone(), stop.clone()));
    }
    while let Some(result) = workers.join_next().await {
        if let Err(err) = result {
            tracing::error!(%err, "a job worker ended abnormally");
        }
    }
}

async fn work(uploads: Uploads, mut stop: watch::Receiver<bool>) {
    let settings = &uploads.config.workers;
    let kinds = runnable(&uploads.config);
    while !*stop.borrow() {
        let now = db::now();
        match uploads
            .db
            .jobs()
            .claim(now, now + settings.lease, &kinds)
            .await
        {
            Ok(Some(job)) => run_claimed(&uploads, job).await,
            Ok(None) => {
                tokio::select! {
                    _ = stop.changed() => {}
                    () = uploads.work.notified() => {}
                    () = tokio::time::sleep(settings.poll_interval) => {}
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot claim a job");
                tokio::select! {
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(settings.poll_interval) => {}
                }
            }
        }
    }
}

/// The processors this process's config can run: scans need a clamd; the
/// rest need nothing. Jobs of the others wait for a worker (on another node)
/// that can.
pub fn runnable(config: &Config) -> Vec<Processor> {
    Processor::ALL
        .into_iter()
        .filter(|kind| *kind != Processor::Scan || config.scan.clamd.is_some())
        .collect()
}

async fn run_claimed(uploads: &Uploads, job: Job) {
    let started = Instant::now();
    let Some(outcome) = decide(uploads, &job).await else {
        return;
    };
    report(uploads, &job, &outcome, started.elapsed());
    record(uploads, &job, &outcome).await;
}

/// What became of `job`: its attempt's outcome, a retry, or the dead-letter
/// queue; `None` when another worker took it over meanwhile.
async fn decide(uploads: &Uploads, job: &Job) -> Option<Outcome> {
    let settings = &uploads.config.workers;
    if job.attempts > settings.max_attempts {
        // Claimed again after its lease ran out every time: whatever it does
        // kills or hangs its worker. Stop feeding it to workers.
        let error = format!(
            "abandoned by its worker {} times (crash or hang)",
            job.attempts - 1
        );
        return Some(dead(uploads, job, error).await);
    }
    let attempt = tokio::select! {
        result = attempt(uploads, job) => result,
        lost = lease::keep(format!("job {}", job.id), settings.lease, |until| {
            uploads.db.jobs().extend(job, until)
        }) => {
            tracing::warn!(job = %job.id, kind = %job.kind, %lost, "lost a job's lease; leaving it to its new worker");
            return None;
        }
    };
    Some(match attempt {
        Ok(outcome) => outcome,
        Err(ProcessError::Retry(error)) if job.attempts < settings.max_attempts => Outcome::Retry {
            retry_at: db::now()
                + with_jitter(doubling(
                    settings.backoff,
                    settings.max_backoff,
                    job.attempts,
                )),
            error,
        },
        Err(ProcessError::Retry(error) | ProcessError::Permanent(error)) => {
            dead(uploads, job, error).await
        }
    })
}

/// Logs and measures how `job` ended.
fn report(uploads: &Uploads, job: &Job, outcome: &Outcome, took: Duration) {
    let label = match outcome {
        Outcome::Succeeded { .. } => {
            tracing::info!(job = %job.id, upload = %job.upload_id, kind = %job.kind, "job done");
            "done"
        }
        Outcome::Retry { error, retry_at } => {
            tracing::warn!(job = %job.id, upload = %job.upload_id, kind = %job.kind,
                attempt = job.attempts, %error, %retry_at, "job failed; will retry");
            "retry"
        }
        Outcome::Dead { error, .. } => {
            tracing::error!(job = %job.id, upload = %job.upload_id, kind = %job.kind,
                attempt = job.attempts, %error, "job failed for good; dead-lettered");
            "dead"
        }
    };
    let kind = job.kind.as_str();
    let metrics = &uploads.metrics;
    metrics
        .job_seconds
        .get_or_create(&JobKindLabels { kind })
        .observe(took.as_secs_f64());
    metrics
        .jobs
        .get_or_create(&JobLabels {
            kind,
            outcome: label,
        })
        .inc();
}

/// Records `outcome` and the events it announces, and wakes a worker for
/// the job it queued next.
async fn record(uploads: &Uploads, job: &Job, outcome: &Outcome) {
    let announce = announcement(uploads, job, outcome).await;
    match uploads
        .db
        .jobs()
        .finish(job, outcome, &announce, db::now())
        .await
    {
        Ok(true) => {
            if matches!(outcome, Outcome::Succeeded { next: Some(_), .. }) {
                uploads.work.notify_waiters();
            }
        }
        Ok(false) => {
            tracing::warn!(job = %job.id, "a job's lease was lost before its outcome was recorded");
        }
        // The lease runs out and the job runs again: processors are idempotent.
        Err(err) => tracing::warn!(job = %job.id, %err, "cannot record a job's outcome"),
    }
}

/// One attempt at `job`: the processor's results and what comes next.
async fn attempt(uploads: &Uploads, job: &Job) -> Result<Outcome, ProcessError> {
    let upload = uploads
        .db
        .get(job.upload_id)
        .await?
        .ok_or_else(|| ProcessError::Permanent("the upload no longer exists".into()))?;
    if upload.status == UploadStatus::Deleted {
        // Nothing more to do for a file that is gone; the pipeline ends here.
        // An earlier attempt that died may have written something: purge
        // again (the tombstone keeps its keys while jobs remain).
        purge_or_retry(uploads, &upload).await?;
        return Ok(Outcome::Succeeded {
            processing: upload.processing.unwrap_or_else(Processing::started),
            next: None,
        });
    }
    let mut processing = upload
        .processing
        .clone()
        .unwrap_or_else(Processing::started);
    run(uploads, job, &upload, &mut processing).await?;
    if deleted_meanwhile(uploads, &upload, &processing).await? {
        return Ok(Outcome::Succeeded {
            processing,
            next: None,
        });
    }
    let next = if processing.state == ProcessingState::Quarantined {
        // Nothing more happens to an infected file (its event tells the application).
        None
    } else {
        NewJob::pipeline(&job.next)
    };
    // The pipeline's end: nothing went wrong, so the file is ready.
    if next.is_none() && processing.state == ProcessingState::Processing {
        processing.state = ProcessingState::Ready;
    }
    Ok(Outcome::Succeeded { processing, next })
}

/// The `processing.*` event, when `outcome` ends the upload's pipeline, to
/// record with it. A deleted upload gets none (its `upload.deleted` said it
/// all): the outbox checks that in the recording transaction.
async fn announcement(uploads: &Uploads, job: &Job, outcome: &Outcome) -> Vec<NewDelivery> {
    let (processing, event) = match outcome {
        Outcome::Succeeded {
            processing,
            next: None,
        } => {
            let event = if processing.state == ProcessingState::Quarantined {
                EventType::ProcessingQuarantined
            } else {
                EventType::ProcessingReady
            };
            (processing, event)
        }
        Outcome::Dead { processing, .. } => (processing, EventType::ProcessingFailed),
        Outcome::Succeeded { next: Some(_), .. } | Outcome::Retry { .. } => return Vec::new(),
    };
    if !uploads.config.webhooks.wants(event) {
        return Vec::new();
    }
    match uploads.db.get(job.upload_id).await {
        Ok(Some(upload)) => uploads.announce(
            event,
            &Upload {
                processing: Some(processing.clone()),
                ..upload
            },
        ),
        Ok(None) => Vec::new(),
        Err(err) => {
            // Unrecorded, the job runs again and announces then.
            tracing::warn!(job = %job.id, %err, "cannot read the upload to announce its processing");
            Vec::new()
        }
    }
}

/// Whether `upload` was deleted while its job ran; if so, what the job wrote
/// to storage (a thumbnail, a quarantined copy) goes too. The deletion commits
/// before it purges, so either it purges after the job's writes or this sees
/// its tombstone. The keys come from the job's copy: an erased tombstone
/// keeps none.
async fn deleted_meanwhile(
    uploads: &Uploads,
    upload: &Upload,
    processing: &Processing,
) -> Result<bool, ProcessError> {
    let still_there = uploads
        .db
        .get(upload.id)
        .await?
        .is_some_and(|now| now.status != UploadStatus::Deleted);
    if still_there {
        return Ok(false);
    }
    tracing::info!(upload = %upload.id, "upload deleted while a job ran; purging what it wrote");
    let gone = Upload {
        status: UploadStatus::Deleted,
        processing: Some(processing.clone()),
        ..upload.clone()
    };
    purge_or_retry(uploads, &gone).await?;
    Ok(true)
}

/// Purges a deleted upload's objects; a failure makes the job try again.
async fn purge_or_retry(uploads: &Uploads, gone: &Upload) -> Result<(), ProcessError> {
    match uploads.purge(gone, false).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ProcessError::Retry(
            "could not delete what was written for a deleted upload".into(),
        )),
        Err(err) => Err(ProcessError::Retry(err.to_string())),
    }
}

async fn dead(uploads: &Uploads, job: &Job, error: String) -> Outcome {
    let stored = uploads.db.get(job.upload_id).await.ok().flatten();
    let mut processing = stored
        .and_then(|u| u.processing)
        .unwrap_or_else(Processing::started);
    if processing.state != ProcessingState::Quarantined {
        processing.state = ProcessingState::Failed;
    }
    Outcome::Dead { error, processing }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_only_take_what_their_config_can_run() {
        let mut config = Config::default();
        assert_eq!(
            runnable(&config),
            [Processor::Sniff, Processor::Metadata, Processor::Thumbnail]
        );
        config.scan.clamd = Some("tcp://127.0.0.1:3310".into());
        assert_eq!(runnable(&config), Processor::ALL);
    }
}
