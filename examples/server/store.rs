//! The example's storage, written with the DSL as a user would: one
//! `#[granted::server]` impl whose methods delegate to the in-memory store or
//! to SQL (SQLite or Postgres), chosen by `--db`.

use std::sync::Arc;
use std::time::Duration;

use granted::sql::{SqlError, SqlStore, redact_password, redact_url};
use granted::storage::{
    AssertionStorage as _, ClaimsStorage as _, CodeStorage as _, DeviceStorage as _, DpopStorage as _,
    PushedRequestStorage as _, RefreshStorage as _, SessionStorage, Storage as _, UserStorage as _,
};
use granted::throttle::FailureStore;
use granted::{
    ClientRecord, CodeRecord, DeviceAuthorization, DeviceStatus, KeyRing, LoginSession, MemoryStore,
    MemoryStoreError, NewToken, PushedRequest, Scope, SigningAlg, SigningKey, TokenHash, TokenRecord,
    UnixTime, UserClaims, UserRecord,
};

/// Where the data lives.
pub enum Backend {
    /// `--db memory`: nothing persisted.
    Memory(Box<MemoryStore>),
    /// SQLite or Postgres.
    Sql(SqlStore),
}

/// The example server's storage.
pub struct ExampleStore {
    backend: Backend,
    /// Postgres: other instances may share the database (and the keys).
    shared: bool,
}

/// A failure of either backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Memory(#[from] MemoryStoreError),
    #[error(transparent)]
    Sql(#[from] SqlError),
}

/// Calls the same storage method on whichever backend is in use.
macro_rules! delegate {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Memory(store) => store.$method($($arg),*).await.map_err(StoreError::from),
            Backend::Sql(store) => store.$method($($arg),*).await.map_err(StoreError::from),
        }
    };
}

impl ExampleStore {
    /// Opens the backend named by `--db`.
    pub async fn open(db: &str) -> Result<Self, String> {
        let backend = if db == "memory" {
            Backend::Memory(Box::new(MemoryStore::new()))
        } else {
            Backend::Sql(SqlStore::connect(db).await.map_err(|e| open_error(db, &e))?)
        };
        let shared = db.starts_with("postgres:") || db.starts_with("postgresql:");
        Ok(Self { backend, shared })
    }

