//! The TCP side of the server: every connection is bounded from its first byte.
//!
//! - `HEADER_TIMEOUT_MS`: a connection sends a whole request head within this time of opening
//!   and of its last answer, or it is closed (hyper's header-read timer): idle connections,
//!   idle keep-alive connections and slow senders (slowloris) go.
//! - `MAX_CONNECTIONS_PER_IP`: TCP connections one address holds at once, whatever they carry;
//!   the next one is answered HTTP 429 `too-many-connections` (1031) and closed.
//! - `MAX_CONNECTIONS`: TCP connections in all. At the bound the connection that has waited
//!   longest without a request in flight is closed to make room; an LPProto connection (after
//!   its upgrade) or one with a request in flight is never closed for this. When no connection
//!   can go, the new one is answered HTTP 503 `server-full` (1037) and closed.
//! - Accept errors (out of file descriptors) are logged once a second and make `GET /ready`
//!   answer 503 for [`TROUBLE_SHOWN`]; a spare descriptor lets the loop take the waiting
//!   connection and close it at once rather than leave it hanging in the backlog.
//!
//! Only HTTP/1.1 is spoken (browsers open LPProto's WebSocket over it); the request carries
//! its client's address as a [`Peer`] extension ([`peer`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use warp::Filter;

use crate::errors::ErrorCode;

/// How long `GET /ready` reports an accept error after the last one.
pub const TROUBLE_SHOWN: Duration = Duration::from_secs(5);

/// Refusals being written at once; past it a refused connection is closed without an answer.
const REFUSALS_IN_FLIGHT: usize = 256;

/// How long a refusal may take to write its answer and read what the client sent.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// The bounds of [`Connections`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// `MAX_CONNECTIONS_PER_IP`; 0: no bound.
    pub max_per_address: usize,
    /// `HEADER_TIMEOUT_MS`.
    pub header_timeout: Duration,
}

/// The client address of a request, from the accepted connection.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// The client address of the request ([`Peer`]).
pub fn peer() -> impl Filter<Extract = (Option<SocketAddr>,), Error = std::convert::Infallible> + Copy {
    warp::ext::optional::<Peer>().map(|peer: Option<Peer>| peer.map(|Peer(address)| address))
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address holds `MAX_CONNECTIONS_PER_IP` connections.
    Address,
    /// `MAX_CONNECTIONS` are open and none can be closed for room.
    Full,
}

impl Refusal {
    /// The HTTP error the refused connection is answered with.
    fn error(self) -> crate::rest::RestError {
        let (code, detail) = match self {
            Refusal::Address => {
                (ErrorCode::TooManyConnections, "this address holds MAX_CONNECTIONS_PER_IP connections already")
            }
            Refusal::Full => (ErrorCode::ServerFull, "the server holds MAX_CONNECTIONS connections, none of them idle"),
        };
        crate::rest::RestError { retry_after_ms: Some(1000), ..crate::rest::RestError::new(code, detail) }
    }
}

/// One open connection.
struct Entry {
    ip: IpAddr,
    /// Since when it has waited without a request in flight; None while one is, and for good
    /// once it is upgraded to a WebSocket.
    waiting_since: Option<Instant>,
    in_flight: u32,
    upgraded: bool,
    /// Chosen to close for room; it no longer counts against the bound.
    closing: bool,
    close: Arc<Notify>,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Entry>,
    by_address: HashMap<IpAddr, usize>,
    closing: usize,
}

/// The open connections of the server and their bounds.
pub struct Connections {
    limits: Limits,
    registry: Mutex<Registry>,
    /// The last accept error and when it happened.
    trouble: Mutex<Option<(Instant, String)>>,
    /// Connections closed to make room, and refused, since start.
    pub closed_for_room: std::sync::atomic::AtomicU64,
    pub refused: std::sync::atomic::AtomicU64,
}

