//! Integration tests: the real server and the real embedded S3 store over HTTP.
//! One binary, so the whole suite links once.

mod api_keys;
mod auth;
mod azure_blobs;
mod check;
mod companion;
mod create;
mod deletion;
mod encryption;
mod fake_clamd;
mod faults;
mod gcs_objects;
mod hostile_input;
mod idempotency;
mod issuers;
mod janitor;
mod lifecycle;
mod limits;
mod metrics;
mod migrations;
mod multipart;
mod nodes;
mod openapi;
mod pagination;
mod problems;
mod processing;
mod races;
mod repo_conformance;
mod simple_door;
mod slow_clients;
mod storage_refusals;
mod store_conformance;
mod upload_tokens;
mod webhook_receiver;
mod webhooks;
