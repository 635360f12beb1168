use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use uploadgate_client::types::UploadRecord;
use uploadgate_client::{ClientError, ResumeStore, UploadOptions, Uploader};

use super::progress::{Display, Mode};
use super::{Connection, exit, print_json};

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Files to upload, one after the other.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Upload profile (the server's policy for this kind of file).
    #[arg(long)]
    profile: Option<String>,
    /// Media type to declare; default: guessed from each file's extension.
    #[arg(long = "type")]
    content_type: Option<String>,
    /// Parts in flight at once; memory is about this times the part size.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: u16,
    /// Print the final records as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    connection: Connection,
}

/// One file's outcome, for `--json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    file: PathBuf,
    record: UploadRecord,
    resumed: bool,
    bytes_sent: u64,
    bytes_already_stored: u64,
    retries: u32,
}

pub async fn run(args: UploadArgs) -> Result<ExitCode, ClientError> {
    let api = args.connection.api()?;
    let uploader = Uploader::new(api, ResumeStore::default_location()?);
    let mut total = 0;
    for file in &args.files {
        let meta = std::fs::metadata(file)
            .map_err(|e| ClientError::Usage(format!("cannot read {}: {e}", file.display())))?;
        total += meta.len();
    }
    let display = Display::new(Mode::detect(args.quiet), total, args.files.len());
    let options = UploadOptions {
        profile: args.profile.clone(),
        content_type: args.content_type.clone(),
        parallel: usize::from(args.parallel),
    };
    let mut outcomes = Vec::new();
    for file in &args.files {
        let progress = display.file(&file.display().to_string());
        let hook = progress.hook();
        let result = tokio::select! {
            result = uploader.upload(file, &options, &hook) => result,
            _ = tokio::signal::ctrl_c() => {
                progress.abandon();
                display.println(&format!(
                    "interrupted after sending {} bytes of {}; storage keeps the finished parts.\n\
                     Run the same command again to resume.",
                    progress.sent(),
                    file.display()
                ));
                finish(&args, &outcomes)?;
                return Ok(ExitCode::from(exit::INTERRUPTED));
            }
        };
        match result {
            Ok(report) => {
                progress.finish(&format!(
                    "{} {}",
                    report.record.status.as_str(),
                    report.record.id
                ));
                outcomes.push(Outcome {
                    file: file.clone(),
                    record: report.record,
                    resumed: report.resumed,
                    bytes_sent: report.bytes_sent,
                    bytes_already_stored: report.bytes_already_stored,
                    retries: report.retries,
                });
            }
            Err(err) => {
                progress.abandon();
                if matches!(
                    err,
                    ClientError::Unavailable { .. } | ClientError::Storage(_)
                ) {
                    display.println(&format!(
                        "{}: the parts sent so far are kept; run the same command again to resume",
                        file.display()
                    ));
                }
                finish(&args, &outcomes)?;
                return Err(err);
            }
        }
    }
    finish(&args, &outcomes)?;
    Ok(exit::ok())
}

/// With `--json`, the records of the files that made it; otherwise their ids.
fn finish(args: &UploadArgs, outcomes: &[Outcome]) -> Result<(), ClientError> {
    if args.json {
        return print_json(&outcomes);
    }
    for outcome in outcomes {
        println!(
            "{}  {}  {}",
            outcome.record.id,
            outcome.record.status.as_str(),
            outcome.file.display()
        );
    }
    Ok(())
}
