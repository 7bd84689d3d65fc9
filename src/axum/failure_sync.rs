//! [`spawn_failure_sync`]: the loop that brings the locks of a shared
//! failure store into each instance's limiters, on tokio.

use std::time::Duration;

use super::AuthFailureLimiter;

/// Runs [`AuthFailureLimiter::sync_from_store`] for each of `limiters` now
/// and then every `every`, on a tokio task: an instance then refuses,
/// within about `every`, a client id, username or address that any instance
/// sharing the store has locked (the instance that recorded the failure
/// locking it refuses at once). About a second suits; the contract of the
/// example server says so. Limiters without a store are skipped; a store
/// error is logged (`tracing` warning) and the limiters keep every lock
/// they have.
///
/// The task holds the limiters: abort the returned handle to stop it.
///
/// ```no_run
/// # fn run(store: std::sync::Arc<dyn granted::throttle::FailureStore>) {
/// use std::time::Duration;
/// use granted::axum::{AuthFailureLimit, AuthFailureLimiter, spawn_failure_sync};
/// use granted::throttle::{FailureScope, PasswordBudgets};
///
/// let clients = AuthFailureLimiter::new(AuthFailureLimit::default())
///     .with_store(FailureScope::CLIENT_ID, store.clone());
/// let budgets = PasswordBudgets::default().with_store(store);
/// let _sync = spawn_failure_sync(
///     [clients.clone(), budgets.per_username.clone(), budgets.per_source.clone()],
///     Duration::from_secs(1),
/// );
/// // Then `OAuthRoutes::limit_failed_authentications(clients)` and
/// // `Policy::with_password_budgets(budgets)`.
/// # }
/// ```
pub fn spawn_failure_sync(
    limiters: impl IntoIterator<Item = AuthFailureLimiter>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let limiters: Vec<AuthFailureLimiter> = limiters
        .into_iter()
        .filter(|limiter| limiter.store_scope().is_some())
        .collect();
    tokio::spawn(async move {
        if limiters.is_empty() {
            return;
        }
        let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            for limiter in &limiters {
                if let Err(error) = limiter.sync_from_store().await {
                    tracing::warn!(
                        %error,
                        scope = limiter.store_scope().map(|scope| scope.as_str()),
                        "reading the locks of the shared failure store failed"
                    );
                }
            }
        }
    })
}
