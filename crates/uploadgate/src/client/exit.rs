//! Exit codes, part of the command-line contract.

use std::process::ExitCode;

use uploadgate_client::ClientError;

pub const OK: u8 = 0;
pub const UNEXPECTED: u8 = 1;
pub const USAGE: u8 = 2;
pub const REFUSED: u8 = 3;
pub const UNAVAILABLE: u8 = 4;
pub const REJECTED: u8 = 5;
pub const INTERRUPTED: u8 = 130;

pub const EXIT_CODES_HELP: &str = "\
Exit codes of the client commands (upload, status, ls, download, abort):
  0    done
  1    unexpected error (I/O, an answer this client does not understand)
  2    usage: bad arguments, missing token, unreadable file
  3    refused by the server: policy (type, size), quota, token, unknown upload
  4    network or server unavailable after retries, or storage refused the upload
  5    uploaded, but verification rejected it (size, checksum or real type)
  130  interrupted (Ctrl-C); run the same upload command again to resume";

pub fn code_for(err: &ClientError) -> ExitCode {
    ExitCode::from(match err {
        ClientError::Usage(_) => USAGE,
        ClientError::Refused { .. } => REFUSED,
        ClientError::Unavailable { .. } | ClientError::Storage(_) => UNAVAILABLE,
        ClientError::Rejected(_) => REJECTED,
        ClientError::Io { .. } | ClientError::Protocol(_) => UNEXPECTED,
    })
}

pub fn ok() -> ExitCode {
    ExitCode::from(OK)
}
