//! `uploadgate keys`: API keys for applications' backends.

use anyhow::Context as _;
use clap::Subcommand;
use uploadgate_server::auth::{ApiKeys, Scope};
use uploadgate_server::config::Config;
use uploadgate_server::server::open_database;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key and print it, once: only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
        /// What it may do: `uploads` (act for users, naming them in
        /// Uploadgate-User), `tokens` (mint scoped upload tokens), `admin`
        /// (every user's uploads and jobs). Repeat for several; at least one.
        #[arg(long = "scope", value_parser = parse_scope, required = true)]
        scopes: Vec<Scope>,
    },
    /// Name, scopes, creation and last use of every key.
    List,
    /// End a key at once, on every node.
    Revoke { name: String },
}

fn parse_scope(name: &str) -> Result<Scope, String> {
    Scope::parse(name).ok_or_else(|| format!("{name:?} is not uploads, tokens or admin"))
}

pub async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let keys = ApiKeys::new(open_database(config).await?);
    match command {
        KeysCommand::Create { name, scopes } => {
            anyhow::ensure!(
                !name.is_empty() && name.len() <= 64 && !name.chars().any(char::is_control),
                "--name must be 1 to 64 characters"
            );
            let made = keys
                .create(&name, &scopes)
                .await
                .context("cannot store the key")?
                .with_context(|| format!("a key named {name:?} exists: revoke it first"))?;
            eprintln!(
                "API key {name:?} ({}); it is shown once, keep it secret:",
                made.record.scopes.join(", ")
            );
            println!("{}", made.key);
        }
        KeysCommand::List => {
            let all = keys.list().await.context("cannot read the keys")?;
            println!(
                "{:<24} {:<22} {:<20} last used",
                "name", "scopes", "created"
            );
            for key in all {
                let at = |t: time::OffsetDateTime| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                };
                println!(
                    "{:<24} {:<22} {:<20} {}",
                    key.name,
                    key.scopes.join(","),
                    at(key.created_at),
                    key.last_used_at.map_or_else(|| "never".into(), at)
                );
            }
        }
        KeysCommand::Revoke { name } => {
            anyhow::ensure!(
                keys.revoke(&name).await.context("cannot revoke the key")?,
                "no key is named {name:?}"
            );
            println!("revoked {name:?}: every node refuses it from now on");
        }
    }
    Ok(())
}
