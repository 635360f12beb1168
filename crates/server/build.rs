//! `sqlx::migrate!` embeds `migrations/` when the crate compiles, but the
//! compiler only tracks the migration files that already existed: a new one
//! would leave the binary and the tests migrating to the previous schema until
//! some Rust file changed. This is the build script sqlx's documentation gives.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
