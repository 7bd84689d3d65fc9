//! Failure budgets against online guessing (RFC 6819 §4.3.5, §5.1.4.2;
//! RFC 6749 §4.3.2): client secrets per client id, passwords per username
//! and per source address.
//!
//! Failures are counted per *presented* name, whether or not it exists. One
//! shared key for unknown names would be an oracle: an attacker would lock
//! the shared key with made-up names and then see which names still answer
//! `401` instead of `429`, i.e. which ones are registered.
//!
//! Each limiter counts in memory, for its process. Instances that share a
//! database share their budgets through a [`FailureStore`]
//! ([`AuthFailureLimiter::with_store`]): every failure is also recorded
//! there, and the locks any instance caused are read back about once a
//! second ([`AuthFailureLimiter::sync_from_store`]).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::TokenHash;

/// Which budget a key of a [`FailureStore`] belongs to: the same name may
/// be counted as a client id and as a username apart.
///
/// ```
/// use oauth_runtime::throttle::FailureScope;
///
/// assert_eq!(FailureScope::USERNAME.as_str(), "username");
/// assert_ne!(FailureScope::USERNAME, FailureScope::new("api_key"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FailureScope(&'static str);

impl FailureScope {
    /// Failed client authentications, per client id
    /// (`OAuthRoutes::limit_failed_authentications` in the axum integration).
    pub const CLIENT_ID: Self = Self("client_id");
    /// Failed sign-ins per username ([`PasswordBudgets::per_username`]).
    pub const USERNAME: Self = Self("username");
    /// Failed sign-ins per source address ([`PasswordBudgets::per_source`]).
    pub const SOURCE: Self = Self("source");
    /// Wrong user codes per source address on the device verification page
    /// ([`Policy::user_code_budget`](crate::Policy::user_code_budget)).
    pub const USER_CODE: Self = Self("user_code");

    /// A scope of your own, for a limiter of your own handlers; keep it
    /// short and distinct from the ones above.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// Its name, as a store keeps it.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }
}

/// The error of a [`FailureStore`]: the limiter only logs it.
pub type FailureStoreError = Box<dyn std::error::Error + Send + Sync>;

/// The future a [`FailureStore`] method returns.
pub type FailureFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, FailureStoreError>> + Send + 'a>>;

/// Where instances sharing a database count failed authentications
/// together, so that N instances do not give an attacker N budgets. The SQL
/// store of `granted` implements it; [`AuthFailureLimiter::with_store`]
/// uses one.
///
/// Times are wall-clock milliseconds since the Unix epoch ([`unix_millis`]):
/// instances share no clock but the wall clock, so theirs must agree (to a
/// second or so).
///
/// A store keeps, per `(scope, key)`, a count of failures, the end of the
/// current window or lock-out, and whether the key is locked, and applies
/// [`record_failure`](Self::record_failure) atomically: concurrent failures
/// recorded by several instances each count once. This one keeps them in a
/// map (a real one keeps them where every instance sees them):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use oauth_runtime::TokenHash;
/// use oauth_runtime::throttle::{AuthFailureLimit, FailureFuture, FailureScope, FailureStore};
///
/// /// `(failures, expires_at, locked)` per scope and key.
/// #[derive(Default)]
/// struct MapStore(Mutex<HashMap<(FailureScope, TokenHash), (u32, i64, bool)>>);
///
/// impl FailureStore for MapStore {
///     fn record_failure(
///         &self,
///         scope: FailureScope,
///         key: TokenHash,
///         limit: AuthFailureLimit,
///         now_ms: i64,
///     ) -> FailureFuture<'_, Option<i64>> {
///         let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
///         let mut map = self.0.lock().unwrap();
///         let row = map.entry((scope, key)).or_insert((0, 0, false));
///         if row.1 <= now_ms {
///             // Nothing yet, or the window or lock-out passed: start again.
///             *row = (0, now_ms + ms(limit.window), false);
///         }
///         if !row.2 {
///             row.0 += 1;
///             if row.0 >= limit.max_failures.max(1) {
///                 *row = (row.0, now_ms + ms(limit.lockout), true);
///             }
///         }
///         let locked_until = row.2.then_some(row.1);
///         Box::pin(async move { Ok(locked_until) })
///     }
///
///     fn locked(&self, scope: FailureScope, now_ms: i64, max: usize) -> FailureFuture<'_, Vec<(TokenHash, i64)>> {
///         let map = self.0.lock().unwrap();
///         let locked = map
///             .iter()
///             .filter(|((s, _), (_, until, locked))| *s == scope && *locked && *until > now_ms)
///             .map(|((_, key), (_, until, _))| (*key, *until))
///             .take(max)
///             .collect();
///         Box::pin(async move { Ok(locked) })
///     }
/// }
/// ```
pub trait FailureStore: Send + Sync {
    /// Records one failed authentication of `key` in `scope` at `now_ms`,
    /// counted under `limit`, and returns the end of the key's lock-out
    /// (wall-clock milliseconds) when it is locked at `now_ms`, this failure
    /// included; `None` when it is not.
    ///
    /// The rule is [`AuthFailureLimiter`]'s: a window starts at the first
    /// failure and lasts [`AuthFailureLimit::window`]; the failure that
    /// brings its count to [`AuthFailureLimit::max_failures`] locks the key
    /// for [`AuthFailureLimit::lockout`]; failures while locked change
    /// nothing; once the window or the lock-out has passed, the next
    /// failure starts a new window.
    ///
    /// # Errors
    ///
    /// When the store cannot be reached or fails: the limiter then counts
    /// locally only.
    fn record_failure(
        &self,
        scope: FailureScope,
        key: TokenHash,
        limit: AuthFailureLimit,
        now_ms: i64,
    ) -> FailureFuture<'_, Option<i64>>;

