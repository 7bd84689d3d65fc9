//! Per-client limits on failed client authentications: the defence of
//! RFC 6819 §5.1.4.2 against guessing client secrets online (§4.3.5).
//!
//! Failures are counted per *presented* client id, whether or not such a
//! client exists. One shared key for unknown ids would be an oracle: an
//! attacker would lock the shared key with made-up ids and then see which
//! ids still answer `401` instead of `429`, i.e. which ones are registered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};

use super::into_axum;
use crate::{ErrorCode, OAuthError, Response, TokenHash};

/// The settings of an [`AuthFailureLimiter`].
///
/// ```
/// use std::time::Duration;
/// use granted::axum::AuthFailureLimit;
///
/// let limit = AuthFailureLimit::default()
///     .with_max_failures(5)
///     .with_window(Duration::from_secs(300))
///     .with_lockout(Duration::from_secs(900));
/// assert_eq!(limit.max_failures, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthFailureLimit {
    /// Failed authentications within [`window`](Self::window) that lock a
    /// client id out (at least 1). Default 10.
    pub max_failures: u32,
    /// How long a failure counts. Default 60 s.
    pub window: Duration,
    /// How long a locked-out client id is answered `429`. Default 60 s.
    pub lockout: Duration,
    /// How many client ids are tracked at most, so that an attacker spraying
    /// random ids cannot grow memory without bound. Default 10 000.
    pub max_clients: usize,
}

impl Default for AuthFailureLimit {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
            max_clients: 10_000,
        }
    }
}

impl AuthFailureLimit {
    /// Sets [`max_failures`](Self::max_failures).
    #[must_use]
    pub fn with_max_failures(mut self, max_failures: u32) -> Self {
        self.max_failures = max_failures;
        self
    }

    /// Sets [`window`](Self::window).
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Sets [`lockout`](Self::lockout).
    #[must_use]
    pub fn with_lockout(mut self, lockout: Duration) -> Self {
        self.lockout = lockout;
        self
    }

    /// Sets [`max_clients`](Self::max_clients).
    #[must_use]
    pub fn with_max_clients(mut self, max_clients: usize) -> Self {
        self.max_clients = max_clients;
        self
    }
}

/// Counts failed client authentications (`invalid_client` answers) per
/// client id and answers `429 Too Many Requests` to a client id that failed
/// too often, until its lock-out passes.
///
/// The answer while locked out carries `Retry-After` (seconds) and the JSON
/// body `{"error": "invalid_client", "error_description": "too many failed
/// client authentications; retry later"}`.
///
/// Successes do not reset the count: otherwise an attacker's guesses could
/// hide between the legitimate client's requests. Requests already in flight
/// when the lock-out starts still finish, so an attacker with `n` concurrent
/// connections gets at most `max_failures + n - 1` guesses per lock-out. Memory is bounded by
/// [`AuthFailureLimit::max_clients`]: when the table is full, expired
/// entries go first, then the entries with the fewest failures, so a
/// locked-out id stays locked under a spray of random ids.
///
/// Use it with [`OAuthRoutes::limit_failed_authentications`](super::OAuthRoutes::limit_failed_authentications),
/// or call [`check`](Self::check) and [`record_failure`](Self::record_failure)
/// from handlers of your own.
///
/// ```no_run
/// # fn run(server: std::sync::Arc<granted::Server<granted::MemoryStore>>) {
/// use granted::axum::{AuthFailureLimit, AuthFailureLimiter, OAuthRoutes};
///
/// let limiter = AuthFailureLimiter::new(AuthFailureLimit::default());
/// let app: axum::Router = OAuthRoutes::new(server)
///     .limit_failed_authentications(limiter)
///     .into_router();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuthFailureLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: AuthFailureLimit,
    // Keyed by the SHA-256 of the client id: 32 bytes whatever its length.
    clients: Mutex<HashMap<TokenHash, Entry>>,
    /// `clients.len()`, readable without the lock: while it is zero a
    /// request needs no check at all.
    tracked: AtomicUsize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    fn is_expired(&self, limit: &AuthFailureLimit, now: Instant) -> bool {
        match self.locked_until {
            Some(until) => until <= now,
            None => self.since + limit.window <= now,
        }
    }

    /// Eviction order under pressure: the weakest evidence goes first.
    fn rank(&self) -> (bool, u32, Instant) {
        (
            self.locked_until.is_some(),
            self.failures,
            self.locked_until.unwrap_or(self.since),
        )
    }
}