    /// Adds or replaces a client.
    pub async fn upsert_client(&self, client: ClientRecord) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(store) => store.add_client(client),
            Backend::Sql(store) => store.upsert_client(&client).await?,
        }
        Ok(())
    }

    /// Adds or replaces a user.
    pub async fn upsert_user(&self, user: UserRecord) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(store) => store.add_user(user),
            Backend::Sql(store) => store.upsert_user(&user).await?,
        }
        Ok(())
    }

    /// The id_token signing keys: kept in the database (generated on the
    /// first start), or fresh on every start with `--db memory`. `rotate`
    /// adds a new key that signs from now on (on Postgres, once every
    /// instance publishes it: see [`Self::follow_shared_keys`]); older keys
    /// stay published.
    pub async fn signing_keys(&self, alg: SigningAlg, rotate: bool) -> Result<KeyRing, String> {
        let generate = || SigningKey::generate(alg).map_err(|e| e.to_string());
        match &self.backend {
            Backend::Memory(_) => Ok(KeyRing::new([generate()?])),
            Backend::Sql(store) => {
                if rotate {
                    let key = generate()?;
                    store
                        .add_signing_key(&key, granted::now())
                        .await
                        .map_err(|e| e.to_string())?;
                    tracing::info!(kid = key.kid(), "rotated the id_token signing key");
                }
                store.load_or_generate_keys(alg).await.map_err(|e| e.to_string())
            }
        }
    }

    /// Every public client (for the CORS origins).
    pub async fn public_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        Ok(match &self.backend {
            Backend::Memory(store) => store.public_clients(),
            Backend::Sql(store) => store.public_clients().await?,
        })
    }

    /// A secret shared by every instance on the database (created by the
    /// first); with `--db memory`, a new one on every start.
    pub async fn shared_secret(&self, name: &str) -> Result<String, String> {
        match &self.backend {
            Backend::Memory(_) => NewToken::generate()
                .map(NewToken::into_value)
                .map_err(|e| e.to_string()),
            Backend::Sql(store) => store.shared_secret(name).await.map_err(|e| e.to_string()),
        }
    }

    /// On a database other instances may share (Postgres): reads the keys
    /// again now and then every `every` (see `SqlStore::spawn_key_refresh`),
    /// so that `ring` publishes what any instance adds or retires, and signs
    /// only with keys stored for longer than `every` (published by every
    /// instance by then). A SQLite file or memory has one instance: nothing
    /// to follow, a rotated key signs at once.
    pub async fn follow_shared_keys(&self, ring: &KeyRing, every: Duration) -> Result<(), String> {
        let Backend::Sql(store) = &self.backend else {
            return Ok(());
        };
        if !self.shared {
            return Ok(());
        }
        store.refresh_keys(ring, every).await.map_err(|e| e.to_string())?;
        store.spawn_key_refresh(ring.clone(), every);
        Ok(())
    }

    /// Where failed authentications are counted for every instance sharing
    /// the database (client ids, usernames, source addresses); `None` for
    /// `--db memory`, which counts in the process only.
    pub fn failure_store(&self) -> Option<Arc<dyn FailureStore>> {
        match &self.backend {
            Backend::Memory(_) => None,
            Backend::Sql(store) => Some(Arc::new(store.clone())),
        }
    }

    /// Whether the storage answers (`/readyz`); the in-memory one always does.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Sql(store) => Ok(store.ping().await?),
        }
    }

    /// Removes expired codes and tokens.
    pub async fn purge_expired(&self) -> Result<(), StoreError> {
        let now = granted::now();
        match &self.backend {
            Backend::Memory(store) => store.purge_expired(now),
            Backend::Sql(store) => {
                store.purge_expired(now).await?;
            }
        }
        Ok(())
    }
}

/// The one-line start-up error for `--db URL`: never with the password,
/// and for a backend this build leaves out, the cargo command that has it.
fn open_error(db: &str, error: &SqlError) -> String {
    let shown = redact_url(db);
    match error {
        SqlError::BackendDisabled(feature) => {
            let scheme = db.split_once(':').map_or(*feature, |(scheme, _)| scheme);
            format!(
                "--db {shown}: this build has no {feature} backend; build the example with it: \
                 cargo run --release --features {feature} --example server -- --db {scheme}://..."
            )
        }
        error => format!("--db {shown}: {}", redact_password(&error.to_string(), db)),
    }
}

/// Login sessions live in the storage: with a shared database every
/// instance honours a session made on any of them.
impl SessionStorage for ExampleStore {
    async fn start_session(
        &self,
        id: &TokenHash,
        session: LoginSession,
        previous: Option<&TokenHash>,
    ) -> Result<(), StoreError> {
        delegate!(self.start_session(id, session, previous))
    }

    async fn session(&self, id: &TokenHash, now: UnixTime) -> Result<Option<LoginSession>, StoreError> {
        delegate!(self.session(id, now))
    }

    async fn add_consent(&self, id: &TokenHash, client_id: &str, scope: &Scope) -> Result<(), StoreError> {
        delegate!(self.add_consent(id, client_id, scope))
    }

    async fn end_session(&self, id: &TokenHash) -> Result<(), StoreError> {
        delegate!(self.end_session(id))
    }
}