    /// The keys of `scope` locked at `now_ms`, each with the end of its
    /// lock-out, at most `max` of them.
    ///
    /// # Errors
    ///
    /// When the store cannot be reached or fails.
    fn locked(
        &self,
        scope: FailureScope,
        now_ms: i64,
        max: usize,
    ) -> FailureFuture<'_, Vec<(TokenHash, i64)>>;
}

/// Wall-clock milliseconds since the Unix epoch (0 before it): the time of
/// a [`FailureStore`].
pub fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

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
/// With a [`FailureStore`] ([`with_store`](Self::with_store)), instances
/// sharing it share the budget: [`record_failure_async`](Self::record_failure_async)
/// counts a failure here and in the store, and locks the name here at once
/// when the store says it is locked (the instance that records the last
/// failure of the budget refuses the next request);
/// [`sync_from_store`](Self::sync_from_store), run about once a second,
/// brings in the locks the other instances caused. [`check`](Self::check)
/// stays local and synchronous. Until it has synchronized, another instance
/// still checks the credentials of a locked name, but its first failure
/// there locks it (the store's answer): each other instance gives at most
/// one more guess. A store that fails is logged and the failure counted
/// locally only: it never unlocks a name.
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
    /// Where the instances sharing a database count together.
    shared: Option<Shared>,
}

