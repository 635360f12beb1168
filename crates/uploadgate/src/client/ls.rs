use std::process::ExitCode;

use clap::Args;
use uploadgate_client::ClientError;
use uploadgate_client::types::{ListQuery, UploadStatus};

use super::{Connection, exit, print_json};

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only uploads in this state (pending, uploading, completed, rejected, aborted, expired).
    #[arg(long, value_parser = parse_status)]
    status: Option<UploadStatus>,
    /// Only uploads of this profile.
    #[arg(long)]
    profile: Option<String>,
    /// Only uploads whose metadata has this entry.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_entry)]
    metadata: Option<(String, String)>,
    /// At most this many (1 to 200).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Where to start: the cursor the previous page printed.
    #[arg(long)]
    cursor: Option<String>,
    /// Print the records as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connection: Connection,
}

fn parse_entry(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

fn parse_status(text: &str) -> Result<UploadStatus, String> {
    UploadStatus::parse(text).ok_or_else(|| format!("unknown status {text:?}"))
}

pub async fn run(args: LsArgs) -> Result<ExitCode, ClientError> {
    let list = args
        .connection
        .api()?
        .list(&ListQuery {
            status: args.status,
            profile: args.profile,
            metadata: args.metadata,
            limit: Some(args.limit),
            cursor: args.cursor,
            ..ListQuery::default()
        })
        .await?;
    // On stderr, so that `--json` output stays one document.
    if let Some(cursor) = &list.next_cursor {
        eprintln!("(more: --cursor {cursor})");
    }
    if args.json {
        print_json(&list.items)?;
        return Ok(exit::ok());
    }
    for record in &list.items {
        let size = record
            .size
            .map_or_else(|| "?".to_owned(), |s| s.to_string());
        println!(
            "{}  {:<9}  {:>12}  {}",
            record.id,
            record.status.as_str(),
            size,
            record.filename
        );
    }
    Ok(exit::ok())
}
