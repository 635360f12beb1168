//! `/v1/uploads`: one file per action.

pub mod abort;
pub mod complete;
pub mod create;
pub mod download;
pub mod get;
pub mod list;
pub mod parts;
