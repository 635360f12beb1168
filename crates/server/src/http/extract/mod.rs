//! Extractors whose rejections are the API's own problem+json errors.

mod auth_user;
mod client_ip;
mod json;
mod query;

pub use auth_user::{AuthUser, Backend, ListAs, reader};
pub use client_ip::ClientIp;
pub use json::{Json, OptionalJson};
pub use query::Query;