struct Shared {
    scope: FailureScope,
    store: Arc<dyn FailureStore>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
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
        Self::build(limit, None)
    }

    fn build(limit: AuthFailureLimit, shared: Option<Shared>) -> Self {
        Self {
            inner: Arc::new(Inner {
                limit,
                clients: Mutex::new(HashMap::new()),
                tracked: AtomicUsize::new(0),
                shared,
            }),
        }
    }

    /// A limiter with the same settings that also counts in `store`, under
    /// `scope`, and starts with nothing counted. Set it before cloning the
    /// limiter: clones made before keep counting alone.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oauth_runtime::throttle::{AuthFailureLimit, AuthFailureLimiter, FailureScope, FailureStore};
    /// # fn run(store: Arc<dyn FailureStore>) {
    /// let limiter = AuthFailureLimiter::new(AuthFailureLimit::default())
    ///     .with_store(FailureScope::CLIENT_ID, store);
    /// assert_eq!(limiter.store_scope(), Some(FailureScope::CLIENT_ID));
    /// # }
    /// ```
    #[must_use]
    pub fn with_store(self, scope: FailureScope, store: Arc<dyn FailureStore>) -> Self {
        Self::build(self.inner.limit, Some(Shared { scope, store }))
    }

    /// The scope it counts under in its store, if it has one.
    pub fn store_scope(&self) -> Option<FailureScope> {
        self.inner.shared.as_ref().map(|shared| shared.scope)
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
        self.check_at(&TokenHash::digest(client_id), Instant::now())
    }

    /// Records a failed authentication of `client_id` here only, not in
    /// the store (see [`record_failure_async`](Self::record_failure_async)).
    pub fn record_failure(&self, client_id: &str) {
        self.record_failure_at(TokenHash::digest(client_id), Instant::now());
    }

    /// Records a failed authentication of `name` here and, with a store,
    /// in the store, and locks `name` here when the store says it is
    /// locked. Without a store it is [`record_failure`](Self::record_failure).
    /// A store error is logged (`tracing` warning) and the failure counted
    /// here only.
    ///
    /// ```
    /// use oauth_runtime::throttle::{AuthFailureLimit, AuthFailureLimiter};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let limiter = AuthFailureLimiter::new(AuthFailureLimit::default().with_max_failures(1));
    /// limiter.record_failure_async("web").await;
    /// assert!(limiter.check("web").is_err());
    /// # });
    /// ```
    pub async fn record_failure_async(&self, name: &str) {
        self.record_failure_async_at(TokenHash::digest(name), Instant::now(), unix_millis())
            .await;
    }

    /// [`record_failure_async`](Self::record_failure_async) for the SHA-256
    /// of a name, at `now`, which is `now_ms` on the wall clock
    /// ([`unix_millis`]).
    pub async fn record_failure_async_at(&self, key: TokenHash, now: Instant, now_ms: i64) {
        // Counted here first: should the store hang and the caller give up,
        // the failure still counts.
        self.record_failure_at(key, now);
        let Some(shared) = &self.inner.shared else {
            return;
        };
        match shared
            .store
            .record_failure(shared.scope, key, self.inner.limit, now_ms)
            .await
        {
            Ok(Some(until_ms)) => self.apply_locks(&[(key, until_ms)], now, now_ms),
            Ok(None) => {}
            Err(error) => tracing::warn!(
                %error,
                scope = shared.scope.as_str(),
                "recording a failed authentication in the shared store failed: counted on this instance only"
            ),
        }
    }

    /// Brings in the locks of the store (the ones every instance sharing it
    /// caused), so that this instance refuses those names too; returns how
    /// many names the store has locked. Run it about once a second (the
    /// axum integration has `spawn_failure_sync`). Without a store it does
    /// nothing. It never unlocks a name.
    ///
    /// # Errors
    ///
    /// The store's error; the limiter is left as it was.
    pub async fn sync_from_store(&self) -> Result<usize, FailureStoreError> {
        self.sync_from_store_at(Instant::now(), unix_millis()).await
    }

    /// [`sync_from_store`](Self::sync_from_store) at `now`, which is `now_ms`
    /// on the wall clock.
    ///
    /// # Errors
    ///
    /// The store's error; the limiter is left as it was.
    pub async fn sync_from_store_at(&self, now: Instant, now_ms: i64) -> Result<usize, FailureStoreError> {
        let Some(shared) = &self.inner.shared else {
            return Ok(0);
        };
        let max = self.inner.limit.max_clients.max(1);
        let locked = shared.store.locked(shared.scope, now_ms, max).await?;
        self.apply_locks(&locked, now, now_ms);
        Ok(locked.len())
    }

    /// Locks each key until its wall-clock end (no longer than a lock-out
    /// from now, whatever the store says), unless it is locked longer here.
    fn apply_locks(&self, locks: &[(TokenHash, i64)], now: Instant, now_ms: i64) {
        if locks.is_empty() {
            return;
        }
        let limit = self.inner.limit;
        self.with_clients(|clients| {
            for (key, until_ms) in locks {
                let left = u64::try_from(until_ms.saturating_sub(now_ms)).unwrap_or(0);
                let left = Duration::from_millis(left).min(limit.lockout);
                if left.is_zero() {
                    continue;
                }
                let Some(until) = now.checked_add(left) else {
                    continue;
                };
                if !clients.contains_key(key) {
                    make_room(clients, &limit, now);
                }
                let entry = clients.entry(*key).or_insert(Entry {
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
                if entry.locked_until.is_none_or(|locked| locked < until) {
                    entry.locked_until = Some(until);
                }
            }
        });
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
        if !self.is_tracking() {
            return Ok(());
        }
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
        let user = self.per_username.check_at(&TokenHash::digest(username), now);
        let from = source.map_or(Ok(()), |ip| self.per_source.check_at(&source_key(ip), now));
        match (user, from) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), Ok(())) | (Ok(()), Err(wait)) => Err(wait),
        }
    }

    /// Records a failed sign-in of `username` from `source`, here only (see
    /// [`record_failure_async`](Self::record_failure_async)).
    pub fn record_failure(&self, username: &str, source: Option<IpAddr>) {
        let now = Instant::now();
        self.per_username
            .record_failure_at(TokenHash::digest(username), now);
        if let Some(ip) = source {
            self.per_source.record_failure_at(source_key(ip), now);
        }
    }

    /// Budgets with the same settings that also count in `store` (the
    /// usernames under [`FailureScope::USERNAME`], the addresses under
    /// [`FailureScope::SOURCE`]), so that every instance sharing it shares
    /// them; see [`AuthFailureLimiter::with_store`]. Run
    /// [`sync_from_store`](Self::sync_from_store) about once a second.
    #[must_use]
    pub fn with_store(self, store: Arc<dyn FailureStore>) -> Self {
        Self {
            per_username: self
                .per_username
                .with_store(FailureScope::USERNAME, Arc::clone(&store)),
            per_source: self.per_source.with_store(FailureScope::SOURCE, store),
        }
    }

    /// Records a failed sign-in of `username` from `source`, here and in
    /// the store (see [`AuthFailureLimiter::record_failure_async`]): what
    /// [`sign_in`](crate::sign_in) does.
    pub async fn record_failure_async(&self, username: &str, source: Option<IpAddr>) {
        let (now, now_ms) = (Instant::now(), unix_millis());
        self.per_username
            .record_failure_async_at(TokenHash::digest(username), now, now_ms)
            .await;
        if let Some(ip) = source {
            self.per_source
                .record_failure_async_at(source_key(ip), now, now_ms)
                .await;
        }
    }

    /// [`AuthFailureLimiter::sync_from_store`] for both budgets; how many
    /// usernames and addresses the store has locked.
    ///
    /// # Errors
    ///
    /// The store's first error (both budgets are tried).
    pub async fn sync_from_store(&self) -> Result<usize, FailureStoreError> {
        let usernames = self.per_username.sync_from_store().await;
        let sources = self.per_source.sync_from_store().await;
        Ok(usernames? + sources?)
    }
}

