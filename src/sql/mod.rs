//! SQL storage: [`SqlStore`] keeps clients, users (with their OpenID Connect
//! claims), authorization codes, tokens and id_token signing keys in SQLite (feature `sqlite`) or PostgreSQL (feature `postgres`).
//!
//! It implements the runtime's storage traits with the runtime's records
//! ([`ClientRecord`], [`TokenRecord`], [`CodeRecord`], [`UserRecord`]) and
//! has the same semantics as [`MemoryStore`](crate::MemoryStore): a code is
//! taken (removed and returned) atomically, a refresh token is rotated
//! atomically, revoking a family deletes all its tokens, and a rotated
//! refresh token can still be looked up so that its reuse is detected. Only
//! keys of tokens and codes are stored, never the values: their issue time
//! and their SHA-256 ([`TokenHash::of`](crate::TokenHash::of)).
//!
//! The schema is created and upgraded by embedded migrations when the store
//! connects (files in `migrations/sqlite` and `migrations/postgres`).
//!
//! With SQLite every write goes through one writer task that commits queued
//! writes together (group commit), and reads go through a separate pool of
//! read-only connections; with Postgres every operation is one atomic
//! statement on a pool, and new tokens are batched into one statement (group
//! commit as well). Clients found by a lookup are kept for a few seconds
//! (see [`SqlStore::with_client_cache`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), granted::sql::SqlError> {
//! use granted::ClientRecord;
//! use granted::sql::SqlStore;
//!
//! let store = SqlStore::connect("sqlite://granted.db").await?;
//! store
//!     .upsert_client(&ClientRecord::confidential("web", "s3cret").scope("read"))
//!     .await?;
//! let _purger = store.spawn_purge_task(std::time::Duration::from_secs(300));
//! # Ok(())
//! # }
//! ```
//!
//! The store does not implement `Grants`: declare the grants with
//! `#[granted::server]` on your own type and delegate to it.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use oauth_runtime::model::{ClientModel as _, UnixTime};
use oauth_runtime::storage::{
    AssertionStorage, ClaimsStorage, CodeStorage, DeclaredStorage, DeviceStorage, PushedRequestStorage,
    RefreshStorage, SessionStorage, Storage, StorageVisitor, UserStorage,
};
use oauth_runtime::throttle::{AuthFailureLimit, FailureFuture, FailureScope, FailureStore};
use oauth_runtime::{
    ClientRecord, CodeRecord, DeviceAuthorization, DeviceStatus, KeyRing, LoginSession, PushedRequest, Scope,
    SigningAlg, SigningKey, TokenHash, TokenRecord, UserClaims, UserRecord,
};

#[cfg(feature = "sqlite")]
mod checkpoint;
mod clients;
mod device;
mod error;
mod extensions;
mod migrations;
mod ops;
#[cfg(feature = "postgres")]
mod pg_token_writer;
#[cfg(feature = "postgres")]
mod postgres;
mod redact;
mod rows;
mod sessions;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod writer;

pub use error::{DatabaseUnavailable, SqlError};
pub use redact::{redact_password, redact_url};

/// Storage in SQLite or PostgreSQL.
///
/// With Postgres, an operation waits at most 3 s for a connection; a
/// database that is down or unreachable fails it with
/// [`SqlError::Unavailable`] (the endpoints answer `503
/// temporarily_unavailable`), and the pool reconnects once it is back.
///
/// Cheap to clone: clones share the connections (and, for SQLite, the writer
/// task). When the last clone is dropped, the SQLite writer finishes the
/// writes already queued and closes its connection; [`close`](Self::close)
/// does the same on demand and waits for it.
#[derive(Clone)]
pub struct SqlStore {
    backend: Arc<Backend>,
    clients: Arc<clients::ClientCache>,
}

#[derive(Debug)]
enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteBackend),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PostgresBackend),
}

/// Calls the same method on whichever backend is in use.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &*$self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(backend) => backend.$method($($arg),*).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(backend) => backend.$method($($arg),*).await,
        }
    };
}

