use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Directive;

/// Libraries that log secrets below `info`: the embedded store's S3 layer
/// logs whole request URIs (presigned signatures) and POST policies; the
/// SDK and the signer log signed requests; the HTTP stacks log raw headers.
/// They are held at `info` whatever `RUST_LOG` asks, so no level shows a
/// secret.
const CAPPED: [&str; 13] = [
    "s3s",
    "s3s_fs",
    "aws_sigv4",
    "aws_config",
    "aws_runtime",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// Human-readable logs on a terminal, JSON lines otherwise (for collectors).
/// `RUST_LOG` overrides the default level, except for `CAPPED`.
pub fn init() {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(mut filter) => {
            for target in CAPPED {
                if let Ok(cap) = format!("{target}=info").parse::<Directive>() {
                    filter = filter.add_directive(cap);
                }
            }
            filter
        }
        Err(_) => EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,s3s=warn"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}
