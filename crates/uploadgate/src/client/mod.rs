//! The client subcommands: `upload`, `status`, `ls`, `download`, `abort`, `rm`.
//! They hold an uploadgate token only, never storage credentials.

mod abort;
mod download;
mod exit;
mod ls;
mod progress;
mod rm;
mod status;
mod upload;

use std::process::ExitCode;

use clap::{Args, Subcommand};
use uploadgate_client::{Api, ClientError};

pub use exit::EXIT_CODES_HELP;

/// Where the API is and who is calling.
#[derive(Debug, Args)]
pub struct Connection {
    /// Base URL of the uploadgate API.
    #[arg(
        long,
        env = "UPLOADGATE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Bearer token (`uploadgate serve` prints one; `uploadgate token` mints more).
    #[arg(long, env = "UPLOADGATE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl Connection {
    fn api(&self) -> Result<Api, ClientError> {
        let token = self.token.as_deref().ok_or_else(|| {
            ClientError::Usage("no token: pass --token or set UPLOADGATE_TOKEN".into())
        })?;
        Api::new(&self.server, token)
    }
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Upload files straight to storage: parallel checksummed parts, retries,
    /// and resume (run the same command again after an interruption).
    Upload(upload::UploadArgs),
    /// Show one upload.
    Status(status::StatusArgs),
    /// List your uploads, newest first.
    Ls(ls::LsArgs),
    /// Download a completed upload.
    Download(download::DownloadArgs),
    /// Abort an upload in progress (a finished one is kept).
    Abort(abort::AbortArgs),
    /// Delete an upload: its file, thumbnails and any quarantined copy leave
    /// storage; its record stays as a tombstone. An upload in progress is aborted.
    #[command(alias = "delete")]
    Rm(rm::RmArgs),
}

pub async fn run(command: ClientCommand) -> ExitCode {
    let result = match command {
        ClientCommand::Upload(args) => upload::run(args).await,
        ClientCommand::Status(args) => status::run(args).await,
        ClientCommand::Ls(args) => ls::run(args).await,
        ClientCommand::Download(args) => download::run(args).await,
        ClientCommand::Abort(args) => abort::run(args).await,
        ClientCommand::Rm(args) => rm::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            exit::code_for(&err)
        }
    }
}

/// Prints `value` as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<(), ClientError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| ClientError::Protocol(e.to_string()))?;
    println!("{text}");
    Ok(())
}

fn parse_id(id: &str) -> Result<uuid::Uuid, ClientError> {
    id.parse()
        .map_err(|_| ClientError::Usage(format!("{id:?} is not an upload id")))
}
