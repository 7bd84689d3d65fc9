//! The SQLite backend: one writer task (see [`super::writer`]) and a small
//! pool of read-only connections.
//!
//! Files run in WAL mode with `synchronous = NORMAL`: readers never wait for
//! the writer, and a commit appends to the WAL without syncing the main file.
//! `sqlite::memory:` is one database of SQLite's `memdb` file system, under
//! a name of its own, opened in shared-cache mode so that the writer and
//! every reader see the same data (SQLite's unlock notification makes a
//! reader wait for a commit instead of failing with `SQLITE_LOCKED`); it
//! lives as long as the writer's connection. Not SQLite's own `:memory:`
//! database: that one keeps every page in the page cache, and the cache is
//! walked at the end of every transaction, so each commit costs more as the
//! database grows (see `memory_options`).

use std::str::FromStr as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, SqliteConnection, SqlitePool};

use oauth_runtime::{
    ClientRecord, CodeRecord, DeviceAuthorization, DeviceStatus, LoginSession, PushedRequest, Scope,
    SigningKey, TokenHash, TokenRecord, UserClaims, UserRecord,
};

use super::SqlError;
use super::checkpoint::{self, Checkpointer};
use super::migrations;
use super::rows::{AuthFailureRow, ClientRow, SigningKeyRow};
use super::writer::{Command, NewSession, WriterHandle};

/// How long a statement waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The statements, for SQLite connections.
pub(super) mod statements {
    crate::sql::ops::shared_ops!(sqlx::Sqlite);
    crate::sql::sessions::session_ops!(sqlx::Sqlite);
    crate::sql::extensions::extension_ops!(sqlx::Sqlite);
    crate::sql::device::device_ops!(sqlx::Sqlite);

    /// Marks the token holding refresh token `old` as rotated and stores
    /// `new`, both or neither (a savepoint inside the writer's transaction).
    /// `false`, storing nothing, when `old` is unknown or already rotated.
    pub(crate) async fn rotate(
        connection: &mut sqlx::SqliteConnection,
        old: &TokenHash,
        new: &TokenRecord,
    ) -> Result<bool, SqlError> {
        use sqlx::Connection as _;

        let mut savepoint = connection.begin().await?;
        let marked = sqlx::query(sql::MARK_ROTATED)
            .bind(old.as_bytes().as_slice())
            .execute(&mut *savepoint)
            .await?
            .rows_affected();
        if marked == 0 {
            savepoint.commit().await?;
            return Ok(false);
        }
        match save_token(&mut savepoint, new).await {
            Ok(()) => {
                savepoint.commit().await?;
                Ok(true)
            }
            Err(error) => {
                savepoint.rollback().await?;
                Err(error)
            }
        }
    }

    /// Deletes every token of a family and leaves its tombstone, both or
    /// neither (a savepoint inside the writer's transaction).
    pub(crate) async fn revoke_token_family(
        connection: &mut sqlx::SqliteConnection,
        family: &str,
    ) -> Result<(), SqlError> {
        use sqlx::Connection as _;

        let mut savepoint = connection.begin().await?;
        sqlx::query(sql::DELETE_FAMILY)
            .bind(family)
            .execute(&mut *savepoint)
            .await?;
        sqlx::query(sql::TOMBSTONE_FAMILY)
            .bind(family)
            .bind(oauth_runtime::now())
            .execute(&mut *savepoint)
            .await?;
        savepoint.commit().await?;
        Ok(())
    }

    /// Stores a new token.
    pub(crate) async fn save_token(
        connection: &mut sqlx::SqliteConnection,
        token: &TokenRecord,
    ) -> Result<(), SqlError> {
        bind_token!(sqlx::query(sql::INSERT_TOKEN), token)
            .execute(connection)
            .await?;
        Ok(())
    }

    /// Stores several tokens with one multi-row `INSERT` (all or none).
    pub(crate) async fn insert_tokens(
        connection: &mut sqlx::SqliteConnection,
        tokens: &[&TokenRecord],
    ) -> Result<(), SqlError> {
        let mut query = sqlx::query(insert_tokens_sql(tokens.len()));
        for token in tokens {
            query = bind_token!(query, token);
        }
        query.execute(connection).await?;
        Ok(())
    }

