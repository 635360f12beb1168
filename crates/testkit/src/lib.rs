//! What uploadgate's tests share, so each says only what it checks:
//!
//! - `TestApp`: the real server and its real embedded S3 store (or the Garage
//!   and PostgreSQL the test scripts start), in-process on port 0, configured
//!   by a typed closure;
//! - `Api`: typed requests to any running API, in-process or the real binary
//!   (`binary`), and the create-PUT-complete flow written once;
//! - `engines`: the external engines the environment names;
//! - `oidc`: a real OpenID provider, for identity tests.
//!
//! No mocks: every request goes over HTTP to a real server and a real store.

mod api;
mod app;
pub mod binary;
pub mod engines;
mod flow;
pub mod oidc;

pub use api::Api;
pub use app::{Node, TestApp, TestAppBuilder};
pub use flow::{
    PDF, PNG, assemble_in_storage, assert_refused_by_storage, assert_stored, id_of, part_etag,
    problem, put_as_instructed, put_part_as_instructed,
};
pub use uploadgate_server::auth::Scope;

/// Sizes, as tests write them.
pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;

/// The browser origin the tests' API and store allow.
pub const ORIGIN: &str = "http://app.test";

/// Owned strings from string literals: `strings(["image/png"])`.
pub fn strings<const N: usize>(items: [&str; N]) -> Vec<String> {
    items.map(str::to_owned).to_vec()
}
