//! [`serve`]: an HTTP/1.1 server for an axum router with the connection
//! limits a server facing the internet needs, on by default.
//!
//! hyper does the HTTP; this module adds what it leaves to the application:
//!
//! - a deadline for a request's headers, counted from its first byte (or
//!   from the accept, for a new connection), so a client sending one byte at
//!   a time cannot hold a connection;
//! - a deadline for the body, counted from the end of the headers, answered
//!   `408` by [`OAuthRequest`](super::OAuthRequest);
//! - an idle time-out between keep-alive requests;
//! - a cap on open connections: when it is reached, the connection idle the
//!   longest is closed to make room (a request in progress is never cut),
//!   and a new connection is refused only when every one is busy;
//! - `413` at once for a declared `Content-Length` above the body limit,
//!   without reading the body.
//!
//! The clock of a connection is one timer that nothing but itself re-arms:
//! a request only stores a few numbers (when it started, when it finished),
//! and the timer, when it fires, computes the connection's deadline from them
//! and sleeps again. It never sleeps past the deadline, because it never
//! sleeps longer than the shortest time-out: whatever happened since it was
//! armed, no deadline can fall earlier than that (see [`Connection::next_check`]).
//! So a request costs no wake-up and no timer of its own, and an idle
//! connection wakes once per shortest time-out.

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use super::into_axum;
use crate::{MAX_BODY_BYTES, OAuthError};

/// The limits [`serve`] enforces on each connection.
///
/// The defaults are the contract's: headers within 10 s, the body within
/// 10 s of them, keep-alive connections idle for 60 s at most, 4,096 open
/// connections, bodies of at most [`MAX_BODY_BYTES`] (64 KiB).
///
/// ```
/// use std::time::Duration;
/// use granted::axum::ConnectionLimits;
///
/// let limits = ConnectionLimits::default()
///     .with_max_connections(512)
///     .with_idle_timeout(Duration::from_secs(30));
/// assert_eq!(limits.header_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// How long a request's headers may take to arrive, from their first
    /// byte (from the accept for a connection's first request).
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive after its headers.
    pub body_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Open connections at most (at least 1).
    pub max_connections: usize,
    /// The largest body accepted, in bytes: a larger declared
    /// `Content-Length` is answered `413` without reading the body.
    pub max_body_bytes: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_body_bytes: MAX_BODY_BYTES as u64,
        }
    }
}

impl ConnectionLimits {
    /// Sets [`header_timeout`](Self::header_timeout).
    #[must_use]
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Sets [`body_timeout`](Self::body_timeout).
    #[must_use]
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets [`max_body_bytes`](Self::max_body_bytes).
    #[must_use]
    pub fn with_max_body_bytes(mut self, max: u64) -> Self {
        self.max_body_bytes = max;
        self
    }
}

/// Serves `router` on `listener` with [`ConnectionLimits::default`]; await
/// it to run the server. Handlers can extract
/// `axum::extract::ConnectInfo<SocketAddr>` (the peer's address), which the
/// failure budgets of the password paths use.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// granted::axum::serve(listener, app)
///     .with_graceful_shutdown(async { let _ = tokio::signal::ctrl_c().await; })
///     .await
/// # }
/// ```
pub fn serve(listener: TcpListener, router: Router) -> Serve {
    Serve {
        listener,
        // Turns every handler into its route once: a `Router<()>` called as
        // it is would do it again for each request.
        router: router.with_state(()),
        limits: ConnectionLimits::default(),
        shutdown: None,
    }
}