    /// `INSERT INTO tokens ... VALUES (...), (...)` for `rows` rows, built once
    /// per size and kept (prepared statements are cached by their text).
    fn insert_tokens_sql(rows: usize) -> &'static str {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock, PoisonError};

        static BY_ROWS: OnceLock<Mutex<HashMap<usize, &'static str>>> = OnceLock::new();
        let mut by_rows = BY_ROWS
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        by_rows.entry(rows).or_insert_with(|| {
            // Anonymous `?` parameters, bound in order: for a numbered one
            // sqlx asks SQLite its name, a linear search of the statement's
            // parameter list, which makes binding N parameters cost N².
            let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; rows];
            // The tokens of revoked families (`family` is the sixth column)
            // are left out, as in `INSERT_TOKEN`.
            let sql = format!(
                "INSERT INTO tokens ({}) SELECT * FROM (VALUES {}) \
                 WHERE column6 NOT IN (SELECT family FROM revoked_families)",
                crate::sql::rows::token_columns!(),
                values.join(", ")
            );
            // At most the writer's chunk size (64) distinct sizes, each
            // leaked once.
            Box::leak(sql.into_boxed_str())
        })
    }

    /// Deletes expired codes and tokens; returns how many rows went.
    pub(crate) async fn purge(connection: &mut sqlx::SqliteConnection, now: i64) -> Result<u64, SqlError> {
        Ok(purge_codes(&mut *connection, now).await?
            + purge_tokens(&mut *connection, now).await?
            + purge_revoked_families(&mut *connection, now).await?
            + sessions::purge(&mut *connection, now).await?
            + sessions::purge_consents(&mut *connection).await?
            + purge_auth_failures(&mut *connection, now).await?
            + extensions::purge_pushed(&mut *connection, now).await?
            + extensions::purge_jtis(&mut *connection, now).await?
            + device::purge(&mut *connection, now).await?
            + purge_dpop_proofs(&mut *connection, now).await?)
    }
}

/// SQLite storage: writes through the writer task, reads through a pool.
#[derive(Debug)]
pub(super) struct SqliteBackend {
    pub(super) writer: WriterHandle,
    reads: SqlitePool,
    /// Files in WAL mode only (an in-memory database has no WAL).
    checkpointer: Option<Checkpointer>,
}

impl SqliteBackend {
    /// Opens (creating if missing) and migrates the database at `url`.
    pub(super) async fn connect(url: &str) -> Result<Self, SqlError> {
        Self::connect_with_checkpoints(url, checkpoint::Policy::default()).await
    }

    /// [`Self::connect`] with the given checkpoint policy (tests shorten it).
    pub(super) async fn connect_with_checkpoints(
        url: &str,
        policy: checkpoint::Policy,
    ) -> Result<Self, SqlError> {
        // Made once: for `sqlite::memory:` the options name the in-memory
        // database that every connection below must open.
        let in_memory = is_private_memory(url);
        let base = if in_memory {
            memory_options()
        } else {
            SqliteConnectOptions::from_str(url)?
        }
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .synchronous(SqliteSynchronous::Normal);
        let write = base
            .clone()
            .create_if_missing(true)
            // `memdb` has no WAL: its rollback journal is kept in memory.
            .journal_mode(if in_memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            // Checkpoints run beside the writer (see `checkpoint`).
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", policy.kept_bytes.to_string());
        let mut connection = SqliteConnection::connect_with(&write).await?;
        migrations::migrator(migrations::SQLITE)
            .run(&mut connection)
            .await?;
        let (journal_mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&mut connection)
            .await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(read_pool_size())
            .min_connections(0)
            // A ping is a round trip to the connection's thread for nothing.
            .test_before_acquire(false)
            .connect_with(base.clone().pragma("query_only", "ON"))
            .await?;
        let writer = WriterHandle::spawn(connection, write);
        let checkpointer = if journal_mode.eq_ignore_ascii_case("wal") {
            Some(Checkpointer::spawn(&base, writer.clone(), policy).await?)
        } else {
            None
        };
        Ok(Self {
            writer,
            reads,
            checkpointer,
        })
    }

    pub(super) async fn ping(&self) -> Result<(), SqlError> {
        sqlx::query("SELECT 1").execute(&self.reads).await?;
        Ok(())
    }

    pub(super) async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, SqlError> {
        statements::client(&self.reads, client_id).await
    }

    pub(super) async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, SqlError> {
        statements::access_token(&self.reads, hash).await
    }

    pub(super) async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, SqlError> {
        statements::refresh_token(&self.reads, hash).await
    }

    pub(super) async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, SqlError> {
        statements::user_by_username(&self.reads, username).await
    }

    pub(super) async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, SqlError> {
        statements::user_claims(&self.reads, subject).await
    }

    pub(super) async fn signing_keys(&self) -> Result<Vec<(SigningKey, i64)>, SqlError> {
        statements::signing_keys(&self.reads).await
    }

    /// Through the writer: one statement in a `BEGIN IMMEDIATE` transaction,
    /// which holds the database's write lock (other processes included).
    pub(super) async fn insert_first_signing_key(&self, row: SigningKeyRow) -> Result<bool, SqlError> {
        self.writer
            .call(|reply| Command::SaveFirstSigningKey(row, reply))
            .await
    }

    pub(super) async fn insert_signing_key(&self, row: SigningKeyRow) -> Result<(), SqlError> {
        self.writer
            .call(|reply| Command::SaveSigningKey(row, reply))
            .await
    }

    pub(super) async fn retire_signing_key(&self, kid: &str, now: i64) -> Result<(), SqlError> {
        let kid = kid.to_owned();
        self.writer
            .call(|reply| Command::RetireSigningKey(kid, now, reply))
            .await
    }

    pub(super) async fn public_clients(&self) -> Result<Vec<ClientRecord>, SqlError> {
        statements::public_clients(&self.reads).await
    }

    pub(super) async fn insert_secret(&self, name: &str, value: &str, now: i64) -> Result<(), SqlError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.writer
            .call(|reply| Command::SaveSecret(name, value, now, reply))
            .await
    }

