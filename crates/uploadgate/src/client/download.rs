use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use futures::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use uploadgate_client::ClientError;

use super::{Connection, exit, parse_id};

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Upload id.
    id: String,
    /// Where to write; default: the upload's filename in the current directory.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    connection: Connection,
}

pub async fn run(args: DownloadArgs) -> Result<ExitCode, ClientError> {
    let api = args.connection.api()?;
    let id = parse_id(&args.id)?;
    let record = api.get(id).await?;
    let link = api.download_link(id).await?;
    // The filename is the user's display name: only its last component is used.
    let output = args.output.unwrap_or_else(|| {
        PathBuf::from(
            std::path::Path::new(&record.filename)
                .file_name()
                .map_or_else(|| id.to_string().into(), |n| n.to_owned()),
        )
    });
    let response = api
        .http()
        .get(&link.url)
        .send()
        .await
        .map_err(ClientError::unreachable)?;
    if !response.status().is_success() {
        return Err(ClientError::Storage(format!(
            "storage answered {}",
            response.status()
        )));
    }
    // Written aside and renamed, so a failed download leaves no partial file.
    let partial = output.with_extension("uploadgate-partial");
    let mut file = tokio::fs::File::create(&partial)
        .await
        .map_err(|e| ClientError::io(format!("cannot create {}", partial.display()), e))?;
    let mut body = response.bytes_stream();
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(ClientError::unreachable)?;
        file.write_all(&chunk)
            .await
            .map_err(|e| ClientError::io(format!("cannot write {}", partial.display()), e))?;
        written += chunk.len() as u64;
    }
    file.flush()
        .await
        .map_err(|e| ClientError::io(format!("cannot write {}", partial.display()), e))?;
    tokio::fs::rename(&partial, &output)
        .await
        .map_err(|e| ClientError::io(format!("cannot write {}", output.display()), e))?;
    println!("{written} bytes written to {}", output.display());
    Ok(exit::ok())
}
