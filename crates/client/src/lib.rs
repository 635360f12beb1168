//! A client for uploadgate's API v1 that uploads files the way a command-line
//! tool or a backend job needs: streamed from disk in parallel parts, each
//! part's SHA-256 signed into its URL, retried with backoff, and resumable
//! after a crash from the parts storage already holds.
//!
//! ```no_run
//! # async fn run() -> Result<(), uploadgate_client::ClientError> {
//! use uploadgate_client::{Api, ResumeStore, UploadOptions, Uploader};
//! let api = Api::new("http://127.0.0.1:8080", "TOKEN")?;
//! let uploader = Uploader::new(api, ResumeStore::default_location()?);
//! let progress: uploadgate_client::Progress = std::sync::Arc::new(|_event| {});
//! let report = uploader
//!     .upload("video.mp4".as_ref(), &UploadOptions::default(), &progress)
//!     .await?;
//! println!("{} is {:?}", report.record.id, report.record.status);
//! # Ok(()) }
//! ```

mod api;
mod error;
mod file;
mod multipart;
mod resume;
mod retry;
mod single;
mod upload;

pub use api::Api;
pub use error::ClientError;
pub use file::FileIdentity;
pub use resume::{ResumeEntry, ResumeStore};
pub use retry::RetryPolicy;
pub use upload::{Event, Progress, UploadOptions, UploadReport, Uploader};
pub use uploadgate_api as types;
