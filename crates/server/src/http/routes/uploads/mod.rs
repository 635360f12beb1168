//! `/v1/uploads`: one file per action.

pub mod complete;
pub mod create;
pub mod delete;
pub mod download;
pub mod get;
pub mod list;
pub mod parts;
