//! `/v1/jobs`: the caller's post-processing jobs, and the dead-letter queue.

pub mod list;
pub mod retry;