impl SqlStore {
    /// Connects to a database and brings its schema up to date.
    ///
    /// - `sqlite://PATH` (or `sqlite:PATH`): a SQLite file, created if missing,
    ///   in WAL mode, with checkpoints run by a task of their own beside the
    ///   writer (the `-wal` file grows to about 128 MiB under sustained
    ///   writes before it starts over).
    /// - `sqlite::memory:`: a private in-memory SQLite database (of SQLite's
    ///   `memdb` file system, up to 1 GiB), shared by all the store's
    ///   connections and gone with the store.
    /// - `postgres://...` (or `postgresql://...`): a PostgreSQL database.
    ///
    /// Must be called inside a Tokio runtime (the SQLite writer is a task).
    ///
    /// # Errors
    ///
    /// [`SqlError::UnsupportedScheme`] for another URL scheme,
    /// [`SqlError::BackendDisabled`] for a backend whose feature is off, and
    /// the database's or the migration's error when connecting or migrating
    /// fails.
    pub async fn connect(url: &str) -> Result<Self, SqlError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        let backend = match scheme {
            #[cfg(feature = "sqlite")]
            "sqlite" => Backend::Sqlite(sqlite::SqliteBackend::connect(url).await?),
            #[cfg(not(feature = "sqlite"))]
            "sqlite" => return Err(SqlError::BackendDisabled("sqlite")),
            #[cfg(feature = "postgres")]
            "postgres" | "postgresql" => Backend::Postgres(postgres::PostgresBackend::connect(url).await?),
            #[cfg(not(feature = "postgres"))]
            "postgres" | "postgresql" => return Err(SqlError::BackendDisabled("postgres")),
            _ => return Err(SqlError::UnsupportedScheme(scheme.to_owned())),
        };
        Ok(Self {
            backend: Arc::new(backend),
            clients: Arc::new(clients::ClientCache::new(clients::DEFAULT_TTL)),
        })
    }

    /// Sets how long a client found by a lookup is kept in memory (default
    /// 5 s; `Duration::ZERO` reads every lookup from the database).
    ///
    /// Every token and introspection request looks its client up; the cache
    /// spares it a query. A client written with
    /// [`upsert_client`](Self::upsert_client) on this store (or a clone) is
    /// seen at once; a change made by another process sharing the database
    /// is seen once the entry expires. Unknown client ids are never cached.
    /// Clones share the cache, so set it before cloning the store.
    #[must_use]
    pub fn with_client_cache(mut self, ttl: Duration) -> Self {
        self.clients = Arc::new(clients::ClientCache::new(ttl));
        self
    }

    /// Adds a client or replaces the one with the same `client_id`.
    ///
    /// # Errors
    ///
    /// The database's error.
    pub async fn upsert_client(&self, client: &ClientRecord) -> Result<(), SqlError> {
        let row = rows::client_to_row(client)?;
        let written = dispatch!(self.upsert_client(row));
        // Also on failure: the write may have committed before the error.
        self.clients.invalidate(client.client_id());
        written
    }

    /// Adds a user or replaces the one with the same subject.
    ///
    /// # Errors
    ///
    /// The database's error, including a unique violation when the username
    /// belongs to another subject.
    pub async fn upsert_user(&self, user: &UserRecord) -> Result<(), SqlError> {
        dispatch!(self.upsert_user(user))
    }

    /// Deletes authorization codes expired at `now` and tokens whose access
    /// token and refresh token (if any) have both expired, tombstones of
    /// long-revoked token families, and failure counts (see
    /// [`FailureStore`]) whose window or lock-out has passed; returns how
    /// many rows were deleted.
    ///
    /// # Errors
    ///
    /// The database's error.
    pub async fn purge_expired(&self, now: UnixTime) -> Result<u64, SqlError> {
        dispatch!(self.purge_expired(now))
    }

    /// Runs [`purge_expired`](Self::purge_expired) now and then every
    /// `every`, on a Tokio task. The task holds no strong reference: it ends
    /// by itself once the store is dropped (or abort the returned handle).
    /// Failures are logged with `tracing`.
    pub fn spawn_purge_task(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let backend: Weak<Backend> = Arc::downgrade(&self.backend);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(backend) = backend.upgrade() else { break };
                let store = Self {
                    backend,
                    clients: Arc::new(clients::ClientCache::new(Duration::ZERO)),
                };
                match store.purge_expired(oauth_runtime::now()).await {
                    Ok(purged) => tracing::debug!(purged, "purged expired codes and tokens"),
                    Err(SqlError::Closed) => break,
                    Err(error) => tracing::warn!(%error, "purging expired codes and tokens failed"),
                }
            }
        })
    }

    /// The published id_token signing keys (OpenID Connect), newest first.
    ///
    /// # Errors
    ///
    /// The database's error, or [`SqlError::Corrupt`] for a key that cannot
    /// be read.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKey>, SqlError> {
        let keys = dispatch!(self.signing_keys())?;
        Ok(keys.into_iter().map(|(key, _)| key).collect())
    }

    /// Stores a signing key, created at `now`; storing one twice is a no-op.
    /// The private key is stored as PKCS#8 PEM: protect the database.
    ///
    /// # Errors
    ///
    /// The database's error.
    pub async fn add_signing_key(&self, key: &SigningKey, now: UnixTime) -> Result<(), SqlError> {
        dispatch!(self.insert_signing_key(rows::signing_key_to_row(key, now)))
    }

    /// Stops publishing the key `kid` (at `now`).
    ///
    /// # Errors
    ///
    /// The database's error.
    pub async fn retire_signing_key(&self, kid: &str, now: UnixTime) -> Result<(), SqlError> {
        dispatch!(self.retire_signing_key(kid, now))
    }

    /// The key ring of the stored keys, first generating and storing a key
    /// for `alg` when none is published: what a server calls on start. The
    /// newest key of each algorithm signs.
    ///
    /// Servers sharing the database may call it at the same time on an empty
    /// database: creating the first key is atomic (SQLite's one writer; a
    /// Postgres advisory lock), so exactly one key is stored and every server
    /// gets it. Servers that share a database should also keep their ring
    /// up to date with [`spawn_key_refresh`](Self::spawn_key_refresh).
    ///
    /// # Errors
    ///
    /// The database's error, or [`SqlError::Key`] when generating fails.
    pub async fn load_or_generate_keys(&self, alg: SigningAlg) -> Result<KeyRing, SqlError> {
        let mut keys = self.signing_keys().await?;
        if !keys.iter().any(|k| k.alg() == alg) {
            let key = SigningKey::generate(alg)?;
            let row = rows::signing_key_to_row(&key, oauth_runtime::now());
            if dispatch!(self.insert_first_signing_key(row))? {
                tracing::info!(
                    kid = key.kid(),
                    alg = alg.as_str(),
                    "generated a new id_token signing key"
                );
            }
            // Ours, or the one another server stored first.
            keys = self.signing_keys().await?;
        }
        Ok(KeyRing::new(keys))
    }

    /// Every public client (no secret): their redirect URIs' origins are
    /// the ones browsers may call the endpoints from (CORS).
    ///
    /// # Errors
    ///
    /// The database's error, or [`SqlError::Corrupt`] for a row that cannot be read.
    pub async fn public_clients(&self) -> Result<Vec<ClientRecord>, SqlError> {
        dispatch!(self.public_clients())
    }

    /// The shared secret named `name`: the stored one, or a new random one
    /// (256 bits from the OS) stored first. Every instance sharing the
    /// database gets the same value, also when several start at once (the
    /// first insert wins; the others read it). The example server keeps the
    /// key of its login form's CSRF tokens here.
    ///
    /// # Errors
    ///
    /// The database's error, or [`SqlError::Corrupt`] when generating the
    /// random value fails.
    pub async fn shared_secret(&self, name: &str) -> Result<String, SqlError> {
        if let Some(value) = dispatch!(self.secret(name))? {
            return Ok(value);
        }
        let fresh = oauth_runtime::NewToken::generate()
            .map_err(|e| SqlError::corrupt("server_secrets.value", e))?
            .into_value();
        dispatch!(self.insert_secret(name, &fresh, oauth_runtime::now()))?;
        dispatch!(self.secret(name))?
            .ok_or_else(|| SqlError::corrupt("server_secrets.value", "missing right after its insert"))
    }

    /// Reads the published keys again and puts them in `ring` (every clone
    /// of it sees them; see [`KeyRing::replace`]): keys added to the database
    /// by any server are published and retired ones are gone.
    ///
    /// A key stored less than `publish_delay` ago is published but does not
    /// sign yet (unless every key of its algorithm is that new: then the
    /// oldest of them signs, a first key at once). Servers sharing
    /// the database refresh every `publish_delay`
    /// ([`spawn_key_refresh`](Self::spawn_key_refresh)), so by the time a key
    /// signs, every one of them publishes it. Key ages are read against this
    /// server's clock: the servers' clocks must agree (to a second or so).
    ///
    /// # Errors
    ///
    /// The database's error, or [`SqlError::Corrupt`] for a key that cannot
    /// be read; `ring` is then left as it was.
    pub async fn refresh_keys(&self, ring: &KeyRing, publish_delay: Duration) -> Result<(), SqlError> {
        let keys = dispatch!(self.signing_keys())?;
        // Whole seconds, rounded up: `created_at` has whole seconds only.
        let delay = i64::try_from(publish_delay.as_secs() + u64::from(publish_delay.subsec_nanos() > 0))
            .unwrap_or(i64::MAX);
        let now = oauth_runtime::now();
        let pending: Vec<String> = keys
            .iter()
            .filter(|(_, created_at)| now.saturating_sub(*created_at) <= delay)
            .map(|(key, _)| key.kid().to_owned())
            .collect();
        ring.replace(keys.into_iter().map(|(key, _)| key), pending);
        Ok(())
    }

    /// Runs [`refresh_keys`](Self::refresh_keys) with `every` as the publish
    /// delay, now and then every `every`, on a Tokio task: a server sharing
    /// its database with others publishes the keys any of them adds and
    /// drops the ones any of them retires within `every`, and signs only with
    /// a key every one of them publishes. Give every server the same `every`.
    ///
    /// Like [`spawn_purge_task`](Self::spawn_purge_task), the task holds no
    /// strong reference: it ends once the store is dropped (or abort the
    /// returned handle). Failures are logged with `tracing`; the ring keeps
    /// its keys until the next refresh succeeds.
    pub fn spawn_key_refresh(&self, ring: KeyRing, every: Duration) -> tokio::task::JoinHandle<()> {
        let backend: Weak<Backend> = Arc::downgrade(&self.backend);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(backend) = backend.upgrade() else { break };
                let store = Self {
                    backend,
                    clients: Arc::new(clients::ClientCache::new(Duration::ZERO)),
                };
                match store.refresh_keys(&ring, every).await {
                    Ok(()) => {}
                    Err(SqlError::Closed) => break,
                    Err(error) => tracing::warn!(%error, "reading the signing keys again failed"),
                }
            }
        })
    }

    /// Checks that the database answers a trivial query (`SELECT 1`): what
    /// a readiness probe asks (the example server's `GET /readyz`).
    ///
    /// # Errors
    ///
    /// [`SqlError::Unavailable`] when it cannot be reached (with Postgres,
    /// within a few seconds: the pool's acquire time-out),
    /// [`SqlError::Closed`] after [`close`](Self::close), or the database's
    /// error.
    pub async fn ping(&self) -> Result<(), SqlError> {
        dispatch!(self.ping())
    }

    /// Finishes the writes already queued, then closes every connection.
    /// Afterwards every call (on any clone) fails with [`SqlError::Closed`].
    pub async fn close(&self) {
        dispatch!(self.close())
    }
}