    pub(super) async fn secret(&self, name: &str) -> Result<Option<String>, SqlError> {
        statements::secret(&self.reads, name).await
    }

    /// Through the writer: the one statement is atomic, and the writer's
    /// `BEGIN IMMEDIATE` holds the database's write lock against other
    /// processes sharing the file.
    pub(super) async fn record_auth_failure(&self, row: AuthFailureRow) -> Result<Option<i64>, SqlError> {
        self.writer
            .call(|reply| Command::RecordAuthFailure(row, reply))
            .await
    }

    pub(super) async fn locked_auth_failures(
        &self,
        scope: &str,
        now_ms: i64,
        max: i64,
    ) -> Result<Vec<(TokenHash, i64)>, SqlError> {
        statements::locked_auth_failures(&self.reads, scope, now_ms, max).await
    }

    pub(super) async fn save_token(&self, token: TokenRecord) -> Result<(), SqlError> {
        self.writer.call(|reply| Command::SaveToken(token, reply)).await
    }

    pub(super) async fn revoke_token_family(&self, family: &str) -> Result<(), SqlError> {
        let family = family.to_owned();
        self.writer
            .call(|reply| Command::RevokeFamily(family, reply))
            .await
    }

    pub(super) async fn save_code(&self, code: CodeRecord) -> Result<(), SqlError> {
        self.writer.call(|reply| Command::SaveCode(code, reply)).await
    }

    pub(super) async fn take_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, SqlError> {
        let hash = *hash;
        self.writer.call(|reply| Command::TakeCode(hash, reply)).await
    }

