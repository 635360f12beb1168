use std::process::ExitCode;

use clap::Args;
use uploadgate_client::ClientError;
use uploadgate_client::types::UploadRecord;

use super::{Connection, exit, parse_id, print_json};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Upload id.
    id: String,
    /// Print the record as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connection: Connection,
}

pub async fn run(args: StatusArgs) -> Result<ExitCode, ClientError> {
    let record = args.connection.api()?.get(parse_id(&args.id)?).await?;
    if args.json {
        print_json(&record)?;
    } else {
        print_record(&record);
    }
    Ok(exit::ok())
}

pub fn print_record(record: &UploadRecord) {
    println!("id        {}", record.id);
    println!("status    {}", record.status.as_str());
    println!("file      {} ({})", record.filename, record.content_type);
    if let Some(size) = record.size {
        println!("size      {size} bytes");
    }
    println!("key       {}", record.key);
    println!("profile   {}", record.profile);
    if let (Some(count), Some(parts)) = (record.part_count, &record.uploaded_parts) {
        println!("parts     {} of {count} in storage", parts.len());
    }
    if let Some(reason) = &record.reject_reason {
        println!("rejected  {reason}");
    }
    if let Some(processing) = &record.processing {
        println!("processed {}", processing.state.as_str());
        if let Some(scan) = &processing.scan {
            let signature = scan.signature.as_deref().unwrap_or_default();
            println!("scan      {} {signature}", scan.verdict);
        }
        if let Some(sha256) = &processing.sha256 {
            println!("sha256    {sha256}");
        }
        if let (Some(width), Some(height)) = (processing.width, processing.height) {
            println!("image     {width}x{height} px");
        }
        for thumbnail in &processing.thumbnails {
            println!(
                "thumbnail {}x{} {}",
                thumbnail.width, thumbnail.height, thumbnail.key
            );
        }
        for job in processing.jobs.iter().filter(|j| j.last_error.is_some()) {
            let error = job.last_error.as_deref().unwrap_or_default();
            println!(
                "job       {} {} after {} attempts: {error}",
                job.kind,
                job.state.as_str(),
                job.attempts
            );
        }
    }
}
