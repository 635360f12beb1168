//! The webhook delivery log: one file per action.

pub mod list;
pub mod redeliver;
