//! Failure budgets against online guessing (RFC 6819 §4.3.5, §5.1.4.2;
//! RFC 6749 §4.3.2): client secrets per client id, passwords per username
//! and per source address.
//!
//! Failures are counted per *presented* name, whether or not it exists. One
//! shared key for unknown names would be an oracle: an attacker would lock
//! the shared key with made-up names and then see which names still answer
//! `401` instead of `429`, i.e. which ones are registered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::TokenHash;

/// The settings of an [`AuthFailureLimiter`].
///
/// ```
/// use std::time::Duration;
/// use oauth_runtime::throttle::AuthFailureLimit;
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
    /// name out (at least 1). Default 10.
    pub max_failures: u32,
    /// How long a failure counts. Default 60 s.
    pub window: Duration,
    /// How long a locked-out name is answered `429`. Default 60 s.
    pub lockout: Duration,
    /// How many names are tracked at most, so that an attacker spraying
    /// random names cannot grow memory without bound. Default 10 000.
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

/// Counts failed authentications per name (a client id, a username, a
/// source address) and locks out a name that failed too often, until its
/// lock-out passes: the endpoints then answer `429 Too Many Requests` with
/// `Retry-After`, without checking the credentials.
///
/// Successes do not reset the count: otherwise an attacker's guesses could
/// hide between the legitimate client's requests. Requests already in flight
/// when the lock-out starts still finish, so an attacker with `n` concurrent
/// connections gets at most `max_failures + n - 1` guesses per lock-out. Memory is bounded by
/// [`AuthFailureLimit::max_clients`]: when the table is full, expired
/// entries go first, then the entries with the fewest failures, so a
/// locked-out id stays locked under a spray of random ids.
///
/// The axum integration uses one for client ids
/// (`OAuthRoutes::limit_failed_authentications`); [`PasswordBudgets`] holds
/// the two of every password path. Call [`check`](Self::check) and
/// [`record_failure`](Self::record_failure) from handlers of your own.
///
/// ```
/// use oauth_runtime::throttle::{AuthFailureLimit, AuthFailureLimiter};
///
/// let limiter = AuthFailureLimiter::new(AuthFailureLimit::default().with_max_failures(2));
/// limiter.record_failure("web");
/// assert!(limiter.check("web").is_ok());
/// limiter.record_failure("web");
/// assert!(limiter.check("web").is_err());
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

    /// Whether any name is tracked: if not, nobody is locked out (a quiet
    /// server checks nothing).
    pub fn is_tracking(&self) -> bool {
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

    /// [`check`](Self::check) for the SHA-256 of a name, at `now`.
    ///
    /// # Errors
    ///
    /// The time left until the lock-out passes.
    pub fn check_at(&self, key: &TokenHash, now: Instant) -> Result<(), Duration> {
        self.with_clients(|clients| match clients.get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        })
    }

    /// [`record_failure`](Self::record_failure) for the SHA-256 of a name, at `now`.
    pub fn record_failure_at(&self, key: TokenHash, now: Instant) {
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

/// Two limiters are equal when they are the same one (clones included).
impl PartialEq for AuthFailureLimiter {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for AuthFailureLimiter {}

/// The failure budgets every password path shares (the login form, the
/// password grant): one per username and one per source address, so that
/// one address cannot lock out every user either.
///
/// ```
/// use oauth_runtime::throttle::PasswordBudgets;
///
/// let budgets = PasswordBudgets::default();
/// assert_eq!(budgets.per_username.limit().max_failures, 10);
/// assert_eq!(budgets.per_source.limit().max_failures, 30);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordBudgets {
    /// Failed sign-ins per username, known or not: 10 in 60 s lock the
    /// username for 60 s by default.
    pub per_username: AuthFailureLimiter,
    /// Failed sign-ins per source address: 30 in 60 s lock the address for
    /// 60 s by default, so one address locks at most three usernames a
    /// minute. Requests without a known address are not counted here.
    pub per_source: AuthFailureLimiter,
}

impl Default for PasswordBudgets {
    fn default() -> Self {
        Self::new(
            AuthFailureLimiter::new(AuthFailureLimit::default()),
            AuthFailureLimiter::new(AuthFailureLimit::default().with_max_failures(30)),
        )
    }
}

impl PasswordBudgets {
    /// Budgets with these limiters.
    pub fn new(per_username: AuthFailureLimiter, per_source: AuthFailureLimiter) -> Self {
        Self {
            per_username,
            per_source,
        }
    }

    /// `Err(retry_after)` while `username` or `source` is locked out.
    ///
    /// # Errors
    ///
    /// The longer of the time left on the two lock-outs.
    pub fn check(&self, username: &str, source: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let user = self.per_username.check_at(&TokenHash::of(username), now);
        let from = source.map_or(Ok(()), |ip| self.per_source.check_at(&source_key(ip), now));
        match (user, from) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), Ok(())) | (Ok(()), Err(wait)) => Err(wait),
        }
    }

    /// Records a failed sign-in of `username` from `source`.
    pub fn record_failure(&self, username: &str, source: Option<IpAddr>) {
        let now = Instant::now();
        self.per_username.record_failure_at(TokenHash::of(username), now);
        if let Some(ip) = source {
            self.per_source.record_failure_at(source_key(ip), now);
        }
    }
}

/// The key of a source address; IPv6 addresses count per /64, the block one
/// host usually has.
fn source_key(ip: IpAddr) -> TokenHash {
    match ip {
        IpAddr::V4(v4) => TokenHash::of(&v4.to_string()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => TokenHash::of(&v4.to_string()),
            None => {
                let segments = v6.segments();
                TokenHash::of(&format!(
                    "{:x}:{:x}:{:x}:{:x}::/64",
                    segments[0], segments[1], segments[2], segments[3]
                ))
            }
        },
    }
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
    fn password_budgets_lock_a_username_from_any_address_and_an_address_for_any_username() {
        let budgets = PasswordBudgets::new(limiter(3, 100), limiter(5, 100));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            budgets.record_failure("alice", Some(a));
        }
        assert!(
            budgets.check("alice", Some(b)).is_err(),
            "the username is locked everywhere"
        );
        assert!(budgets.check("bob", Some(b)).is_ok());
        budgets.record_failure("bob", Some(a));
        budgets.record_failure("carol", Some(a));
        assert!(
            budgets.check("dave", Some(a)).is_err(),
            "the address used its budget"
        );
        assert!(budgets.check("dave", Some(b)).is_ok());
        assert!(budgets.check("dave", None).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_per_64_block() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(one), source_key(two));
        assert_ne!(source_key(one), source_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(source_key(mapped), source_key("192.0.2.1".parse().unwrap()));
    }
}
