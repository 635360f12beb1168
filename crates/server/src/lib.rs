//! uploadgate's server: the HTTP API, its database and storage layers, and the
//! embedded S3 store used when no external one is configured.

pub mod app;
pub mod auth;
pub mod config;
mod cors;
mod data_dir;
pub mod db;
pub mod embedded;
pub mod error;
mod extract;
pub mod intake;
pub mod janitor;
pub mod keys;
pub mod metrics;
pub mod multipart;
pub mod processing;
pub mod quota;
pub mod rate_limit;
pub mod routes;
pub mod secret;
pub mod server;
mod sniff;
pub mod storage;
mod verify;

pub use app::{AppState, app};
