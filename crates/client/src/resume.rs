//! Uploads in progress, remembered on disk so that running the same command
//! again after a crash continues where storage left off.
//!
//! One small JSON file per (server, file) pair, so uploads of different files
//! by concurrent processes never overwrite each other's state.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::error::ClientError;
use crate::file::FileIdentity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeEntry {
    pub server: String,
    pub upload_id: Uuid,
    pub file: FileIdentity,
}

#[derive(Debug, Clone)]
pub struct ResumeStore {
    dir: PathBuf,
}

impl ResumeStore {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$UPLOADGATE_STATE_DIR`, else `$XDG_STATE_HOME/uploadgate`, else
    /// `~/.local/state/uploadgate` (`%LOCALAPPDATA%\uploadgate` on Windows).
    pub fn default_location() -> Result<Self, ClientError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let dir = if let Some(dir) = var("UPLOADGATE_STATE_DIR") {
            PathBuf::from(dir)
        } else if let Some(state) = var("XDG_STATE_HOME") {
            PathBuf::from(state).join("uploadgate")
        } else if let Some(home) = var("HOME") {
            PathBuf::from(home).join(".local/state/uploadgate")
        } else if let Some(local) = var("LOCALAPPDATA") {
            PathBuf::from(local).join("uploadgate")
        } else {
            return Err(ClientError::Usage(
                "no state directory: set UPLOADGATE_STATE_DIR".into(),
            ));
        };
        Ok(Self::at(dir))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file_for(&self, server: &str, path: &Path) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(server.as_bytes());
        hasher.update([0]);
        hasher.update(path.as_os_str().as_encoded_bytes());
        let name = crate::file::hex_string(&hasher.finalize()[..16]);
        self.dir.join(format!("{name}.json"))
    }

    /// The upload in progress for `path` on `server`, if one was recorded.
    /// A state file that cannot be read is treated as absent: it only ever
    /// saves time, never correctness.
    pub fn find(&self, server: &str, path: &Path) -> Option<ResumeEntry> {
        let text = std::fs::read(self.file_for(server, path)).ok()?;
        serde_json::from_slice::<ResumeEntry>(&text)
            .ok()
            .filter(|entry| entry.server == server && entry.file.path == path)
    }

    /// Records `entry`, atomically (write aside, then rename).
    pub fn save(&self, entry: &ResumeEntry) -> Result<(), ClientError> {
        let context = || format!("cannot write upload state in {}", self.dir.display());
        std::fs::create_dir_all(&self.dir).map_err(|e| ClientError::io(context(), e))?;
        let target = self.file_for(&entry.server, &entry.file.path);
        let aside = target.with_extension(format!("tmp{}", std::process::id()));
        let text = serde_json::to_vec_pretty(entry)
            .map_err(|e| ClientError::io(context(), std::io::Error::other(e)))?;
        std::fs::write(&aside, text).map_err(|e| ClientError::io(context(), e))?;
        std::fs::rename(&aside, &target).map_err(|e| ClientError::io(context(), e))
    }

    pub fn remove(&self, server: &str, path: &Path) {
        let _ = std::fs::remove_file(self.file_for(server, path));
    }
}