    pub(super) async fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        new: TokenRecord,
    ) -> Result<bool, SqlError> {
        let old = *old;
        self.writer.call(|reply| Command::Rotate(old, new, reply)).await
    }

    pub(super) async fn upsert_client(&self, row: ClientRow) -> Result<(), SqlError> {
        self.writer.call(|reply| Command::UpsertClient(row, reply)).await
    }

    pub(super) async fn upsert_user(&self, user: &UserRecord) -> Result<(), SqlError> {
        let user = user.clone();
        self.writer.call(|reply| Command::UpsertUser(user, reply)).await
    }

    pub(super) async fn start_session(
        &self,
        id: &TokenHash,
        session: LoginSession,
        previous: Option<&TokenHash>,
    ) -> Result<(), SqlError> {
        let new = Box::new(NewSession {
            id: *id,
            session,
            previous: previous.copied(),
        });
        self.writer.call(|reply| Command::StartSession(new, reply)).await
    }

    pub(super) async fn session(&self, id: &TokenHash, now: i64) -> Result<Option<LoginSession>, SqlError> {
        let Some(mut session) = statements::sessions::select(&self.reads, id, now).await? else {
            return Ok(None);
        };
        session.consents = statements::sessions::consents(&self.reads, id).await?;
        Ok(Some(session))
    }

    pub(super) async fn add_consent(
        &self,
        id: &TokenHash,
        client_id: &str,
        scope: &Scope,
    ) -> Result<(), SqlError> {
        let (id, client_id, scope) = (*id, client_id.to_owned(), scope.clone());
        self.writer
            .call(|reply| Command::AddConsent(id, client_id, scope, reply))
            .await
    }

    pub(super) async fn end_session(&self, id: &TokenHash) -> Result<(), SqlError> {
        let id = *id;
        self.writer.call(|reply| Command::EndSession(id, reply)).await
    }

    pub(super) async fn use_dpop_proof(&self, key: &TokenHash, until: i64) -> Result<bool, SqlError> {
        let key = *key;
        self.writer
            .call(|reply| Command::UseDpopProof(key, until, reply))
            .await
    }

    pub(super) async fn purge_expired(&self, now: i64) -> Result<u64, SqlError> {
        self.writer.call(|reply| Command::Purge(now, reply)).await
    }

    pub(super) async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), SqlError> {
        self.writer
            .call(|reply| Command::SavePushed(request, reply))
            .await
    }

    pub(super) async fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, SqlError> {
        let (request_uri, client_id) = (*request_uri, client_id.to_owned());
        self.writer
            .call(|reply| Command::TakePushed(request_uri, client_id, reply))
            .await
    }

    pub(super) async fn record_assertion_jti(
        &self,
        jti: &TokenHash,
        expires_at: i64,
    ) -> Result<bool, SqlError> {
        let jti = *jti;
        self.writer
            .call(|reply| Command::RecordJti(jti, expires_at, reply))
            .await
    }

    pub(super) async fn save_device_authorization(
        &self,
        device: DeviceAuthorization,
    ) -> Result<(), SqlError> {
        let device = Box::new(device);
        self.writer.call(|reply| Command::SaveDevice(device, reply)).await
    }

    pub(super) async fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        statements::device::select(&self.reads, device_code).await
    }

    pub(super) async fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        statements::device::select_by_user_code(&self.reads, user_code).await
    }

    pub(super) async fn record_device_poll(
        &self,
        device_code: &TokenHash,
        polled_at: i64,
        interval: i64,
    ) -> Result<(), SqlError> {
        let device_code = *device_code;
        self.writer
            .call(|reply| Command::RecordDevicePoll(device_code, polled_at, interval, reply))
            .await
    }

    pub(super) async fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> Result<bool, SqlError> {
        let user_code = *user_code;
        self.writer
            .call(|reply| Command::DecideDevice(user_code, status, reply))
            .await
    }

    pub(super) async fn take_device_authorization(
        &self,
        device_code: &TokenHash,
        client_id: &str,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        let (device_code, client_id) = (*device_code, client_id.to_owned());
        self.writer
            .call(|reply| Command::TakeDevice(device_code, client_id, reply))
            .await
    }

    pub(super) async fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.close().await;
        }
        self.writer.close().await;
        self.reads.close().await;
    }
}

/// Whether `url` asks for the store's own in-memory database.
fn is_private_memory(url: &str) -> bool {
    matches!(url, "sqlite::memory:" | "sqlite://:memory:")
}

/// A new database of SQLite's `memdb` file system: its pages live in the
/// file system's memory, and the page cache in front of them keeps its
/// usual bounded size. (`:memory:` keeps every page in the cache, and the
/// end of every transaction truncates the cache by walking its whole hash
/// table, `pcache1TruncateUnsafe`: every commit there costs more as the
/// database grows; see BENCHMARKS.md.) A name starting with `/` is shared by
/// the process's connections; the counter makes it the store's own. `memdb`
/// caps a database at 1 GiB (then writes fail with `SQLITE_FULL`).
fn memory_options() -> SqliteConnectOptions {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    SqliteConnectOptions::new()
        .filename(format!("/granted-memory-{n}"))
        .vfs("memdb")
        .shared_cache(true)
}

/// Readers for the machine: 2 to 4 connections.
fn read_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    u32::try_from(cores.clamp(2, 4)).unwrap_or(2)
}
