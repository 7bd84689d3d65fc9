//! The answer to a request that outlived its time limit
//! ([`OAuthRoutes::time_limit`](super::OAuthRoutes::time_limit)).

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
