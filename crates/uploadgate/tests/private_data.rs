//! What `serve` writes to disk (database, the embedded store's objects,
//! secrets) is readable by its own user only, even under umask 000.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use uploadgate_testkit::PNG;
use uploadgate_testkit::binary::{serve, zero_config};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_uploadgate");

/// Every path under `dir` (itself included) whose mode lets group or others in.
fn shared(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.permissions().mode() & 0o077 != 0 {
            found.push(format!(
                "{} {:o}",
                path.display(),
                meta.permissions().mode()
            ));
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read dir") {
                stack.push(entry.expect("entry").path());
            }
        }
    }
    found
}

#[tokio::test]
async fn the_data_dir_and_everything_in_it_are_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A data dir that exists already, as an operator may have made it.
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::set_permissions(dir.path().join("data"), PermissionsExt::from_mode(0o755))
        .expect("chmod");
    // The most permissive umask: every mode the server does not set itself
    // would let everyone read. The wrapper proves it applied with a probe.
    let wrapper = dir.path().join("umask-000");
    let probe = dir.path().join("probe");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\numask 000\n: > '{}'\nexec '{BIN}' \"$@\"\n",
            probe.display()
        ),
    )
    .expect("write the wrapper");
    std::fs::set_permissions(&wrapper, PermissionsExt::from_mode(0o700)).expect("chmod");
    let node = serve(
        wrapper.to_str().expect("a UTF-8 path"),
        &zero_config(dir.path()),
    );
    let probe_mode = std::fs::metadata(&probe)
        .expect("the probe")
        .permissions()
        .mode();
    assert_eq!(probe_mode & 0o777, 0o666, "the umask was not 000");
    let completed = node.client().upload("", None, "image/png", PNG).await;
    assert_eq!(
        completed.status,
        uploadgate_client::types::UploadStatus::Completed
    );

    let data = dir.path().join("data");
    let files = std::fs::read_dir(&data).expect("data dir").count();
    assert!(
        files >= 3,
        "the database, the store and the secrets are there"
    );
    assert_eq!(shared(&data), Vec::<String>::new());
}