impl AuthFailureLimiter {
    /// A limiter with these settings.
    pub fn new(limit: AuthFailureLimit) -> Self {
        Self {
            inner: Arc::new(Inner {
                limit,
                clients: Mutex::new(HashMap::new()),
                tracked: AtomicUsize::new(0),
            }),
        }
    }

    /// Its settings.
    pub fn limit(&self) -> &AuthFailureLimit {
        &self.inner.limit
    }

    /// `Err(retry_after)` while `client_id` is locked out.
    ///
    /// # Errors
    ///
    /// The time left until the lock-out passes.
    pub fn check(&self, client_id: &str) -> Result<(), Duration> {
        self.check_at(&TokenHash::of(client_id), Instant::now())
    }

    /// Records a failed authentication of `client_id`.
    pub fn record_failure(&self, client_id: &str) {
        self.record_failure_at(TokenHash::of(client_id), Instant::now());
    }

    /// How many client ids are tracked now (at most
    /// [`AuthFailureLimit::max_clients`]).
    pub fn tracked(&self) -> usize {
        self.inner.tracked.load(Ordering::Relaxed)
    }

    /// Whether any client id is tracked: if not, nobody is locked out.
    pub(super) fn is_tracking(&self) -> bool {
        self.tracked() > 0
    }

    fn with_clients<T>(&self, f: impl FnOnce(&mut HashMap<TokenHash, Entry>) -> T) -> T {
        // A panic elsewhere cannot leave the counters inconsistent: each
        // update is one assignment, so a poisoned lock is still usable.
        let mut clients = self
            .inner
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = f(&mut clients);
        self.inner.tracked.store(clients.len(), Ordering::Relaxed);
        out
    }

    pub(super) fn check_at(&self, key: &TokenHash, now: Instant) -> Result<(), Duration> {
        self.with_clients(|clients| match clients.get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        })
    }

    pub(super) fn record_failure_at(&self, key: TokenHash, now: Instant) {
        let limit = self.inner.limit;
        self.with_clients(|clients| {
            if !clients.contains_key(&key) {
                make_room(clients, &limit, now);
            }
            let entry = clients.entry(key).or_insert(Entry {
                failures: 0,
                since: now,
                locked_until: None,
            });
            if entry.is_expired(&limit, now) {
                *entry = Entry {
                    failures: 0,
                    since: now,
                    locked_until: None,
                };
            }
            if entry.locked_until.is_some() {
                // Failures while locked were answered 429 and never checked.
                return;
            }
            entry.failures = entry.failures.saturating_add(1);
            if entry.failures >= limit.max_failures.max(1) {
                entry.locked_until = Some(now + limit.lockout);
            }
        });
    }
}

/// Makes room for one more entry: drops expired entries, then, if still
/// full, the weakest sixteenth (so the sweep is paid once per many inserts).
fn make_room(clients: &mut HashMap<TokenHash, Entry>, limit: &AuthFailureLimit, now: Instant) {
    let cap = limit.max_clients.max(1);
    if clients.len() < cap {
        return;
    }
    clients.retain(|_, entry| !entry.is_expired(limit, now));
    if clients.len() < cap {
        return;
    }
    let mut ranked: Vec<(TokenHash, (bool, u32, Instant))> =
        clients.iter().map(|(key, entry)| (*key, entry.rank())).collect();
    let evict = (cap / 16).max(1).min(ranked.len());
    ranked.select_nth_unstable_by_key(evict - 1, |(_, rank)| *rank);
    for (key, _) in &ranked[..evict] {
        clients.remove(key);
    }
}

