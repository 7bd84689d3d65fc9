//! The answer to a request that outlived its time limit
//! ([`OAuthRoutes::time_limit`](super::OAuthRoutes::time_limit),
//! [`time_limited`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Request, header};
use tower::{Layer, Service};

use super::into_axum;
use crate::{ErrorCode, OAuthError};

/// `503 temporarily_unavailable` with `Retry-After: 1`.
pub(super) fn unavailable() -> axum::response::Response {
    let mut response = OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "the server could not complete the request in time; retry later",
    )
    .into_response();
    response.insert_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
    into_axum(response)
}

/// `router` with a time limit on each of its requests: one that takes longer
/// than `limit` (a storage that hangs) is dropped and answered `503` with
/// `{"error": "temporarily_unavailable"}` and `Retry-After: 1`, as the
/// OAuth endpoints answer with [`OAuthRoutes::time_limit`](super::OAuthRoutes::time_limit).
///
/// For the routes that need storage besides the OAuth endpoints: userinfo
/// ([`openid_routes`](super::openid_routes)), your authorization page, your
/// protected resources. The time counts from when the route is reached,
/// reading the request body included. What a dropped request leaves behind
/// is what a storage error at that point leaves: every storage call of the
/// runtime is atomic.
///
/// ```no_run
/// # async fn me() -> &'static str { "" }
/// use std::time::Duration;
/// use axum::routing::get;
/// use granted::axum::time_limited;
///
/// let resources = axum::Router::new().route("/api/me", get(me));
/// let app: axum::Router = time_limited(resources, Duration::from_secs(10));
/// ```
pub fn time_limited(router: Router, limit: Duration) -> Router {
    router.layer(TimeLimitLayer { limit })
}

/// The layer of [`time_limited`]: a tower service rather than a
/// `from_fn` closure, which would box the request's future and clone the
/// route for `Next` on every request.
#[derive(Debug, Clone, Copy)]
struct TimeLimitLayer {
    limit: Duration,
}

impl<S> Layer<S> for TimeLimitLayer {
    type Service = TimeLimit<S>;

    fn layer(&self, inner: S) -> TimeLimit<S> {
        TimeLimit {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Debug, Clone)]
struct TimeLimit<S> {
    inner: S,
    limit: Duration,
}

impl<S, B> Service<Request<B>> for TimeLimit<S>
where
    S: Service<Request<B>, Response = axum::response::Response>,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = TimeLimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        TimeLimitFuture {
            inner: tokio::time::timeout(self.limit, self.inner.call(request)),
            limit: self.limit,
        }
    }
}

pin_project_lite::pin_project! {
    struct TimeLimitFuture<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        limit: Duration,
    }
}

impl<F, E> Future for TimeLimitFuture<F>
where
    F: Future<Output = Result<axum::response::Response, E>>,
{
    type Output = Result<axum::response::Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_elapsed)) => {
                tracing::warn!(limit = ?this.limit, "a request timed out");
                Poll::Ready(Ok(unavailable()))
            }
        }
    }
}