/// The server [`serve`] returns: set its options, then await it.
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for Serve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Serve {
    /// Replaces the connection limits.
    pub fn limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Stops accepting when `signal` completes, lets requests in progress
    /// finish, then returns.
    pub fn with_graceful_shutdown(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    async fn run(self) -> io::Result<()> {
        let Self {
            listener,
            router,
            limits,
            shutdown,
        } = self;
        let mut shutdown = shutdown.unwrap_or_else(|| Box::pin(std::future::pending()));
        let registry = Arc::new(Registry::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors, or the peer gave up during the
                    // handshake: wait a moment rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(connection) = registry.admit(limits.max_connections) else {
                tracing::warn!(%peer, "connection refused: every connection is busy");
                drop(stream);
                continue;
            };
            let router = router.clone();
            let stop = stop_rx.clone();
            let registry = Arc::clone(&registry);
            tokio::spawn(async move {
                serve_connection(stream, peer, router, limits, &connection, stop).await;
                registry.remove(connection.id);
            });
        }
        drop(listener);
        // Every connection closes once idle; wait until the last has (each
        // holds a receiver until it ends).
        drop(stop_rx);
        let _ = stop_tx.send(true);
        stop_tx.closed().await;
        Ok(())
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Time in milliseconds since the server started, for atomics.
fn millis_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What the accept loop knows of each open connection.
#[derive(Debug)]
struct Registry {
    /// The zero of every connection's millisecond clock.
    origin: Instant,
    connections: Mutex<Vec<Arc<Connection>>>,
    next_id: AtomicU64,
}

/// One open connection's state, shared by its task, its reads and its
/// requests.
#[derive(Debug)]
struct Connection {
    id: u64,
    origin: Instant,
    /// Requests whose response has not been sent in full.
    busy: AtomicUsize,
    /// When the connection last became idle (ms since `origin`).
    idle_since: AtomicU64,
    /// When the first byte of the next request's headers arrived, plus one
    /// (ms since `origin`); zero while no byte has.
    header_started: AtomicU64,
    /// Set by the accept loop to make room: the connection closes at once
    /// (it is idle, so no request is cut).
    evict: Notify,
}

impl Registry {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            connections: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Registers a new connection, closing the longest-idle one when the
    /// cap is reached; `None` when every connection is busy.
    fn admit(&self, max: usize) -> Option<Arc<Connection>> {
        let mut connections = self.connections.lock().unwrap_or_else(PoisonError::into_inner);
        if connections.len() >= max.max(1) {
            let oldest_idle = connections
                .iter()
                .enumerate()
                .filter(|(_, c)| c.busy.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, c)| c.idle_since.load(Ordering::Relaxed))
                .map(|(index, _)| index)?;
            let evicted = connections.swap_remove(oldest_idle);
            evicted.evict.notify_one();
        }
        let now = millis_since(self.origin);
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            origin: self.origin,
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now),
            // A new connection's first request is timed from the accept.
            header_started: AtomicU64::new(now + 1),
            evict: Notify::new(),
        });
        connections.push(Arc::clone(&connection));
        Some(connection)
    }

    fn remove(&self, id: u64) {
        let mut connections = self.connections.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = connections.iter().position(|c| c.id == id) {
            connections.swap_remove(index);
        }
    }
}

impl Connection {
    fn now(&self) -> u64 {
        millis_since(self.origin)
    }

    fn request_started(&self) {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.header_started.store(0, Ordering::Relaxed);
    }

    fn response_finished(&self) {
        self.idle_since.store(self.now(), Ordering::Relaxed);
        self.busy.fetch_sub(1, Ordering::AcqRel);
    }

    /// Bytes arrived: on an idle connection they start the next request's
    /// header clock.
    fn bytes_read(&self) {
        if self.busy.load(Ordering::Acquire) == 0 && self.header_started.load(Ordering::Relaxed) == 0 {
            self.header_started.store(self.now() + 1, Ordering::Relaxed);
        }
    }

