//! The Unix-socket transport, as Kea's: one JSON command per connection, the bare answer
//! map back (no HTTP, no list), then the server closes. A request is complete when it
//! parses as JSON or the client shuts down its write side; each connection has 10 s and
//! 1 MiB, like Kea's fixed I/O timeout.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::envelope::{Answer, Command};
use super::{dispatch, ApiState};

const MAX_REQUEST: usize = 1 << 20;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Bind `path`, replacing a stale socket file left by a previous run; a socket another
/// process still answers on is refused (AddrInUse).
pub fn bind(path: &str) -> std::io::Result<UnixListener> {
    let p = Path::new(path);
    if p.exists() {
        if std::os::unix::net::UnixStream::connect(p).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another process is serving this socket",
            ));
        }
        std::fs::remove_file(p)?;
    }
    UnixListener::bind(p)
}

/// Serve until the state's shutdown token is cancelled, then remove the socket file.
pub fn spawn(listener: UnixListener, path: PathBuf, state: Arc<ApiState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        info!(path = %path.display(), "control API listening (unix)");
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let state = state.clone();
                        tokio::spawn(async move { serve_one(stream, &state).await });
                    }
                    Err(err) => {
                        warn!(?err, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        let _ = std::fs::remove_file(&path);
    })
}

async fn serve_one(mut stream: UnixStream, state: &ApiState) {
    let answer = match tokio::time::timeout(IO_TIMEOUT, read_request(&mut stream)).await {
        Ok(Ok(cmd)) => dispatch::run(state, &cmd).await,
        Ok(Err(answer)) => answer,
        Err(_) => Answer::error("timed out waiting for a complete command"),
    };
    let out = answer.to_json().to_string();
    let written = tokio::time::timeout(IO_TIMEOUT, async {
        stream.write_all(out.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        debug!("control socket client went away before the answer was sent");
    }
}

/// Read until the bytes form one JSON value (or EOF), then parse the command.
async fn read_request(stream: &mut UnixStream) -> Result<Command, Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| Answer::error(format!("reading the command failed: {e}")))?;
        buf.extend_from_slice(&chunk[..n]);
        if n == 0 || is_complete(&buf) {
            return Command::parse(&buf);
        }
        if buf.len() > MAX_REQUEST {
            return Err(Answer::error("command too large (limit 1 MiB)"));
        }
    }
}

fn is_complete(buf: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(buf) else {
        return false;
    };
    let strict = super::kea_json::to_strict_json(text);
    match serde_json::from_str::<serde_json::Value>(&strict) {
        Ok(_) => true,
        Err(e) => !e.is_eof(),
    }
}