impl Connections {
    pub fn new(limits: Limits) -> Arc<Connections> {
        Arc::new(Connections {
            limits,
            registry: Mutex::default(),
            trouble: Mutex::new(None),
            closed_for_room: Default::default(),
            refused: Default::default(),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// TCP connections open now (those being closed for room included).
    pub fn open(&self) -> usize {
        self.registry().open.len()
    }

    /// Counts a new connection of `ip`, closing the longest-waiting one for room at the
    /// global bound; or why it is refused.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refusal> {
        let mut registry = self.registry();
        let of_address = registry.by_address.get(&ip).copied().unwrap_or(0);
        if self.limits.max_per_address > 0 && of_address >= self.limits.max_per_address {
            return Err(Refusal::Address);
        }
        if registry.open.len() - registry.closing >= self.limits.max_connections {
            let oldest = registry
                .open
                .iter()
                .filter(|(_, entry)| !entry.closing)
                .filter_map(|(id, entry)| entry.waiting_since.map(|since| (since, *id)))
                .min();
            let Some((_, id)) = oldest else { return Err(Refusal::Full) };
            if let Some(entry) = registry.open.get_mut(&id) {
                entry.closing = true;
                entry.close.notify_one();
            }
            registry.closing += 1;
            self.closed_for_room.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let close = Arc::new(Notify::new());
        registry.open.insert(
            id,
            Entry {
                ip,
                waiting_since: Some(Instant::now()),
                in_flight: 0,
                upgraded: false,
                closing: false,
                close: close.clone(),
            },
        );
        *registry.by_address.entry(ip).or_default() += 1;
        Ok(Ticket { connections: self.clone(), id, close })
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut Entry)) {
        if let Some(entry) = self.registry().open.get_mut(&id) {
            change(entry);
        }
    }

    fn release(&self, id: u64) {
        let mut registry = self.registry();
        let Some(entry) = registry.open.remove(&id) else { return };
        if entry.closing {
            registry.closing = registry.closing.saturating_sub(1);
        }
        if let Some(count) = registry.by_address.get_mut(&entry.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                registry.by_address.remove(&entry.ip);
            }
        }
    }

    /// Records an accept error for `GET /ready`; true when it is the first for a second (to
    /// log).
    fn accept_failed(&self, error: &std::io::Error) -> bool {
        let mut trouble = self.trouble.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let log = trouble.as_ref().is_none_or(|(at, _)| now.duration_since(*at) >= Duration::from_secs(1));
        if log {
            *trouble = Some((now, error.to_string()));
        }
        log
    }

    /// The accept error of the last [`TROUBLE_SHOWN`], if any: `GET /ready` answers 503 with it.
    pub fn trouble(&self) -> Option<String> {
        let trouble = self.trouble.lock().unwrap_or_else(|p| p.into_inner());
        trouble.as_ref().filter(|(at, _)| at.elapsed() < TROUBLE_SHOWN).map(|(_, error)| error.clone())
    }
}

/// A connection counted in [`Connections`] until the ticket drops (with the socket, after an
/// upgrade too).
pub struct Ticket {
    connections: Arc<Connections>,
    id: u64,
    close: Arc<Notify>,
}

impl Ticket {
    /// A request of the connection is under way until the guard drops.
    fn request(self: &Arc<Self>) -> RequestGuard {
        self.connections.update(self.id, |entry| {
            entry.in_flight += 1;
            entry.waiting_since = None;
        });
        RequestGuard { ticket: self.clone(), upgraded: false }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.connections.release(self.id);
    }
}

struct RequestGuard {
    ticket: Arc<Ticket>,
    upgraded: bool,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let upgraded = self.upgraded;
        self.ticket.connections.update(self.ticket.id, |entry| {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            entry.upgraded |= upgraded;
            if entry.in_flight == 0 && !entry.upgraded {
                entry.waiting_since = Some(Instant::now());
            }
        });
    }
}