/// Failed authentications counted in the database (table `auth_failures`),
/// so that every server sharing it shares the failure budgets: give the
/// limiters the store with
/// [`AuthFailureLimiter::with_store`](oauth_runtime::throttle::AuthFailureLimiter::with_store)
/// and [`PasswordBudgets::with_store`](oauth_runtime::throttle::PasswordBudgets::with_store).
///
/// A failure is one atomic upsert (SQLite: through the writer; Postgres:
/// one statement that takes the row's lock), so failures recorded at once
/// by several servers each count, and the one that reaches the limit gets
/// the lock-out back. Reading the locked keys is one indexed query.
/// [`purge_expired`](SqlStore::purge_expired) deletes the counts whose
/// window or lock-out has passed.
///
/// ```no_run
/// # async fn run() -> Result<(), granted::sql::SqlError> {
/// use std::sync::Arc;
/// use granted::sql::SqlStore;
/// use granted::throttle::{AuthFailureLimit, AuthFailureLimiter, FailureScope, PasswordBudgets};
///
/// let store = SqlStore::connect("postgres://granted@db.internal/granted").await?;
/// let shared = Arc::new(store.clone());
/// let clients = AuthFailureLimiter::new(AuthFailureLimit::default())
///     .with_store(FailureScope::CLIENT_ID, shared.clone());
/// let budgets = PasswordBudgets::default().with_store(shared);
/// # let _ = (clients, budgets);
/// # Ok(())
/// # }
/// ```
impl FailureStore for SqlStore {
    fn record_failure(
        &self,
        scope: FailureScope,
        key: TokenHash,
        limit: AuthFailureLimit,
        now_ms: i64,
    ) -> FailureFuture<'_, Option<i64>> {
        let row = rows::AuthFailureRow::new(scope, key, &limit, now_ms);
        Box::pin(async move { Ok(dispatch!(self.record_auth_failure(row))?) })
    }

    fn locked(
        &self,
        scope: FailureScope,
        now_ms: i64,
        max: usize,
    ) -> FailureFuture<'_, Vec<(TokenHash, i64)>> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        Box::pin(async move { Ok(dispatch!(self.locked_auth_failures(scope.as_str(), now_ms, max))?) })
    }
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &*self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
        };
        f.debug_struct("SqlStore").field("backend", &backend).finish()
    }
}

