//! The accept loop: every client connection is served by hyper's HTTP/1 server with limits an
//! internet-facing server needs, around the warp filter that holds the routes.
//!
//! - **Connection cap** (`MAX_CONNECTIONS`): a connection accepted while the cap is reached is
//!   closed at once, so sockets (file descriptors) never run out. An upgraded WebSocket (a
//!   call) keeps its place until it closes.
//! - **Header timeout** (`HTTP_HEADER_TIMEOUT_SECONDS`): a request's headers must arrive in
//!   time; a client trickling them (or sending nothing) is disconnected.
//! - **Idle timeout** (`HTTP_IDLE_TIMEOUT_SECONDS`): a connection on which no byte moved for
//!   that long is shut down (gracefully first, then dropped).
//!
//! warp's own server has none of these (its first read waits forever), which is why the server
//! runs this loop itself. The peer address is put in each request's extensions as
//! [`PeerAddr`]; read it with [`peer_addr`] (warp's `addr::remote()` sees nothing here).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use warp::Filter;
use warp::http::Request;

use super::log_budget::{LogBudget, Verdict};

/// Limits on client connections (from settings).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest wait for a request's complete headers.
    pub header_timeout: Duration,
    /// Longest time a connection may move no bytes at all.
    pub idle_timeout: Duration,
    /// Most open client connections.
    pub max_connections: usize,
}

/// The TCP peer of a request (set by [`serve`]).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The TCP peer address of the request, when it came through [`serve`].
pub fn peer_addr() -> impl Filter<Extract = (Option<SocketAddr>,), Error = Infallible> + Copy {
    warp::ext::optional::<PeerAddr>().map(|peer: Option<PeerAddr>| peer.map(|p| p.0))
}

/// File descriptors kept free for the database, logs, models and outgoing connections.
const RESERVED_FDS: u64 = 256;

/// `wanted` connections, lowered to what the process's open-file limit allows (the soft
/// `RLIMIT_NOFILE`, read from `/proc/self/limits`); says so in the log when it lowers it.
pub fn connection_cap(wanted: u64) -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| open_files_soft_limit(&text));
    let cap = match limit {
        Some(limit) if limit.saturating_sub(RESERVED_FDS) < wanted => {
            let cap = limit.saturating_sub(RESERVED_FDS).max(16);
            tracing::warn!(
                wanted,
                open_file_limit = limit,
                cap,
                "MAX_CONNECTIONS is above what the open-file limit allows; using the lower number. Raise the limit (systemd: LimitNOFILE=) to allow more."
            );
            cap
        }
        _ => wanted,
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// The soft "Max open files" value of a `/proc/<pid>/limits` text (`None` when unlimited or
/// absent).
fn open_files_soft_limit(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
}

/// Refused connections are logged a few at a time.
static REFUSED_WARNINGS: LogBudget = LogBudget::new(3, Duration::from_secs(10));

/// Serves `service` on `listener` until `shutdown` resolves, then lets open requests finish
/// (at most `grace`) and returns.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) where
    S: tower_service::Service<
            Request<Incoming>,
            Response = warp::reply::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let stopping = CancellationToken::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors or a transient error: wait a moment, keep serving.
                    tracing::error!(error = %e, "Could not accept a connection.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            if let Verdict::Write { suppressed } = REFUSED_WARNINGS.admit(Instant::now()) {
                tracing::warn!(
                    limit = limits.max_connections,
                    suppressed,
                    "Refused a connection: MAX_CONNECTIONS connections are open."
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let stopping = stopping.clone();
        tokio::spawn(serve_one(stream, peer, permit, service, limits, stopping));
    }
    drop(listener);
    stopping.cancel();
    // Every connection holds a slot until it closes: wait until they are all back.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = limits.max_connections - slots.available_permits(),
            "Connections still open at shutdown were cut off."
        );
    }
}

async fn serve_one<S>(
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    service: S,
    limits: ConnectionLimits,
    stopping: CancellationToken,
) where
    S: tower_service::Service<
            Request<Incoming>,
            Response = warp::reply::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let io = Tracked::new(stream, permit);
    let activity = io.activity.clone();
    let hyper_service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(PeerAddr(peer));
        let mut service = service.clone();
        tower_service::Service::call(&mut service, request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(io), hyper_service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let check_every =
        (limits.idle_timeout / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
    let mut ticks = tokio::time::interval(check_every);
    let mut closing_since: Option<Instant> = None;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(client = %peer, error = %e, "Connection ended with an error.");
                }
                return;
            }
            () = stopping.cancelled(), if closing_since.is_none() => {
                connection.as_mut().graceful_shutdown();
                closing_since = Some(Instant::now());
            }
            _ = ticks.tick() => {
                if activity.idle_for() < limits.idle_timeout {
                    continue;
                }
                match closing_since {
                    None => {
                        tracing::debug!(client = %peer, "Closing an idle connection.");
                        connection.as_mut().graceful_shutdown();
                        closing_since = Some(Instant::now());
                    }
                    // Still silent a full idle period after being asked to close: drop it.
                    Some(since) if since.elapsed() >= limits.idle_timeout => return,
                    Some(_) => {}
                }
            }
        }
    }
}

/// When a connection last moved a byte, in milliseconds since it was accepted.
#[derive(Debug)]
struct Activity {
    accepted: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.accepted.elapsed();
        now.saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// A client socket that records its activity and holds its connection slot for as long as
/// it lives (also after a WebSocket upgrade, which takes the socket over).
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
    _slot: OwnedSemaphorePermit,
}

impl Tracked {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit) -> Tracked {
        Tracked {
            stream,
            activity: Arc::new(Activity {
                accepted: Instant::now(),
                last_ms: AtomicU64::new(0),
            }),
            _slot: slot,
        }
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_open_file_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(open_files_soft_limit(text), Some(1024));
        assert_eq!(
            open_files_soft_limit(
                "Max open files            unlimited            unlimited            files"
            ),
            None
        );
    }

    #[test]
    fn activity_measures_time_since_the_last_byte() {
        let activity = Activity {
            accepted: Instant::now() - Duration::from_secs(30),
            last_ms: AtomicU64::new(10_000),
        };
        assert!(activity.idle_for() >= Duration::from_secs(20));
        activity.touch();
        assert!(activity.idle_for() < Duration::from_secs(5));
    }
}