/// The socket with its ticket: the connection counts as long as the socket lives.
struct Counted {
    stream: TcpStream,
    _ticket: Arc<Ticket>,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
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
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// What serves each request: warp's routes as a service (`warp::service`).
pub trait Routes:
    tower_service::Service<
        hyper::Request<hyper::body::Incoming>,
        Response = warp::reply::Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static
{
}

impl<S> Routes for S where
    S: tower_service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = warp::reply::Response,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
        + 'static
{
}

/// Serves `routes` on `listener` until `stop` completes, then stops accepting and waits for
/// the HTTP connections to finish their requests (upgraded connections live on).
pub async fn serve(
    listener: TcpListener,
    routes: impl Routes,
    connections: Arc<Connections>,
    stop: impl std::future::Future<Output = ()>,
) {
    // Every connection task holds a sender; the channel closes when the last one ends.
    let (running, mut all_ended) = tokio::sync::mpsc::channel::<()>(1);
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let refusals = Arc::new(tokio::sync::Semaphore::new(REFUSALS_IN_FLIGHT));
    let mut spare = spare_descriptor();
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let (stream, address) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(&listener, &connections, &error, &mut spare).await;
                continue;
            }
        };
        match connections.admit(address.ip()) {
            Ok(ticket) => {
                let service = routes.clone();
                let timeout = connections.limits.header_timeout;
                let (running, stopped) = (running.clone(), stopped.clone());
                tokio::spawn(async move {
                    serve_connection(stream, address, ticket, service, timeout, stopped).await;
                    drop(running);
                });
            }
            Err(refusal) => {
                connections.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(remote = %address.ip(), ?refusal, "connection refused");
                if let Ok(permit) = refusals.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream, refusal).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    drop(listener);
    let _ = stopping.send(true);
    drop(running);
    let _ = all_ended.recv().await;
}

/// One HTTP/1.1 connection, with its header-read timer; closed early when its entry is chosen
/// to make room.
async fn serve_connection(
    stream: TcpStream,
    address: SocketAddr,
    ticket: Ticket,
    service: impl Routes,
    header_timeout: Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let ticket = Arc::new(ticket);
    let close = ticket.close.clone();
    let io = hyper_util::rt::TokioIo::new(Counted { stream, _ticket: ticket.clone() });
    let handler = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(Peer(address));
        let mut guard = ticket.request();
        let answer = service.clone().call(request);
        async move {
            let response = answer.await?;
            guard.upgraded = response.status() == warp::http::StatusCode::SWITCHING_PROTOCOLS;
            drop(guard);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(io, handler)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let ended = tokio::select! {
        result = connection.as_mut() => Some(result),
        () = close.notified() => {
            tracing::debug!(remote = %address.ip(), "closed for room at MAX_CONNECTIONS");
            return;
        }
        _ = stopped.wait_for(|stopped| *stopped) => None,
    };
    // The server stops: the request under way is answered, then the connection closes.
    let result = match ended {
        Some(result) => result,
        None => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(remote = %address.ip(), %error, "connection ended");
    }
}

/// Answers a refused connection with its HTTP error and closes it, reading what the client
/// sent meanwhile (so that the close is not a reset that loses the answer).
async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let error = refusal.error();
    let body = serde_json::to_string(&error.body()).unwrap_or_default();
    let status = error.status();
    let answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len(),
    );
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut read = 0;
        while read < 65_536 {
            match tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// An accept error: connection errors of one client are passed over; anything else (out of
/// file descriptors) is logged once a second, reported by `GET /ready`, and the waiting
/// connection is taken with the spare descriptor and closed, so that the loop goes on.
async fn accept_failed(
    listener: &TcpListener,
    connections: &Connections,
    error: &std::io::Error,
    spare: &mut Option<std::fs::File>,
) {
    use std::io::ErrorKind;
    if matches!(error.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset)
    {
        return;
    }
    if connections.accept_failed(error) {
        tracing::error!(%error, open = connections.open(), "accept failed: the server is out of file descriptors or memory; connections are closed at once until it recovers");
    }
    if spare.take().is_some() {
        // The connection that could not be taken waits in the backlog: take it and close it
        // (at most a moment's wait, should another loop have taken it meanwhile).
        if let Ok(Ok((stream, _))) = tokio::time::timeout(Duration::from_millis(50), listener.accept()).await {
            drop(stream);
        }
        *spare = spare_descriptor();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// A descriptor kept open to be given up when accept runs out of them.
fn spare_descriptor() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

/// Raises the soft limit of open files to the hard one (as servers do), and returns the limit
/// in force.
pub fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// The open-file limit in force.
pub fn open_files_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct passed to it.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    limit.rlim_cur
}

#[cfg(test)]
mod tests;
