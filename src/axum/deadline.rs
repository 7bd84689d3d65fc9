//! The answer to a request that outlived its time limit
//! ([`OAuthRoutes::time_limit`](super::OAuthRoutes::time_limit),
//! [`time_limited`]).

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};

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
    router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| async move {
            match tokio::time::timeout(limit, next.run(request)).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(?limit, "a request timed out");
                    unavailable()
                }
            }
        },
    ))
}
