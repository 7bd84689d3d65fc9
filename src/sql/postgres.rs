//! The PostgreSQL backend: one pool for reads and writes. Postgres has
//! row-level locking and many concurrent writers, so every operation is one
//! atomic statement on the pool (the rotation included, as a data-modifying
//! `WITH`), except two: the revocation of a family, which locks out writers
//! for its one statement (see [`revoke_token_family`]), and new tokens, which
//! one task stores in batches (see [`super::pg_token_writer`]).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use oauth_runtime::{
    ClientRecord, CodeRecord, DeviceAuthorization, DeviceStatus, LoginSession, PushedRequest, Scope,
    SigningKey, TokenHash, TokenRecord, UserClaims, UserRecord,
};

use super::SqlError;
use super::migrations;
use super::pg_token_writer::TokenWriter;
use super::rows::{AuthFailureRow, ClientRow, SigningKeyRow};

/// The statements, for Postgres connections.
mod statements {
    crate::sql::ops::shared_ops!(sqlx::Postgres);
    crate::sql::sessions::session_ops!(sqlx::Postgres);
    crate::sql::extensions::extension_ops!(sqlx::Postgres);
    crate::sql::device::device_ops!(sqlx::Postgres);

    /// Marks the token holding refresh token `old` as rotated and stores
    /// `new`, in one statement: `false`, storing nothing, when `old` is
    /// unknown or already rotated. Of two concurrent calls, the second waits
    /// for the first's row lock, then finds `rotated` set.
    pub(crate) async fn rotate(
        pool: &sqlx::PgPool,
        old: &TokenHash,
        new: &TokenRecord,
    ) -> Result<bool, SqlError> {
        let query = sqlx::query(sql::ROTATE).bind(old.as_bytes().as_slice());
        let inserted = bind_token!(query, new).execute(pool).await?.rows_affected();
        Ok(inserted == 1)
    }
}