/// The key of a source address; IPv6 addresses count per /64, the block one
/// host usually has.
pub(crate) fn source_key(ip: IpAddr) -> TokenHash {
    match ip {
        IpAddr::V4(v4) => TokenHash::digest(&v4.to_string()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => TokenHash::digest(&v4.to_string()),
            None => {
                let segments = v6.segments();
                TokenHash::digest(&format!(
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
        TokenHash::digest(id)
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

    /// One database shared by "instances" (limiters): the rule of
    /// [`FailureStore::record_failure`] over a map; `failing` makes every
    /// call fail.
    /// `(failures, expires_at, locked)` per scope and key.
    type Rows = HashMap<(FailureScope, TokenHash), (u32, i64, bool)>;

    #[derive(Default)]
    struct FakeStore {
        rows: Mutex<Rows>,
        failing: std::sync::atomic::AtomicBool,
    }

    fn ms(duration: Duration) -> i64 {
        i64::try_from(duration.as_millis()).unwrap()
    }

    impl FakeStore {
        fn fail(&self, failing: bool) {
            self.failing.store(failing, Ordering::SeqCst);
        }

        fn check(&self) -> Result<(), FailureStoreError> {
            if self.failing.load(Ordering::SeqCst) {
                Err("the database is down".into())
            } else {
                Ok(())
            }
        }
    }

    impl FailureStore for FakeStore {
        fn record_failure(
            &self,
            scope: FailureScope,
            key: TokenHash,
            limit: AuthFailureLimit,
            now_ms: i64,
        ) -> FailureFuture<'_, Option<i64>> {
            let result = self.check().map(|()| {
                let mut rows = self.rows.lock().unwrap();
                let row = rows.entry((scope, key)).or_insert((0, 0, false));
                if row.1 <= now_ms {
                    *row = (0, now_ms + ms(limit.window), false);
                }
                if !row.2 {
                    row.0 += 1;
                    if row.0 >= limit.max_failures.max(1) {
                        *row = (row.0, now_ms + ms(limit.lockout), true);
                    }
                }
                row.2.then_some(row.1)
            });
            Box::pin(async move { result })
        }

        fn locked(
            &self,
            scope: FailureScope,
            now_ms: i64,
            max: usize,
        ) -> FailureFuture<'_, Vec<(TokenHash, i64)>> {
            let result = self.check().map(|()| {
                self.rows
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|((s, _), (_, until, locked))| *s == scope && *locked && *until > now_ms)
                    .map(|((_, key), (_, until, _))| (*key, *until))
                    .take(max)
                    .collect()
            });
            Box::pin(async move { result })
        }
    }

    /// Two instances' limiters (3 failures lock for 120 s) on one store.
    fn two_instances(store: &Arc<FakeStore>) -> (AuthFailureLimiter, AuthFailureLimiter) {
        let shared = || limiter(3, 100).with_store(FailureScope::CLIENT_ID, Arc::clone(store) as _);
        (shared(), shared())
    }

    const T0_MS: i64 = 1_700_000_000_000;

    #[tokio::test]
    async fn failures_on_two_instances_share_one_budget_and_a_lock_reaches_the_other_by_a_sync() {
        let store = Arc::new(FakeStore::default());
        let (a, b) = two_instances(&store);
        let t0 = Instant::now();
        let at = |s: u64| {
            (
                t0 + Duration::from_secs(s),
                T0_MS + 1000 * i64::try_from(s).unwrap(),
            )
        };
        let (now, now_ms) = at(0);
        a.record_failure_async_at(key("web"), now, now_ms).await;
        b.record_failure_async_at(key("web"), now, now_ms).await;
        assert!(a.check_at(&key("web"), now).is_ok());
        assert!(b.check_at(&key("web"), now).is_ok());

        // The third failure of the budget, on B: B locks at once ...
        let (now, now_ms) = at(1);
        b.record_failure_async_at(key("web"), now, now_ms).await;
        assert_eq!(b.check_at(&key("web"), now), Err(Duration::from_secs(120)));
        // ... A only once it has synchronized.
        assert!(a.check_at(&key("web"), now).is_ok(), "A counted one failure only");
        let (now, now_ms) = at(2);
        assert_eq!(a.sync_from_store_at(now, now_ms).await.unwrap(), 1);
        assert_eq!(a.check_at(&key("web"), now), Err(Duration::from_secs(119)));
        assert!(a.check_at(&key("svc"), now).is_ok(), "other ids are not locked");
        // The lock ends where the store says, on both.
        let (now, _) = at(121);
        assert!(a.check_at(&key("web"), now).is_ok());
        assert!(b.check_at(&key("web"), now).is_ok());
    }

    #[tokio::test]
    async fn a_failing_store_falls_back_to_the_local_count_and_unlocks_nothing() {
        let store = Arc::new(FakeStore::default());
        let (a, _) = two_instances(&store);
        let t0 = Instant::now();
        store.fail(true);
        for _ in 0..3 {
            a.record_failure_async_at(key("web"), t0, T0_MS).await;
        }
        assert!(
            a.check_at(&key("web"), t0).is_err(),
            "three failures counted here lock the id"
        );
        assert!(a.sync_from_store_at(t0, T0_MS).await.is_err());
        assert!(
            a.check_at(&key("web"), t0).is_err(),
            "a failed sync unlocks nothing"
        );
        // Back up, the store knows nothing of the lock: still locked here.
        store.fail(false);
        assert_eq!(a.sync_from_store_at(t0, T0_MS).await.unwrap(), 0);
        assert!(a.check_at(&key("web"), t0).is_err(), "a sync never unlocks");
    }

    #[tokio::test]
    async fn a_lock_from_the_store_lasts_no_longer_than_a_lockout_from_now() {
        let store = Arc::new(FakeStore::default());
        let (a, _) = two_instances(&store);
        store
            .rows
            .lock()
            .unwrap()
            .insert((FailureScope::CLIENT_ID, key("web")), (3, i64::MAX, true));
        let t0 = Instant::now();
        a.sync_from_store_at(t0, T0_MS).await.unwrap();
        assert_eq!(a.check_at(&key("web"), t0), Err(Duration::from_secs(120)));
        // Another scope's lock is not this limiter's.
        store
            .rows
            .lock()
            .unwrap()
            .insert((FailureScope::USERNAME, key("svc")), (3, i64::MAX, true));
        a.sync_from_store_at(t0, T0_MS).await.unwrap();
        assert!(a.check_at(&key("svc"), t0).is_ok());
    }

    #[tokio::test]
    async fn password_budgets_with_a_store_share_usernames_and_addresses() {
        let store: Arc<dyn FailureStore> = Arc::new(FakeStore::default());
        let budgets =
            || PasswordBudgets::new(limiter(3, 100), limiter(5, 100)).with_store(Arc::clone(&store));
        let (a, b) = (budgets(), budgets());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        a.record_failure_async("alice", Some(ip)).await;
        a.record_failure_async("alice", Some(ip)).await;
        b.record_failure_async("alice", None).await;
        assert!(b.check("alice", None).is_err(), "the third failure, on B");
        assert!(a.check("alice", None).is_ok());
        assert_eq!(a.sync_from_store().await.unwrap(), 1);
        assert!(a.check("alice", None).is_err(), "A synchronized");
        // Three more from the address, on B: five in all lock the address.
        for user in ["bob", "carol", "erin"] {
            b.record_failure_async(user, Some(ip)).await;
        }
        assert!(a.check("dave", Some(ip)).is_ok());
        assert_eq!(a.sync_from_store().await.unwrap(), 2);
        assert!(a.check("dave", Some(ip)).is_err());
        assert!(a.check("dave", None).is_ok());
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
