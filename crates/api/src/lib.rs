//! Request and response bodies of uploadgate's HTTP API v1.
//!
//! The server and every Rust client share these types, so a field renamed here is
//! renamed on both sides of the wire at once. JSON is camelCase throughout.

mod erasures;
mod error_code;
mod problem;
mod processing;
mod tokens;
mod uploads;
mod webhooks;

pub use erasures::{Erasure, ErasureState};
pub use error_code::ErrorCode;
pub use problem::Problem;
pub use processing::{
    EventGridValidation, EventsAccepted, Job, JobList, JobState, Processing, ProcessingState,
    ScanResult, Thumbnail,
};
pub use tokens::{CreateUploadToken, UploadToken};
pub use uploads::{
    CompleteUpload, CompletedPart, CreateUpload, DownloadLink, ListQuery, SignParts, SignedPart,
    SignedParts, UploadInstructions, UploadList, UploadMethod, UploadRecord, UploadStatus,
    UploadedPart,
};
pub use webhooks::{DeliveryList, DeliveryState, EventType, WebhookDelivery, WebhookEvent};
