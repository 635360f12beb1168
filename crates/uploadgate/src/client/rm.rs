use std::process::ExitCode;

use clap::Args;
use uploadgate_client::ClientError;

use super::{Connection, exit, parse_id};

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Upload id.
    id: String,
    #[command(flatten)]
    connection: Connection,
}

pub async fn run(args: RmArgs) -> Result<ExitCode, ClientError> {
    let record = args.connection.api()?.delete(parse_id(&args.id)?).await?;
    println!("{} is {}", record.id, record.status.as_str());
    Ok(exit::ok())
}
