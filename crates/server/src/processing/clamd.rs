//! A ClamAV daemon client: the INSTREAM command over TCP or a Unix socket.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Chunks sent to clamd; well under its default StreamMaxLength and buffers.
const CHUNK: usize = 64 * 1024;
/// clamd's answers are one short line.
const MAX_REPLY: usize = 4096;

/// What clamd said about a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ClamdError {
    /// The daemon or the object could not be reached or read; worth retrying.
    #[error("clamd unreachable: {0}")]
    Io(#[from] std::io::Error),
    /// clamd refused the stream (e.g. larger than its StreamMaxLength).
    #[error("clamd refused the scan: {0}")]
    Refused(String),
}

/// Streams `body` to the clamd at `address` (`tcp://HOST:PORT` or `unix:/path`).
pub async fn scan(
    address: &str,
    body: &mut (dyn AsyncRead + Send + Unpin),
) -> Result<Verdict, ClamdError> {
    if let Some(path) = address.strip_prefix("unix:") {
        let mut socket = tokio::net::UnixStream::connect(path).await?;
        instream(&mut socket, body).await
    } else {
        let host = address.strip_prefix("tcp://").unwrap_or(address);
        let mut socket = tokio::net::TcpStream::connect(host).await?;
        instream(&mut socket, body).await
    }
}

async fn instream<S>(
    socket: &mut S,
    body: &mut (dyn AsyncRead + Send + Unpin),
) -> Result<Verdict, ClamdError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // `z` framing: NUL-terminated command and reply.
    socket.write_all(b"zINSTREAM\0").await?;
    let mut chunk = vec![0; CHUNK];
    loop {
        let n = body.read(&mut chunk).await?;
        let len = u32::try_from(n).unwrap_or(u32::MAX);
        socket.write_all(&len.to_be_bytes()).await?;
        if n == 0 {
            break;
        }
        if let Err(err) = socket.write_all(&chunk[..n]).await {
            // clamd closes the socket when the stream passes its limit, after
            // saying why: read that rather than reporting a broken pipe.
            return match read_reply(socket).await {
                Ok(reply) if !reply.is_empty() => parse(&reply),
                _ => Err(err.into()),
            };
        }
    }
    socket.flush().await?;
    parse(&read_reply(socket).await?)
}

async fn read_reply<S: AsyncRead + Unpin>(socket: &mut S) -> Result<String, std::io::Error> {
    let mut reply = Vec::new();
    let mut limited = socket.take(MAX_REPLY as u64);
    limited.read_to_end(&mut reply).await?;
    let end = reply.iter().position(|&b| b == 0).unwrap_or(reply.len());
    Ok(String::from_utf8_lossy(&reply[..end]).trim().to_owned())
}

/// `stream: OK`, `stream: NAME FOUND`, or `... ERROR`.
fn parse(reply: &str) -> Result<Verdict, ClamdError> {
    let answer = reply.strip_prefix("stream:").unwrap_or(reply).trim();
    if answer == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(name) = answer.strip_suffix(" FOUND") {
        Ok(Verdict::Infected(name.trim().to_owned()))
    } else {
        Err(ClamdError::Refused(reply.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_understood() {
        assert_eq!(parse("stream: OK").expect("ok"), Verdict::Clean);
        assert_eq!(
            parse("stream: Test.EICAR.Local.UNOFFICIAL FOUND").expect("found"),
            Verdict::Infected("Test.EICAR.Local.UNOFFICIAL".into())
        );
        assert!(matches!(
            parse("INSTREAM size limit exceeded. ERROR"),
            Err(ClamdError::Refused(_))
        ));
    }
}