/// Deletes every token of a family and leaves its tombstone.
///
/// First it locks `tokens` against writers (`SHARE ROW EXCLUSIVE`: it waits
/// for the inserts already running, holds new ones until the tombstone is
/// committed, and lets readers through). Without it, under `READ COMMITTED`
/// an insert that took its snapshot just before the tombstone was committed
/// would add a token the deletion never saw. An insert held by the lock
/// takes its snapshot once it has the lock, so it sees the tombstone and
/// stores nothing. The lock conflicts with itself, so two revocations run
/// one after the other instead of deadlocking. Revocations are rare next to
/// issuance; each stalls writes for one short transaction.
async fn revoke_token_family(pool: &PgPool, family: &str) -> Result<(), SqlError> {
    let mut transaction = pool.begin().await?;
    sqlx::query(super::ops::LOCK_TOKENS_AGAINST_WRITERS)
        .execute(&mut *transaction)
        .await?;
    sqlx::query(super::ops::REVOKE_FAMILY)
        .bind(family)
        .bind(oauth_runtime::now())
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// How long an operation waits for a connection (a free one, or a new one
/// being opened) before it fails with [`SqlError::Unavailable`]: well under
/// the endpoints' usual 10 s time limit, so that a database that is down or
/// unreachable gets a `503` in a few seconds rather than a hang.
pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// PostgreSQL storage.
#[derive(Debug)]
pub(super) struct PostgresBackend {
    pool: PgPool,
    tokens: TokenWriter,
}

impl PostgresBackend {
    /// Connects to `url` and applies the migrations (under Postgres' advisory
    /// lock, so that several servers may start at once). Fails within
    /// [`ACQUIRE_TIMEOUT`] when the database cannot be reached.
    pub(super) async fn connect(url: &str) -> Result<Self, SqlError> {
        // Opening a connection counts against the acquire time-out, so it
        // bounds connecting too (a refused connection is retried until then).
        let pool = PgPoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        migrations::migrator(migrations::POSTGRES).run(&pool).await?;
        let tokens = TokenWriter::spawn(pool.clone());
        Ok(Self { pool, tokens })
    }

    pub(super) async fn ping(&self) -> Result<(), SqlError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, SqlError> {
        statements::client(&self.pool, client_id).await
    }

    pub(super) async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, SqlError> {
        statements::access_token(&self.pool, hash).await
    }

    pub(super) async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, SqlError> {
        statements::refresh_token(&self.pool, hash).await
    }

    pub(super) async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, SqlError> {
        statements::user_by_username(&self.pool, username).await
    }

    pub(super) async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, SqlError> {
        statements::user_claims(&self.pool, subject).await
    }

    pub(super) async fn signing_keys(&self) -> Result<Vec<(SigningKey, i64)>, SqlError> {
        statements::signing_keys(&self.pool).await
    }

    /// Under an advisory lock: of several servers starting at once on an
    /// empty database, the first stores its key and the others, waiting for
    /// the lock, then see it (each statement of a `READ COMMITTED`
    /// transaction sees what was committed before it began).
    pub(super) async fn insert_first_signing_key(&self, row: SigningKeyRow) -> Result<bool, SqlError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(super::ops::FIRST_SIGNING_KEY_LOCK)
            .execute(&mut *transaction)
            .await?;
        let stored = statements::insert_first_signing_key(&mut *transaction, &row).await?;
        transaction.commit().await?;
        Ok(stored)
    }

    pub(super) async fn insert_signing_key(&self, row: SigningKeyRow) -> Result<(), SqlError> {
        statements::insert_signing_key(&self.pool, &row).await
    }

    pub(super) async fn retire_signing_key(&self, kid: &str, now: i64) -> Result<(), SqlError> {
        statements::retire_signing_key(&self.pool, kid, now).await
    }

    pub(super) async fn public_clients(&self) -> Result<Vec<ClientRecord>, SqlError> {
        statements::public_clients(&self.pool).await
    }

    pub(super) async fn insert_secret(&self, name: &str, value: &str, now: i64) -> Result<(), SqlError> {
        statements::insert_secret(&self.pool, name, value, now).await
    }

    pub(super) async fn secret(&self, name: &str) -> Result<Option<String>, SqlError> {
        statements::secret(&self.pool, name).await
    }

    /// One statement: concurrent failures from any number of servers each
    /// count (see `RECORD_AUTH_FAILURE`).
    pub(super) async fn record_auth_failure(&self, row: AuthFailureRow) -> Result<Option<i64>, SqlError> {
        statements::record_auth_failure(&self.pool, &row).await
    }

    pub(super) async fn locked_auth_failures(
        &self,
        scope: &str,
        now_ms: i64,
        max: i64,
    ) -> Result<Vec<(TokenHash, i64)>, SqlError> {
        statements::locked_auth_failures(&self.pool, scope, now_ms, max).await
    }

    pub(super) async fn save_token(&self, token: TokenRecord) -> Result<(), SqlError> {
        self.tokens.save(token).await
    }

    pub(super) async fn revoke_token_family(&self, family: &str) -> Result<(), SqlError> {
        // Boxed, as are the sessions' transactions below: a transaction's
        // future is about 8 KiB, and unboxed it would be part of every future
        // that may call it (the token endpoint's, on every request).
        Box::pin(revoke_token_family(&self.pool, family)).await
    }

    pub(super) async fn save_code(&self, code: CodeRecord) -> Result<(), SqlError> {
        statements::save_code(&self.pool, &code).await
    }

    pub(super) async fn take_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, SqlError> {
        statements::take_code(&self.pool, hash).await
    }

    pub(super) async fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        new: TokenRecord,
    ) -> Result<bool, SqlError> {
        statements::rotate(&self.pool, old, &new).await
    }

    pub(super) async fn upsert_client(&self, row: ClientRow) -> Result<(), SqlError> {
        statements::upsert_client(&self.pool, &row).await
    }

    /// `ON CONFLICT (subject)` covers only the subject: when another
    /// instance inserts the same user at the same moment (two instances
    /// seeding one database), PostgreSQL reports its `username` as taken
    /// instead. Once that insert is committed, a second try finds the
    /// subject and updates it; a username that belongs to another subject
    /// fails the second try as well.
    pub(super) async fn upsert_user(&self, user: &UserRecord) -> Result<(), SqlError> {
        match statements::upsert_user(&self.pool, user).await {
            Err(error) if error.is_unique_violation() => statements::upsert_user(&self.pool, user).await,
            result => result,
        }
    }

    pub(super) async fn start_session(
        &self,
        id: &TokenHash,
        session: LoginSession,
        previous: Option<&TokenHash>,
    ) -> Result<(), SqlError> {
        Box::pin(async move {
            let mut transaction = self.pool.begin().await?;
            if let Some(previous) = previous {
                statements::sessions::delete(&mut *transaction, previous).await?;
                statements::sessions::delete_consents(&mut *transaction, previous).await?;
            }
            statements::sessions::insert(&mut *transaction, id, &session).await?;
            transaction.commit().await?;
            Ok(())
        })
        .await
    }

    pub(super) async fn session(&self, id: &TokenHash, now: i64) -> Result<Option<LoginSession>, SqlError> {
        let Some(mut session) = statements::sessions::select(&self.pool, id, now).await? else {
            return Ok(None);
        };
        session.consents = statements::sessions::consents(&self.pool, id).await?;
        Ok(Some(session))
    }

    pub(super) async fn add_consent(
        &self,
        id: &TokenHash,
        client_id: &str,
        scope: &Scope,
    ) -> Result<(), SqlError> {
        statements::sessions::insert_consent(&self.pool, id, client_id, scope).await
    }

    pub(super) async fn end_session(&self, id: &TokenHash) -> Result<(), SqlError> {
        Box::pin(async move {
            let mut transaction = self.pool.begin().await?;
            statements::sessions::delete(&mut *transaction, id).await?;
            statements::sessions::delete_consents(&mut *transaction, id).await?;
            transaction.commit().await?;
            Ok(())
        })
        .await
    }

    pub(super) async fn use_dpop_proof(&self, key: &TokenHash, until: i64) -> Result<bool, SqlError> {
        statements::use_dpop_proof(&self.pool, key, until).await
    }

    pub(super) async fn purge_expired(&self, now: i64) -> Result<u64, SqlError> {
        let codes = statements::purge_codes(&self.pool, now).await?;
        let tokens = statements::purge_tokens(&self.pool, now).await?;
        let families = statements::purge_revoked_families(&self.pool, now).await?;
        let sessions = statements::sessions::purge(&self.pool, now).await?;
        let consents = statements::sessions::purge_consents(&self.pool).await?;
        let failures = statements::purge_auth_failures(&self.pool, now).await?;
        let pushed = statements::extensions::purge_pushed(&self.pool, now).await?;
        let jtis = statements::extensions::purge_jtis(&self.pool, now).await?;
        let proofs = statements::purge_dpop_proofs(&self.pool, now).await?;
        let devices = statements::device::purge(&self.pool, now).await?;
        Ok(codes + tokens + families + sessions + consents + failures + pushed + jtis + proofs + devices)
    }

    pub(super) async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), SqlError> {
        statements::extensions::insert_pushed(&self.pool, &request).await
    }

    pub(super) async fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, SqlError> {
        statements::extensions::take_pushed(&self.pool, request_uri, client_id).await
    }

    pub(super) async fn record_assertion_jti(
        &self,
        jti: &TokenHash,
        expires_at: i64,
    ) -> Result<bool, SqlError> {
        statements::extensions::record_jti(&self.pool, jti, expires_at).await
    }

    pub(super) async fn save_device_authorization(
        &self,
        device: DeviceAuthorization,
    ) -> Result<(), SqlError> {
        statements::device::insert(&self.pool, &device).await
    }

    pub(super) async fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        statements::device::select(&self.pool, device_code).await
    }

    pub(super) async fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        statements::device::select_by_user_code(&self.pool, user_code).await
    }

    pub(super) async fn record_device_poll(
        &self,
        device_code: &TokenHash,
        polled_at: i64,
        interval: i64,
    ) -> Result<(), SqlError> {
        statements::device::record_poll(&self.pool, device_code, polled_at, interval).await
    }

    pub(super) async fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> Result<bool, SqlError> {
        statements::device::decide(&self.pool, user_code, &status).await
    }

    pub(super) async fn take_device_authorization(
        &self,
        device_code: &TokenHash,
        client_id: &str,
    ) -> Result<Option<DeviceAuthorization>, SqlError> {
        statements::device::take(&self.pool, device_code, client_id).await
    }

    pub(super) async fn close(&self) {
        self.tokens.close().await;
        self.pool.close().await;
    }
}
