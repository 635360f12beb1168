//! Extractors whose rejections are the API's own problem+json errors.

mod auth_user;
mod json;
mod query;

pub use auth_user::AuthUser;
pub use json::{Json, OptionalJson};
pub use query::Query;
