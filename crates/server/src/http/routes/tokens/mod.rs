//! `/v1/upload-tokens`: scoped upload tokens, for applications' backends.

pub mod create;
