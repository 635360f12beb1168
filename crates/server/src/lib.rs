//! uploadgate's server: the HTTP API, its database and storage layers, and the
//! embedded S3 store used when no external one is configured.
//!
//! Layers, each importing only from those below it (docs/architecture.md):
//! `http` (routes, extractors, the problem mapping) → `uploads` (the domain:
//! every operation on an upload), driven also by `janitor` and `processing`
//! → `db`, `storage`, `auth`, `config` and the small modules they share.

pub mod auth;
pub mod check;
pub mod config;
mod connections;
mod cors;
mod data_dir;
pub mod db;
pub mod embedded;
pub mod erasures;
pub mod http;
pub mod janitor;
pub mod keys;
mod lease;
mod magic_bytes;
pub mod metrics;
pub mod multipart;
pub mod processing;
pub mod rate_limit;
mod retry_delay;
pub mod secret;
pub mod server;
pub mod storage;
mod store_fit;
pub mod uploads;
pub mod webhooks;

pub use http::{AppState, app};
