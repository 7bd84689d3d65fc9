//! A time limit on OAuth requests: a storage that hangs answers
//! `503 temporarily_unavailable` instead of holding the client forever.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;

use super::into_axum;
use crate::{ErrorCode, OAuthError};

/// Wraps `router` so that a request taking longer than `limit` is answered
/// `503` with `{"error": "temporarily_unavailable"}` and `Retry-After: 1`.
///
/// The handler is dropped at the deadline. The runtime's storage calls are
/// each atomic, so the state left behind is one a storage error at that
/// point would leave (see the table in `tests/concurrency_and_faults.rs`):
/// for instance a code redeemed but no token delivered, which the client
/// must start over from, as after any `5xx`.
///
/// ```no_run
/// # fn run(server: std::sync::Arc<granted::Server<granted::MemoryStore>>) {
/// use std::time::Duration;
/// use granted::axum::{oauth_routes, time_limit};
///
/// let app: axum::Router = time_limit(oauth_routes(server), Duration::from_secs(10));
/// # }
/// ```
pub fn time_limit(router: Router, limit: Duration) -> Router {
    router.layer(axum::middleware::from_fn_with_state(limit, deadline))
}

async fn deadline(
    State(limit): State<Duration>,
    request: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?limit, "request timed out");
            unavailable()
        }
    }
}

fn unavailable() -> axum::response::Response {
    let mut response = OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "the server could not complete the request in time; retry later",
    )
    .into_response();
    response.insert_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
    into_axum(response)
}