#[granted::server(
    client = ClientRecord,
    token = TokenRecord,
    code = CodeRecord,
    user = UserRecord,
    grants(
        authorization_code(pkce = "S256"),
        refresh_token(rotate = true),
        client_credentials,
        password(allow_insecure),
        device_code,
    ),
    access_token_ttl = "1h",
    refresh_token_ttl = "30d",
    code_ttl = "60s",
    scopes = "openid profile email read write",
    openid(signing = "RS256"),
    par,
    client_auth(private_key_jwt),
    dpop,
)]
impl ExampleStore {
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        delegate!(self.client(client_id))
    }

    async fn save_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        delegate!(self.save_token(token))
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        delegate!(self.access_token(hash))
    }

    async fn revoke_token_family(&self, family: &str) -> Result<(), StoreError> {
        delegate!(self.revoke_token_family(family))
    }

    async fn save_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        delegate!(self.save_code(code))
    }

    async fn take_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        delegate!(self.take_code(hash))
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        delegate!(self.refresh_token(hash))
    }

    async fn rotate_refresh_token(&self, old: &TokenHash, new: TokenRecord) -> Result<bool, StoreError> {
        delegate!(self.rotate_refresh_token(old, new))
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        delegate!(self.user_by_username(username))
    }

    async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, StoreError> {
        delegate!(self.user_claims(subject))
    }

    async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), StoreError> {
        delegate!(self.save_pushed_request(request))
    }

    async fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, StoreError> {
        delegate!(self.take_pushed_request(request_uri, client_id))
    }

    async fn record_assertion_jti(&self, jti: &TokenHash, expires_at: i64) -> Result<bool, StoreError> {
        delegate!(self.record_assertion_jti(jti, expires_at))
    }
    async fn use_dpop_proof(&self, key: &TokenHash, until: i64) -> Result<bool, StoreError> {
        delegate!(self.use_dpop_proof(key, until))
    }

    async fn save_device_authorization(&self, authorization: DeviceAuthorization) -> Result<(), StoreError> {
        delegate!(self.save_device_authorization(authorization))
    }

    async fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        delegate!(self.device_authorization(device_code))
    }

    async fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        delegate!(self.device_authorization_by_user_code(user_code))
    }

    async fn record_device_poll(
        &self,
        device_code: &TokenHash,
        polled_at: i64,
        interval: i64,
    ) -> Result<(), StoreError> {
        delegate!(self.record_device_poll(device_code, polled_at, interval))
    }

    async fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> Result<bool, StoreError> {
        delegate!(self.decide_device_authorization(user_code, status))
    }

    async fn take_device_authorization(
        &self,
        device_code: &TokenHash,
        client_id: &str,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        delegate!(self.take_device_authorization(device_code, client_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_errors_never_show_the_password() {
        let url = "postgres://granted:hunter2@127.0.0.1:1/granted";
        let cause = SqlError::UnsupportedScheme(format!("{url} (hunter2)"));
        let message = open_error(url, &cause);
        assert!(!message.contains("hunter2"), "{message}");
        assert!(
            message.starts_with("--db postgres://granted:***@127.0.0.1:1/granted: "),
            "{message}"
        );
        assert!(message.contains("(***)"), "{message}");
    }

    #[test]
    fn a_missing_backend_names_the_cargo_command() {
        let url = "postgres://granted:hunter2@db.internal/granted";
        let message = open_error(url, &SqlError::BackendDisabled("postgres"));
        assert!(!message.contains("hunter2"), "{message}");
        assert!(
            message
                .contains("cargo run --release --features postgres --example server -- --db postgres://..."),
            "{message}"
        );
        assert!(!message.contains('\n'));
    }

    /// The example's store follows the storage rules on both backends: those
    /// of its declared grants, and those of the login sessions it implements
    /// itself.
    #[cfg(feature = "testing")]
    #[tokio::test(flavor = "multi_thread")]
    async fn the_example_store_follows_the_storage_rules() {
        for db in ["memory", "sqlite::memory:"] {
            let report = granted::testing::StorageKit::new(|| async {
                ExampleStore::open(db).await.expect("the example store")
            })
            .declared()
            .sessions()
            .run()
            .await;
            assert!(report.passed(), "--db {db}: {report}");
            // Every rule, the sessions' last (added after the declared ones).
            let all = granted::testing::Rule::ALL;
            assert_eq!(report.held().len(), all.len(), "{report}");
            assert!(all.iter().all(|rule| report.held().contains(rule)), "{report}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_database_is_a_redacted_one_line_error() {
        // Port 1 on the loopback: nothing listens there.
        let url = "postgres://granted:hunter2@127.0.0.1:1/granted";
        let Err(message) = ExampleStore::open(url).await else {
            panic!("connected to a closed port");
        };
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("granted:***@"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}
