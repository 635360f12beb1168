//! The local file: its identity (to never resume a changed file) and reads of
//! byte ranges off the async threads.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::ClientError;

/// How much of each end of the file the identity hashes.
const EDGE: u64 = 1024 * 1024;

/// What makes a file "the same file" for resuming: path, size, modification
/// time, and a hash of its first and last MiB (which catches in-place edits
/// that keep size and mtime, such as a restored backup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileIdentity {
    pub path: PathBuf,
    pub size: u64,
    pub modified_ns: u128,
    pub edges_sha256: String,
}

impl FileIdentity {
    pub async fn of(path: &Path) -> Result<Self, ClientError> {
        let path = path.to_owned();
        blocking(move || {
            let canonical = std::fs::canonicalize(&path)
                .map_err(|e| ClientError::io(format!("cannot open {}", path.display()), e))?;
            let mut file = std::fs::File::open(&canonical)
                .map_err(|e| ClientError::io(format!("cannot open {}", path.display()), e))?;
            let meta = file
                .metadata()
                .map_err(|e| ClientError::io(format!("cannot stat {}", path.display()), e))?;
            if !meta.is_file() {
                return Err(ClientError::Usage(format!(
                    "{} is not a file",
                    path.display()
                )));
            }
            let modified_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let size = meta.len();
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; usize::try_from(EDGE.min(size)).unwrap_or(0)];
            let read = |file: &mut std::fs::File, at: u64, buf: &mut [u8]| {
                file.seek(SeekFrom::Start(at))
                    .and_then(|_| file.read_exact(buf))
                    .map_err(|e| ClientError::io(format!("cannot read {}", path.display()), e))
            };
            read(&mut file, 0, &mut buf)?;
            hasher.update(&buf);
            if size > EDGE {
                read(&mut file, size - EDGE, &mut buf)?;
                hasher.update(&buf);
            }
            Ok(Self {
                path: canonical,
                size,
                modified_ns,
                edges_sha256: hex_string(&hasher.finalize()),
            })
        })
        .await
    }
}

/// Reads `len` bytes at `offset` of `path` into `buf` (cleared first), off the
/// async threads. The buffer comes back so a worker can reuse it part after part.
pub(crate) async fn read_range(
    path: &Path,
    offset: u64,
    len: usize,
    mut buf: BytesMut,
) -> Result<BytesMut, ClientError> {
    let path = path.to_owned();
    blocking(move || {
        // A reused buffer of the right length is overwritten as is: zeroing
        // it first would touch every byte once more for nothing.
        if buf.len() != len {
            buf.clear();
            buf.resize(len, 0);
        }
        let mut file = std::fs::File::open(&path)
            .map_err(|e| ClientError::io(format!("cannot open {}", path.display()), e))?;
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| ClientError::io(format!("cannot read {}", path.display()), e))?;
        Ok(buf)
    })
    .await
}

/// Base64 SHA-256 of `data`, as S3's `x-amz-checksum-sha256` wants it.
pub(crate) async fn sha256_base64(data: bytes::Bytes) -> Result<String, ClientError> {
    blocking(move || Ok(BASE64.encode(Sha256::digest(&data)))).await
}

/// Base64 SHA-256 of the whole file, streamed.
pub(crate) async fn file_sha256_base64(path: &Path) -> Result<String, ClientError> {
    let path = path.to_owned();
    blocking(move || {
        let mut file = std::fs::File::open(&path)
            .map_err(|e| ClientError::io(format!("cannot open {}", path.display()), e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| ClientError::io(format!("cannot read {}", path.display()), e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(BASE64.encode(hasher.finalize()))
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ClientError> + Send + 'static,
) -> Result<T, ClientError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ClientError::io("a file task failed", std::io::Error::other(e)))?
}

pub(crate) fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