impl Storage for SqlStore {
    type Client = ClientRecord;
    type Token = TokenRecord;
    type Error = SqlError;

    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, SqlError> {
        if let Some(client) = self.clients.get(client_id) {
            return Ok(Some(client));
        }
        let ticket = self.clients.ticket();
        let client = dispatch!(self.client(client_id))?;
        if let Some(client) = &client {
            self.clients.insert(ticket, client);
        }
        Ok(client)
    }

    async fn save_token(&self, token: TokenRecord) -> Result<(), SqlError> {
        dispatch!(self.save_token(token))
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, SqlError> {
        dispatch!(self.access_token(hash))
    }

    async fn revoke_token_family(&self, family: &str) -> Result<(), SqlError> {
        dispatch!(self.revoke_token_family(family))
    }
}

impl CodeStorage for SqlStore {
    type Code = CodeRecord;

    async fn save_code(&self, code: CodeRecord) -> Result<(), SqlError> {
        dispatch!(self.save_code(code))
    }

    async fn take_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, SqlError> {
        dispatch!(self.take_code(hash))
    }
}

impl RefreshStorage for SqlStore {
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, SqlError> {
        dispatch!(self.refresh_token(hash))
    }

    async fn rotate_refresh_token(&self, old: &TokenHash, new: TokenRecord) -> Result<bool, SqlError> {
        dispatch!(self.rotate_refresh_token(old, new))
    }
}

impl UserStorage for SqlStore {
    type User = UserRecord;

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, SqlError> {
        dispatch!(self.user_by_username(username))
    }
}

impl SessionStorage for SqlStore {
    async fn start_session(
        &self,
        id: &TokenHash,
        session: LoginSession,
        previous: Option<&TokenHash>,
    ) -> Result<(), SqlError> {
        dispatch!(self.start_session(id, session, previous))
    }