/// The answer to a locked-out client id.
pub(super) fn too_many(retry_after: Duration) -> axum::response::Response {
    let body = OAuthError::new(
        ErrorCode::InvalidClient,
        "too many failed client authentications; retry later",
    )
    .to_json();
    let mut response = Response::from_json(StatusCode::TOO_MANY_REQUESTS, &body);
    // Whole seconds, rounded up, so that a retry never comes too early.
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    response.insert_header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    into_axum(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max_failures: u32, max_clients: usize) -> AuthFailureLimiter {
        AuthFailureLimiter::new(
            AuthFailureLimit::default()
                .with_max_failures(max_failures)
                .with_window(Duration::from_secs(60))
                .with_lockout(Duration::from_secs(120))
                .with_max_clients(max_clients),
        )
    }

    fn key(id: &str) -> TokenHash {
        TokenHash::of(id)
    }

    #[test]
    fn locks_out_after_max_failures_until_the_lockout_passes() {
        let limiter = limiter(3, 100);
        let t0 = Instant::now();
        for i in 0..2 {
            limiter.record_failure_at(key("web"), t0 + Duration::from_secs(i));
            assert!(limiter.check_at(&key("web"), t0 + Duration::from_secs(i)).is_ok());
        }
        limiter.record_failure_at(key("web"), t0 + Duration::from_secs(2));
        let retry = limiter.check_at(&key("web"), t0 + Duration::from_secs(3));
        assert_eq!(retry, Err(Duration::from_secs(119)));
        // Another client is not affected.
        assert!(limiter.check_at(&key("svc"), t0 + Duration::from_secs(3)).is_ok());
        assert!(
            limiter
                .check_at(&key("web"), t0 + Duration::from_secs(121))
                .is_err()
        );
        assert!(
            limiter
                .check_at(&key("web"), t0 + Duration::from_secs(122))
                .is_ok()
        );
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let limiter = limiter(3, 100);
        let t0 = Instant::now();
        limiter.record_failure_at(key("web"), t0);
        limiter.record_failure_at(key("web"), t0 + Duration::from_secs(1));
        // The window of the first failures has passed: the count starts again.
        limiter.record_failure_at(key("web"), t0 + Duration::from_secs(61));
        limiter.record_failure_at(key("web"), t0 + Duration::from_secs(62));
        assert!(
            limiter
                .check_at(&key("web"), t0 + Duration::from_secs(62))
                .is_ok()
        );
        limiter.record_failure_at(key("web"), t0 + Duration::from_secs(63));
        assert!(
            limiter
                .check_at(&key("web"), t0 + Duration::from_secs(63))
                .is_err()
        );
    }

    #[test]
    fn a_lockout_is_not_extended_by_failures_while_locked() {
        let limiter = limiter(1, 100);
        let t0 = Instant::now();
        limiter.record_failure_at(key("web"), t0);
        limiter.record_failure_at(key("web"), t0 + Duration::from_secs(100));
        assert!(
            limiter
                .check_at(&key("web"), t0 + Duration::from_secs(120))
                .is_ok()
        );
    }

    #[test]
    fn a_spray_of_random_ids_stays_within_the_cap_and_keeps_the_victim_locked() {
        let limiter = limiter(3, 64);
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.record_failure_at(key("victim"), t0);
        }
        for i in 0..10_000 {
            limiter.record_failure_at(key(&format!("random-{i}")), t0 + Duration::from_millis(i));
            assert!(limiter.tracked() <= 64);
        }
        assert!(
            limiter
                .check_at(&key("victim"), t0 + Duration::from_secs(11))
                .is_err()
        );
    }

    #[test]
    fn expired_entries_are_evicted_first() {
        let limiter = limiter(3, 4);
        let t0 = Instant::now();
        for id in ["a", "b", "c", "d"] {
            limiter.record_failure_at(key(id), t0);
        }
        limiter.record_failure_at(key("e"), t0 + Duration::from_secs(61));
        assert_eq!(limiter.tracked(), 1, "the four expired entries were dropped");
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let response = too_many(Duration::from_millis(1500));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }
}
