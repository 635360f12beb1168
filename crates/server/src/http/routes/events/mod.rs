//! `/v1/events`: notifications from the object store.

pub mod s3;
mod s3_records;