    async fn session(&self, id: &TokenHash, now: UnixTime) -> Result<Option<LoginSession>, SqlError> {
        dispatch!(self.session(id, now))
    }

    async fn add_consent(&self, id: &TokenHash, client_id: &str, scope: &Scope) -> Result<(), SqlError> {
        dispatch!(self.add_consent(id, client_id, scope))
    }

    async fn end_session(&self, id: &TokenHash) -> Result<(), SqlError> {
        dispatch!(self.end_session(id))
    }
}

impl PushedRequestStorage for SqlStore {
    async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), SqlError> {
        dispatch!(self.save_pushed_request(request))
    }

    async fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, SqlError> {
        dispatch!(self.take_pushed_request(request_uri, client_id))
    }
}

impl DeviceStorage for SqlStore {
    async fn save_device_authorization(&self, authorization: DeviceAuthorization) -> Result<(), SqlError> {
        dispatch!(self.save_device_authorization(authorization))
    }

    async fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        dispatch!(self.device_authorization(device_code))
    }

    async fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        dispatch!(self.device_authorization_by_user_code(user_code))
    }

    async fn record_device_poll(
        &self,
        device_code: &TokenHash,
        polled_at: UnixTime,
        interval: i64,
    ) -> Result<(), SqlError> {
        dispatch!(self.record_device_poll(device_code, polled_at, interval))
    }

    async fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> Result<bool, SqlError> {
        dispatch!(self.decide_device_authorization(user_code, status))
    }

    async fn take_device_authorization(
        &self,
        device_code: &TokenHash,
        client_id: &str,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        dispatch!(self.take_device_authorization(device_code, client_id))
    }
}

impl AssertionStorage for SqlStore {
    async fn record_assertion_jti(&self, jti: &TokenHash, expires_at: UnixTime) -> Result<bool, SqlError> {
        dispatch!(self.record_assertion_jti(jti, expires_at))
    }
}

impl DeclaredStorage for SqlStore {
    fn declare<V: StorageVisitor<Self>>(visitor: &mut V) {
        visitor.codes();
        visitor.refresh_tokens();
        visitor.sessions();
        visitor.pushed_requests();
        visitor.assertion_ids();
        visitor.dpop_proofs();
        visitor.device_authorizations();
    }
}

impl ClaimsStorage for SqlStore {
    async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, SqlError> {
        dispatch!(self.user_claims(subject))
    }
}

/// DPoP proofs in `dpop_proofs`: one atomic insert each, so a proof
/// replayed to any instance sharing the database is refused.
impl oauth_runtime::storage::DpopStorage for SqlStore {
    async fn use_dpop_proof(&self, key: &TokenHash, until: UnixTime) -> Result<bool, SqlError> {
        dispatch!(self.use_dpop_proof(key, until))
    }
}
