use std::io::IsTerminal as _;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Libraries that log secrets below `info`: the embedded store's S3 layer
/// logs whole request URIs (presigned signatures) and POST policies; the
/// SDK and the signer log signed requests, object keys and the access key
/// id; the HTTP stacks log raw headers. They are held at `info` whatever
/// `RUST_LOG` asks, so no level shows a secret. A target is a prefix of the
/// module paths it holds: `aws_` is every crate of the AWS SDK (`aws_sdk_s3`,
/// `aws_sigv4`, `aws_smithy_*`, ...), `s3s` is `s3s_fs` too, `hyper` is
/// `hyper_util` too.
const CAPPED: [&str; 6] = ["s3s", "aws_", "hyper", "h2", "reqwest", "rustls"];

/// Human-readable logs on a terminal, JSON lines otherwise (for collectors).
/// `RUST_LOG` sets the levels; a second filter, which every event must pass
/// too, holds `CAPPED` at `info` (a more specific `RUST_LOG` directive such as
/// `s3s::ops=debug` cannot lift it, as it could within one filter).
pub fn init() {
    let levels = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,s3s=warn")
    });
    let caps = CAPPED.into_iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |caps, target| caps.with_target(target, LevelFilter::INFO),
    );
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(levels)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        fmt.finish().with(caps).init();
    } else {
        fmt.json().flatten_event(true).finish().with(caps).init();
    }
}
