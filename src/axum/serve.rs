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
//! The clock of a connection is one timer, re-armed when its state changes
//! (idle, reading headers, busy): nothing runs per byte.

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
        router,
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
        // Every connection closes once idle; wait until the last has.
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
    /// Wakes the connection's clock when its state changes.
    changed: Notify,
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
            changed: Notify::new(),
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
        self.changed.notify_one();
    }

    fn response_finished(&self) {
        self.idle_since.store(self.now(), Ordering::Relaxed);
        self.busy.fetch_sub(1, Ordering::AcqRel);
        self.changed.notify_one();
    }

    /// Bytes arrived: on an idle connection they start the next request's
    /// header clock.
    fn bytes_read(&self) {
        if self.busy.load(Ordering::Acquire) == 0 && self.header_started.load(Ordering::Relaxed) == 0 {
            self.header_started.store(self.now() + 1, Ordering::Relaxed);
            self.changed.notify_one();
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
    let mut stopping = false;
    loop {
        let deadline = connection.deadline(&limits);
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
            () = connection.changed.notified() => {}
            () = sleep_until(deadline) => {
                // The state may have changed since the deadline was taken.
                if connection.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(%peer, "connection timed out");
                    break;
                }
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

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
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
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
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
    deadline: Pin<Box<tokio::time::Sleep>>,
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
        match self.deadline.as_mut().poll(cx) {
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
