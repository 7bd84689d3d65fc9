//! [`OAuthRoutes`]: the OAuth endpoints' router, with its opt-in guards
//! (the failed-authentication limiter and the time limit) applied inside
//! the handlers, where the request body is already read and the runtime's
//! answer (its error code) is at hand, so that an unguarded or quiet server
//! pays nothing for them.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::FromRef;

use super::deadline::unavailable;
use super::{AuthFailureLimiter, CorsOrigins, OAuthRequest, into_axum};
use crate::throttle::unix_millis;
use crate::{ErrorCode, Grants, OAuthError, Response, Server, TokenHash, presented_client_id};

/// The router of [`oauth_routes`](super::oauth_routes), with options.
///
/// ```no_run
/// # fn run(server: std::sync::Arc<granted::Server<granted::MemoryStore>>) {
/// use std::time::Duration;
/// use granted::axum::{AuthFailureLimit, AuthFailureLimiter, OAuthRoutes};
///
/// let app: axum::Router = OAuthRoutes::new(server)
///     .limit_failed_authentications(AuthFailureLimiter::new(AuthFailureLimit::default()))
///     .time_limit(Duration::from_secs(10))
///     .into_router();
/// # }
/// ```
#[derive(Debug)]
pub struct OAuthRoutes<S> {
    server: Arc<Server<S>>,
    guards: Guards,
    cors: Option<CorsOrigins>,
}

/// The guards of the endpoints that authenticate clients (token,
/// revocation, introspection).
#[derive(Debug, Clone, Default)]
pub(super) struct Guards {
    limiter: Option<AuthFailureLimiter>,
    time_limit: Option<Duration>,
}

/// The router's state: handlers take the server or the guards from it.
#[derive(Debug)]
pub(super) struct RouteState<S> {
    server: Arc<Server<S>>,
    guards: Guards,
}

impl<S> Clone for RouteState<S> {
    fn clone(&self) -> Self {
        Self {
            server: Arc::clone(&self.server),
            guards: self.guards.clone(),
        }
    }
}

impl<S> FromRef<RouteState<S>> for Arc<Server<S>> {
    fn from_ref(state: &RouteState<S>) -> Self {
        Arc::clone(&state.server)
    }
}

impl<S> FromRef<RouteState<S>> for Guards {
    fn from_ref(state: &RouteState<S>) -> Self {
        state.guards.clone()
    }
}

impl<S: Grants> OAuthRoutes<S> {
    /// The endpoints of `server`, unguarded.
    pub fn new(server: Arc<Server<S>>) -> Self {
        Self {
            server,
            guards: Guards::default(),
            cors: None,
        }
    }

    /// Answers CORS pre-flights and allows `origins` at the token,
    /// revocation and metadata endpoints (not introspection, which only
    /// resource servers call). Without it no cross-origin call is allowed.
    #[must_use]
    pub fn cors(mut self, origins: CorsOrigins) -> Self {
        self.cors = Some(origins);
        self
    }

    /// Counts failed client authentications at the token, revocation and
    /// introspection endpoints and answers `429` to a client id that failed
    /// too often (see [`AuthFailureLimiter`]). With a store
    /// ([`AuthFailureLimiter::with_store`], scope
    /// [`FailureScope::CLIENT_ID`](crate::throttle::FailureScope::CLIENT_ID)),
    /// every instance sharing it shares the budget; keep it synchronized
    /// with [`spawn_failure_sync`](super::spawn_failure_sync).
    #[must_use]
    pub fn limit_failed_authentications(mut self, limiter: AuthFailureLimiter) -> Self {
        self.guards.limiter = Some(limiter);
        self
    }

    /// Answers `503` with `{"error": "temporarily_unavailable"}` and
    /// `Retry-After: 1` when the token, revocation or introspection endpoint
    /// takes longer than `limit` (a storage that hangs).
    ///
    /// The endpoint is dropped at the deadline. The runtime's storage calls
    /// are each atomic, so what is left behind is what a storage error at
    /// that point leaves (see the table in `tests/concurrency_and_faults.rs`):
    /// for instance a code redeemed but no token delivered, which the client
    /// must start over from, as after any `5xx`.
    #[must_use]
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.guards.time_limit = Some(limit);
        self
    }

    /// The router.
    pub fn into_router(self) -> Router {
        let par = self.server.policy().par().is_some();
        let device = self.server.policy().enables(crate::GrantType::DeviceCode);
        super::route_table::<S>(self.cors.as_ref(), par, device).with_state(RouteState {
            server: self.server,
            guards: self.guards,
        })
    }
}

impl Guards {
    /// Runs `endpoint` for `request` under the guards.
    pub(super) async fn run(
        &self,
        request: &OAuthRequest,
        endpoint: impl Future<Output = Response>,
    ) -> axum::response::Response {
        let deadline = self
            .time_limit
            .map(|limit| (limit, tokio::time::Instant::now() + limit));
        let mut key = None;
        if let Some(limiter) = &self.limiter
            && limiter.is_tracking()
        {
            key = client_key(request);
            // A locked-out id is refused even with the right secret: were the
            // secret still checked, a different answer to the right guess
            // would let the guessing go on at full speed through the lock-out.
            if let Some(key) = &key
                && let Err(retry_after) = limiter.check_at(key, Instant::now())
            {
                return into_axum(
                    OAuthError::too_many_attempts(
                        ErrorCode::InvalidClient,
                        "too many failed client authentications; retry later",
                        retry_after,
                    )
                    .into_response(),
                );
            }
        }
        let response = match deadline {
            Some((limit, deadline)) => match tokio::time::timeout_at(deadline, endpoint).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(?limit, "an OAuth request timed out");
                    return unavailable();
                }
            },
            None => endpoint.await,
        };
        if let Some(limiter) = &self.limiter
            && response.error_code() == Some(ErrorCode::InvalidClient)
            && let Some(key) = key.or_else(|| client_key(request))
        {
            // Counted here at once; with a shared store, also there (within
            // what is left of the time limit: should the store hang, the
            // failure still counts here and the answer goes out).
            let record = limiter.record_failure_async_at(key, Instant::now(), unix_millis());
            match deadline {
                Some((_, deadline)) => {
                    if tokio::time::timeout_at(deadline, record).await.is_err() {
                        tracing::warn!(
                            "recording a failed client authentication in the shared store timed out"
                        );
                    }
                }
                None => record.await,
            }
        }
        into_axum(response)
    }
}

/// The limiter's key for the client id the request presents.
fn client_key(request: &OAuthRequest) -> Option<TokenHash> {
    presented_client_id(&request.as_request()).map(|id| TokenHash::digest(&id))
}