    /// When the connection must close if nothing changes; `None` while a
    /// request is in progress (its body and handler have deadlines of their own).
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        let (since, timeout) = match self.header_started.load(Ordering::Relaxed) {
            0 => (self.idle_since.load(Ordering::Relaxed), limits.idle_timeout),
            started => (started - 1, limits.header_timeout),
        };
        Some(self.origin + Duration::from_millis(since) + timeout)
    }

    /// When the clock must look again, at `now`: the deadline if it is near,
    /// else one shortest time-out from now. Every deadline a later change can
    /// set is at least a shortest time-out after that change, which comes
    /// after `now`: the clock cannot miss it.
    fn next_check(&self, limits: &ConnectionLimits, now: Instant) -> Instant {
        let soonest = now + limits.header_timeout.min(limits.idle_timeout);
        self.deadline(limits)
            .map_or(soonest, |deadline| deadline.min(soonest))
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    connection: &Arc<Connection>,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        inner: stream,
        connection: Arc::clone(connection),
    });
    let service = ConnectionService {
        router,
        peer,
        limits,
        connection: Arc::clone(connection),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The header deadline is this module's (it also covers a first byte
    // that never comes); hyper's own would also cut idle keep-alives short.
    builder.timer(TokioTimer::new()).header_read_timeout(None);
    let http = builder.serve_connection(
        io,
        hyper::service::service_fn(move |request| {
            let service = service.clone();
            async move { Ok::<_, Infallible>(service.call(request).await) }
        }),
    );
    tokio::pin!(http);
    let clock = tokio::time::sleep_until(connection.next_check(&limits, Instant::now()));
    tokio::pin!(clock);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = http.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                break;
            }
            () = connection.evict.notified() => {
                tracing::debug!(%peer, "idle connection closed to make room");
                break;
            }
            () = clock.as_mut() => {
                let now = Instant::now();
                if connection.deadline(&limits).is_some_and(|deadline| deadline <= now) {
                    tracing::debug!(%peer, "connection timed out");
                    break;
                }
                clock.as_mut().reset(connection.next_check(&limits, now));
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_err() || *stop.borrow() {
                    http.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The per-connection service: the router, plus the body limit and
/// deadline, the peer's address, and the connection's busy count.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    limits: ConnectionLimits,
    connection: Arc<Connection>,
}

impl ConnectionService {
    async fn call(&self, request: Request<Incoming>) -> axum::response::Response {
        self.connection.request_started();
        let busy = BusyGuard(Arc::clone(&self.connection));
        let response = self.respond(request).await;
        response.map(|body| {
            Body::new(GuardedBody {
                inner: body,
                _busy: busy,
            })
        })
    }

    async fn respond(&self, request: Request<Incoming>) -> axum::response::Response {
        if declared_length(&request).is_some_and(|length| length > self.limits.max_body_bytes) {
            return payload_too_large();
        }
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        let deadline = Instant::now() + self.limits.body_timeout;
        let body = Body::new(DeadlineBody {
            inner: body,
            deadline,
            timer: None,
        });
        match self
            .router
            .clone()
            .oneshot(Request::from_parts(parts, body))
            .await
        {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

fn declared_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// `413` with an OAuth error body; the connection is closed afterwards, so
/// the body is never read.
fn payload_too_large() -> axum::response::Response {
    let body = OAuthError::invalid_request("the request body is too large").to_json();
    let mut response = into_axum(crate::Response::from_json(StatusCode::PAYLOAD_TOO_LARGE, &body));
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Marks the connection idle again when the response has been sent (or
/// dropped).
struct BusyGuard(Arc<Connection>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.response_finished();
    }
}

/// A response body holding its connection busy until it is done.
struct GuardedBody {
    inner: Body,
    _busy: BusyGuard,
}

impl hyper::body::Body for GuardedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The error a request body gives once its deadline has passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// A request body that fails with [`BodyTimedOut`] after its deadline.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    /// Made the first time the body is not there yet: a small body, in
    /// the same packets as the headers, needs no timer.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl hyper::body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, telling the connection when bytes arrive.
struct Watched {
    inner: TcpStream,
    connection: Arc<Connection>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.connection.bytes_read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn a_graceful_shutdown_closes_idle_connections_and_returns() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().route("/", get(|| async { "ok" }));
        let server = tokio::spawn(
            serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        // A keep-alive connection left idle after one request.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 1024];
        let mut n = 0;
        while !answer[..n].ends_with(b"ok") {
            n += idle.read(&mut answer[n..]).await.unwrap();
        }
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
        stop.send(()).unwrap();
        let finished = tokio::time::timeout(Duration::from_secs(10), server).await;
        assert!(
            matches!(finished, Ok(Ok(Ok(())))),
            "the server did not stop: {finished:?}"
        );
        assert_eq!(
            idle.read(&mut answer).await.unwrap(),
            0,
            "the idle connection was closed"
        );
    }
    /// Starts a server with `limits` answering `GET /` with `ok`.
    async fn start(limits: ConnectionLimits) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/", get(|| async { "ok" }));
        tokio::spawn(serve(listener, app).limits(limits).into_future());
        addr
    }

    /// Reads until the peer closes; fails the test if it never does.
    async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
        let mut all = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut all)).await;
        assert!(read.is_ok(), "the connection was never closed: {all:?}");
        all
    }

    #[tokio::test]
    async fn headers_that_stall_after_requests_end_in_time_close_the_connection() {
        let limits = ConnectionLimits::default()
            .with_header_timeout(Duration::from_millis(300))
            .with_idle_timeout(Duration::from_secs(30));
        let addr = start(limits).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // Two whole requests (the clock sees them only as state), then the
        // start of a third whose headers never end.
        for _ in 0..2 {
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = [0u8; 256];
            let mut n = 0;
            while !answer[..n].ends_with(b"ok") {
                n += stream.read(&mut answer[n..]).await.unwrap();
            }
        }
        stream.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        read_until_closed(&mut stream).await;
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed_after_its_time_out() {
        let limits = ConnectionLimits::default()
            .with_header_timeout(Duration::from_secs(30))
            .with_idle_timeout(Duration::from_millis(300));
        let addr = start(limits).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    }
}
