//! `uploadgate`: parse the command line, load config, run the chosen job.

mod check;
mod client;
mod health;
mod keys;
mod logging;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use uploadgate_server::auth::Hs256;
use uploadgate_server::config::Config;
use uploadgate_server::server::{Server, jwt_secret, run_workers, setup_bucket, sweep_once};

/// glibc's allocator spent a fifth of the request path in malloc and free
/// under load (perf, 64 connections); mimalloc's per-thread heaps do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long the token printed at start-up stays valid.
const DEMO_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Parser)]
#[command(version, about = "Gatekeeper for direct-to-storage uploads (S3, Azure Blob Storage)", after_help = client::EXIT_CODES_HELP)]
struct Cli {
    /// TOML config file; every key is optional (see uploadgate.sample.toml).
    #[arg(long, global = true, env = "UPLOADGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Client(client::ClientCommand),
    /// Run the API (and the embedded S3 store when no endpoint is configured).
    Serve {
        /// Print a token for a demo user (valid 24 hours) and a link to the
        /// upload page, as the zero-configuration setup always does.
        #[arg(long)]
        demo_token: bool,
    },
    /// Check every configured part before going live: the database, the store
    /// (bucket, a presigned upload, CORS for each origin, encryption), identity
    /// providers, clamd, the webhook endpoint. One line each; exits non-zero
    /// when any fails.
    Check {
        /// The report as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 when the local server answers `GET /readyz` with 200 (the
    /// container image's health check).
    Health,
    /// Manage the external bucket (`s3.endpoint`) or Azure account (`azure.account`).
    Bucket {
        #[command(subcommand)]
        command: BucketCommand,
    },
    /// Expire abandoned uploads and free their storage (`serve` does this every
    /// `janitor.interval`; this is for cron next to an external store).
    Janitor {
        /// Sweep once and exit.
        #[arg(long, required = true)]
        once: bool,
    },
    /// Run post-processing job workers only (`serve` runs `workers.concurrency`
    /// of them too); for scaling out next to an external store.
    Worker,
    /// API keys for the application's backend.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Webhook endpoint settings.
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// Print a bearer token for a user, signed with the server's secret.
    Token {
        #[arg(long)]
        user: String,
        /// Validity, e.g. "1h", "30d".
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Print a new signing secret (`whsec_` and 32 random bytes in base64)
    /// for `webhooks.secrets`.
    Secret,
}

#[derive(Debug, Subcommand)]
enum BucketCommand {
    /// Apply CORS rules for the configured origins (browsers upload straight to the
    /// bucket and read ETag) and a lifecycle rule that aborts incomplete multipart
    /// uploads and expires staged objects after DAYS.
    Setup {
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Client(command) = cli.command {
        return client::run(command).await;
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The chain of causes, one line, without a backtrace: for people.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    private_files();
    let config = Config::load(cli.config.as_deref(), |name| std::env::var(name).ok())?;
    match cli.command {
        // Handled in `main`, without the server's config.
        Command::Client(_) => Ok(()),
        Command::Serve { demo_token } => serve(config, demo_token).await,
        Command::Check { json } => check::run(&config, json).await,
        Command::Health => health::run(&config).await,
        Command::Bucket {
            command: BucketCommand::Setup { days },
        } => {
            let done = setup_bucket(&config, days).await?;
            let lifecycle = if done.lifecycle {
                format!("incomplete uploads are aborted after {days} days")
            } else {
                "lifecycle rules are not set from here: add them as docs/deployment.md says".into()
            };
            println!(
                "{}: CORS allows {}; {lifecycle}",
                done.location,
                done.origins.join(", ")
            );
            Ok(())
        }
        Command::Janitor { once: _ } => {
            let sweep = sweep_once(config).await?;
            println!(
                "expired {} uploads; verified {} that were sent but never completed; \
                 aborted {} whose parts passed their profile's size and {} orphaned multipart uploads{}; \
                 {} storage clean-ups failed (lifecycle rules or the next sweep catch those)",
                sweep.expired,
                sweep.verified,
                sweep.oversized_aborted,
                sweep.orphans_aborted,
                if sweep.reconciled {
                    ""
                } else {
                    " (this store cannot list them)"
                },
                sweep.cleanup_failures
            );
            Ok(())
        }
        Command::Worker => {
            logging::init();
            run_workers(config, shutdown_signal())
                .await
                .context("the worker stopped with an error")
        }
        Command::Keys { command } => keys::run(&config, command).await,
        Command::Webhooks {
            command: WebhooksCommand::Secret,
        } => {
            println!("{}", uploadgate_server::webhooks::new_secret());
            Ok(())
        }
        Command::Token { user, ttl } => {
            let tokens = Hs256::new(&jwt_secret(&config)?, &config.auth);
            println!("{}", tokens.mint(&user, ttl)?);
            Ok(())
        }
    }
}

async fn serve(config: Config, demo_token: bool) -> anyhow::Result<()> {
    logging::init();
    // Only the zero-configuration setup (its own store and a secret it
    // generated) prints a token unasked: anywhere else it would be a valid
    // credential in a log.
    let zero_config = config.jwt_secret.is_none() && config.s3.endpoint.is_none();
    let server = Server::start(config).await?;
    println!("uploadgate is listening on {}", server.api_url());
    if let Some(store) = server.embedded_store() {
        println!("embedded S3 store: {}", store.public_url);
    }
    if zero_config || demo_token {
        let token = server.tokens().mint("demo", DEMO_TOKEN_TTL)?;
        println!("upload page: {}/?token={token}", server.api_url());
        println!("demo token (user \"demo\", valid 24h):\n  export TOKEN={token}");
    }
    check::log_at_start(server.checks());
    server
        .run(shutdown_signal())
        .await
        .context("uploadgate stopped with an error")
}

/// Whatever the server creates (its database, the embedded store's objects,
/// secrets, logs of its own) is for its own user only, whatever umask it was
/// started with: uploads are other people's files.
fn private_files() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
