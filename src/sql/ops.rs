//! The statements both backends run, and the operations built on them.
//!
//! Every statement is written once, with `$N` parameters (which SQLite also
//! accepts), in SQL both databases understand: `ON CONFLICT ... DO UPDATE`,
//! `DELETE ... RETURNING`. [`shared_ops!`] turns them into functions for one
//! backend's executor; only the refresh-token rotation differs per backend.
//!
//! Each operation is one statement, so it is atomic on its own: taking a
//! code is a `DELETE ... RETURNING`, marking a refresh token rotated is an
//! `UPDATE ... WHERE rotated = FALSE` whose row count says who won. Revoking
//! a family deletes its tokens and leaves a tombstone that later inserts
//! into the family check (`INSERT ... SELECT ... WHERE NOT EXISTS`).

use super::rows::{code_columns, token_columns};

pub(crate) const SELECT_CLIENT: &str = "SELECT client_id, secret_hash, redirect_uris, grant_types, scope, \
     auth_method, jwks, require_pushed_authorization_requests, dpop_bound_access_tokens FROM clients \
     WHERE client_id = $1";

/// Public clients (no secret), for the CORS origins of their redirect URIs.
pub(crate) const SELECT_PUBLIC_CLIENTS: &str = "SELECT client_id, secret_hash, redirect_uris, grant_types, \
     scope, auth_method, jwks, require_pushed_authorization_requests, dpop_bound_access_tokens FROM clients \
     WHERE secret_hash IS NULL AND auth_method = 'none'";

pub(crate) const UPSERT_CLIENT: &str = "INSERT INTO clients \
     (client_id, secret_hash, redirect_uris, grant_types, scope, auth_method, jwks, \
     require_pushed_authorization_requests, dpop_bound_access_tokens) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash, \
     redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types, \
     scope = excluded.scope, auth_method = excluded.auth_method, jwks = excluded.jwks, \
     require_pushed_authorization_requests = excluded.require_pushed_authorization_requests, \
     dpop_bound_access_tokens = excluded.dpop_bound_access_tokens";

pub(crate) const SELECT_USER: &str =
    "SELECT subject, username, password_hash, claims FROM users WHERE username = $1";

pub(crate) const SELECT_CLAIMS: &str = "SELECT claims FROM users WHERE subject = $1";

/// Keyed by subject; a username already held by another subject is a unique
/// violation (never a silent takeover of someone else's login name).
pub(crate) const UPSERT_USER: &str = "INSERT INTO users (subject, username, password_hash, claims) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (subject) DO UPDATE SET username = excluded.username, \
     password_hash = excluded.password_hash, claims = excluded.claims";

/// Published keys, newest (last stored) first: `created_at` has whole
/// seconds only, the `id` orders keys stored within one second too.
pub(crate) const SELECT_SIGNING_KEYS: &str = "SELECT alg, private_pem, created_at FROM signing_keys \
     WHERE retired_at IS NULL ORDER BY id DESC";

/// A key is stored once: its `kid` is its thumbprint.
pub(crate) const INSERT_SIGNING_KEY: &str = "INSERT INTO signing_keys (kid, alg, private_pem, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING";

/// Stores a key only when no key of its algorithm (`$2`) is published: the
/// first key. Atomic against a concurrent first key only where writers are
/// serialized: SQLite's one writer; under Postgres' `READ COMMITTED` with
/// [`FIRST_SIGNING_KEY_LOCK`] held.
pub(crate) const INSERT_FIRST_SIGNING_KEY: &str = "INSERT INTO signing_keys (kid, alg, private_pem, created_at) \
     SELECT $1, $2, $3, $4 WHERE NOT EXISTS \
     (SELECT 1 FROM signing_keys WHERE alg = $2 AND retired_at IS NULL) \
     ON CONFLICT (kid) DO NOTHING";

/// Serializes the creation of first keys across every server sharing a
/// Postgres database, for the transaction that takes it (a key of its own,
/// distinct from the one sqlx's migrations take).
#[cfg(feature = "postgres")]
pub(crate) const FIRST_SIGNING_KEY_LOCK: &str = "SELECT pg_advisory_xact_lock(7262736550110473203)";

pub(crate) const RETIRE_SIGNING_KEY: &str =
    "UPDATE signing_keys SET retired_at = $2 WHERE kid = $1 AND retired_at IS NULL";

/// A shared secret is created once: the first instance's value stays.
pub(crate) const INSERT_SECRET: &str = "INSERT INTO server_secrets (name, value, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";

pub(crate) const SELECT_SECRET: &str = "SELECT value FROM server_secrets WHERE name = $1";

pub(crate) const INSERT_CODE: &str = concat!(
    "INSERT INTO codes (",
    code_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);

pub(crate) const TAKE_CODE: &str = concat!(
    "DELETE FROM codes WHERE code_hash = $1 RETURNING ",
    code_columns!()
);

/// Stores nothing when the token's family (`$6`) was revoked: see
/// [`TOMBSTONE_FAMILY`].
#[cfg(feature = "sqlite")]
pub(crate) const INSERT_TOKEN: &str = concat!(
    "INSERT INTO tokens (",
    token_columns!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 ",
    "WHERE NOT EXISTS (SELECT 1 FROM revoked_families WHERE family = $6)"
);

pub(crate) const SELECT_TOKEN_BY_ACCESS: &str =
    concat!("SELECT ", token_columns!(), " FROM tokens WHERE access_hash = $1");

/// Rotated tokens included, so that reuse can be detected.
pub(crate) const SELECT_TOKEN_BY_REFRESH: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM tokens WHERE refresh_hash = $1"
);

#[cfg(feature = "sqlite")]
pub(crate) const DELETE_FAMILY: &str = "DELETE FROM tokens WHERE family = $1";

/// Remembers a revoked family (`$1`, revoked at `$2`) so that tokens saved
/// into it later are not stored: a replayed code may revoke the family while
/// the first redemption is still saving its tokens.
#[cfg(feature = "sqlite")]
pub(crate) const TOMBSTONE_FAMILY: &str = "INSERT INTO revoked_families (family, revoked_at) \
     VALUES ($1, $2) ON CONFLICT (family) DO UPDATE SET revoked_at = excluded.revoked_at";

/// Taken by a Postgres revocation before [`REVOKE_FAMILY`], in its transaction.
#[cfg(feature = "postgres")]
pub(crate) const LOCK_TOKENS_AGAINST_WRITERS: &str = "LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE";

/// Postgres revokes in one statement: tombstone and deletion together.
#[cfg(feature = "postgres")]
pub(crate) const REVOKE_FAMILY: &str = "WITH gone AS (DELETE FROM tokens WHERE family = $1) \
     INSERT INTO revoked_families (family, revoked_at) VALUES ($1, $2) \
     ON CONFLICT (family) DO UPDATE SET revoked_at = excluded.revoked_at";

/// Tombstones revoked at or before `$1`.
pub(crate) const PURGE_REVOKED_FAMILIES: &str = "DELETE FROM revoked_families WHERE revoked_at <= $1";

/// Changes one row for the one caller that wins, none for everyone else.
#[cfg(feature = "sqlite")]
pub(crate) const MARK_ROTATED: &str =
    "UPDATE tokens SET rotated = TRUE WHERE refresh_hash = $1 AND rotated = FALSE";

/// Postgres rotates in one statement: the insert happens only when the update
/// marked the old token (`$1`); the new token is `$2`..`$13`.
#[cfg(feature = "postgres")]
pub(crate) const ROTATE: &str = concat!(
    "WITH old AS (UPDATE tokens SET rotated = TRUE WHERE refresh_hash = $1 AND rotated = FALSE RETURNING 1) ",
    "INSERT INTO tokens (",
    token_columns!(),
    ") SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM old"
);

/// Records one failed authentication of `($1 scope, $2 key_hash)` at `$3`
/// (ms) under a window of `$4` ms, a lock-out of `$5` ms and `$6` failures
/// (at least 1) per window, and returns `locked_until`: set when the key is
/// locked now. One statement, so concurrent failures (from any number of
/// servers) are applied one after the other and each counts: Postgres
/// takes the row's lock for the `DO UPDATE` and re-reads its latest
/// version, SQLite has one writer at a time.
///
/// The rule of `oauth_runtime::throttle::FailureStore::record_failure`:
/// a row whose `expires_at` has passed (its window or lock-out is over)
/// starts again as if new; a locked row is left as it is (failures while
/// locked were refused unchecked); otherwise the count goes up, and the
/// failure that reaches `$6` locks the key until `$3 + $5`. `expires_at`
/// is the end of the lock-out of a locked row, the end of the window of
/// another. In `SET`, every column read is the row's value before the update.
pub(crate) const RECORD_AUTH_FAILURE: &str = "INSERT INTO auth_failures \
     (scope, key_hash, failures, locked_until, expires_at) \
     VALUES ($1, $2, 1, CASE WHEN $6 <= 1 THEN $3 + $5 END, \
     CASE WHEN $6 <= 1 THEN $3 + $5 ELSE $3 + $4 END) \
     ON CONFLICT (scope, key_hash) DO UPDATE SET \
     failures = CASE WHEN auth_failures.expires_at <= $3 THEN 1 \
         WHEN auth_failures.locked_until IS NOT NULL THEN auth_failures.failures \
         ELSE auth_failures.failures + 1 END, \
     locked_until = CASE WHEN auth_failures.expires_at <= $3 THEN excluded.locked_until \
         WHEN auth_failures.locked_until IS NOT NULL THEN auth_failures.locked_until \
         WHEN auth_failures.failures + 1 >= $6 THEN $3 + $5 \
         ELSE NULL END, \
     expires_at = CASE WHEN auth_failures.expires_at <= $3 THEN excluded.expires_at \
         WHEN auth_failures.locked_until IS NOT NULL THEN auth_failures.expires_at \
         WHEN auth_failures.failures + 1 >= $6 THEN $3 + $5 \
         ELSE auth_failures.expires_at END \
     RETURNING locked_until";

/// The keys of scope `$1` locked at `$2` (ms), longest lock-outs first, at
/// most `$3`.
pub(crate) const SELECT_LOCKED_AUTH_FAILURES: &str = "SELECT key_hash, locked_until FROM auth_failures \
     WHERE scope = $1 AND locked_until > $2 ORDER BY locked_until DESC LIMIT $3";

/// Failure counts whose window or lock-out ended at or before `$1` (ms).
pub(crate) const PURGE_AUTH_FAILURES: &str = "DELETE FROM auth_failures WHERE expires_at <= $1";

/// Records a DPoP proof (`$1`, kept until `$2`): one row changed the
/// first time, none for a replay, whichever instance saw it first.
pub(crate) const USE_DPOP_PROOF: &str = "INSERT INTO dpop_proofs (key_hash, expires_at) VALUES ($1, $2) \
     ON CONFLICT (key_hash) DO NOTHING";

/// Proofs whose `iat` window is over.
pub(crate) const PURGE_DPOP_PROOFS: &str = "DELETE FROM dpop_proofs WHERE expires_at <= $1";

pub(crate) const PURGE_CODES: &str = "DELETE FROM codes WHERE expires_at <= $1";

/// Tokens whose access token and refresh token (if any) have both expired.
pub(crate) const PURGE_TOKENS: &str = "DELETE FROM tokens WHERE expires_at <= $1 \
     AND (refresh_expires_at IS NULL OR refresh_expires_at <= $1)";

/// Binds the fields of a `TokenRecord` in [`token_columns!`] order.
macro_rules! bind_token {
    ($query:expr, $token:expr) => {{
        let token: &oauth_runtime::TokenRecord = $token;
        $query
            .bind(token.access_token.as_bytes().as_slice())
            .bind(
                token
                    .refresh_token
                    .as_ref()
                    .map(|hash| hash.as_bytes().as_slice()),
            )
            .bind(token.client_id.as_str())
            .bind(token.subject.as_deref())
            .bind(token.scope.to_string())
            .bind(token.family.as_str())
            .bind(token.issued_at)
            .bind(token.expires_at)
            .bind(token.refresh_expires_at)
            .bind(token.rotated)
            .bind(token.refresh_scope.as_ref().map(ToString::to_string))
            .bind(token.jkt.as_deref())
    }};
}
pub(crate) use bind_token;

/// Defines, in the calling module, one async function per operation for the
/// database `$db`, each taking any executor of it (a pool or a connection).
macro_rules! shared_ops {
    ($db:ty) => {
        use oauth_runtime::{
            ClientRecord, CodeRecord, SigningKey, TokenHash, TokenRecord, UserClaims, UserRecord,
        };
        use $crate::sql::SqlError;
        use $crate::sql::ops::{self as sql, bind_token};
        use $crate::sql::rows::{self, AuthFailureRow, ClientRow, CodeRow, SigningKeyRow, TokenRow, UserRow};

        /// Looks a client up.
        pub(crate) async fn client<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            client_id: &str,
        ) -> Result<Option<ClientRecord>, SqlError> {
            let row: Option<ClientRow> = sqlx::query_as(sql::SELECT_CLIENT)
                .bind(client_id)
                .fetch_optional(exec)
                .await?;
            row.map(rows::client_from_row).transpose()
        }

        /// Every public client.
        pub(crate) async fn public_clients<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
        ) -> Result<Vec<ClientRecord>, SqlError> {
            let rows: Vec<ClientRow> = sqlx::query_as(sql::SELECT_PUBLIC_CLIENTS)
                .fetch_all(exec)
                .await?;
            rows.into_iter().map(rows::client_from_row).collect()
        }

        /// Inserts or replaces a client (already encoded).
        pub(crate) async fn upsert_client<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            row: &ClientRow,
        ) -> Result<(), SqlError> {
            let (
                client_id,
                secret_hash,
                redirect_uris,
                grant_types,
                scope,
                auth_method,
                jwks,
                require_par,
                dpop_bound,
            ) = row;
            sqlx::query(sql::UPSERT_CLIENT)
                .bind(client_id.as_str())
                .bind(secret_hash.as_deref())
                .bind(redirect_uris.as_str())
                .bind(grant_types.as_str())
                .bind(scope.as_str())
                .bind(auth_method.as_str())
                .bind(jwks.as_deref())
                .bind(*require_par)
                .bind(*dpop_bound)
                .execute(exec)
                .await?;
            Ok(())
        }

        /// Looks a user up by login name.
        pub(crate) async fn user_by_username<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            username: &str,
        ) -> Result<Option<UserRecord>, SqlError> {
            let row: Option<UserRow> = sqlx::query_as(sql::SELECT_USER)
                .bind(username)
                .fetch_optional(exec)
                .await?;
            row.map(rows::user_from_row).transpose()
        }

        /// The claims of the user with this subject.
        pub(crate) async fn user_claims<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            subject: &str,
        ) -> Result<Option<UserClaims>, SqlError> {
            let row: Option<(String,)> = sqlx::query_as(sql::SELECT_CLAIMS)
                .bind(subject)
                .fetch_optional(exec)
                .await?;
            row.map(|(claims,)| rows::claims_from_text(&claims))
                .transpose()
        }

        /// The published signing keys with when each was stored, newest first.
        pub(crate) async fn signing_keys<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
        ) -> Result<Vec<(SigningKey, i64)>, SqlError> {
            let rows: Vec<(String, String, i64)> = sqlx::query_as(sql::SELECT_SIGNING_KEYS)
                .fetch_all(exec)
                .await?;
            rows.into_iter()
                .map(|(alg, pem, created_at)| Ok((rows::signing_key_from_row((alg, pem))?, created_at)))
                .collect()
        }

        /// Stores a key when no key of its algorithm is published; whether
        /// it was stored.
        pub(crate) async fn insert_first_signing_key<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            row: &SigningKeyRow,
        ) -> Result<bool, SqlError> {
            let (kid, alg, pem, created_at) = row;
            let stored = sqlx::query(sql::INSERT_FIRST_SIGNING_KEY)
                .bind(kid)
                .bind(alg)
                .bind(pem)
                .bind(created_at)
                .execute(exec)
                .await?
                .rows_affected();
            Ok(stored == 1)
        }

        /// Stores a signing key (once).
        pub(crate) async fn insert_signing_key<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            row: &SigningKeyRow,
        ) -> Result<(), SqlError> {
            let (kid, alg, pem, created_at) = row;
            sqlx::query(sql::INSERT_SIGNING_KEY)
                .bind(kid)
                .bind(alg)
                .bind(pem)
                .bind(created_at)
                .execute(exec)
                .await?;
            Ok(())
        }

        /// Stores a shared secret unless one of that name exists.
        pub(crate) async fn insert_secret<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            name: &str,
            value: &str,
            now: i64,
        ) -> Result<(), SqlError> {
            sqlx::query(sql::INSERT_SECRET)
                .bind(name)
                .bind(value)
                .bind(now)
                .execute(exec)
                .await?;
            Ok(())
        }

        /// The shared secret of that name.
        pub(crate) async fn secret<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            name: &str,
        ) -> Result<Option<String>, SqlError> {
            let row: Option<(String,)> = sqlx::query_as(sql::SELECT_SECRET)
                .bind(name)
                .fetch_optional(exec)
                .await?;
            Ok(row.map(|(value,)| value))
        }

        /// Stops publishing a signing key.
        pub(crate) async fn retire_signing_key<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            kid: &str,
            now: i64,
        ) -> Result<(), SqlError> {
            sqlx::query(sql::RETIRE_SIGNING_KEY)
                .bind(kid)
                .bind(now)
                .execute(exec)
                .await?;
            Ok(())
        }

        /// Inserts or replaces a user.
        pub(crate) async fn upsert_user<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            user: &UserRecord,
        ) -> Result<(), SqlError> {
            let (subject, username, password_hash, claims) = rows::user_to_row(user);
            sqlx::query(sql::UPSERT_USER)
                .bind(subject)
                .bind(username)
                .bind(password_hash)
                .bind(claims)
                .execute(exec)
                .await?;
            Ok(())
        }

        /// Stores a new code.
        pub(crate) async fn save_code<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            code: &CodeRecord,
        ) -> Result<(), SqlError> {
            sqlx::query(sql::INSERT_CODE)
                .bind(code.code.as_bytes().as_slice())
                .bind(code.client_id.as_str())
                .bind(code.redirect_uri.as_deref())
                .bind(code.scope.to_string())
                .bind(code.subject.as_str())
                .bind(code.code_challenge.as_deref())
                .bind(code.code_challenge_method.map(|method| method.as_str()))
                .bind(code.nonce.as_deref())
                .bind(code.auth_time)
                .bind(code.expires_at)
                .execute(exec)
                .await?;
            Ok(())
        }

        /// Removes a code and returns it: one statement, so of two
        /// concurrent calls at most one gets the row.
        pub(crate) async fn take_code<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            hash: &TokenHash,
        ) -> Result<Option<CodeRecord>, SqlError> {
            let row: Option<CodeRow> = sqlx::query_as(sql::TAKE_CODE)
                .bind(hash.as_bytes().as_slice())
                .fetch_optional(exec)
                .await?;
            row.map(rows::code_from_row).transpose()
        }

        /// Looks a token up by its access token hash.
        pub(crate) async fn access_token<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            hash: &TokenHash,
        ) -> Result<Option<TokenRecord>, SqlError> {
            let row: Option<TokenRow> = sqlx::query_as(sql::SELECT_TOKEN_BY_ACCESS)
                .bind(hash.as_bytes().as_slice())
                .fetch_optional(exec)
                .await?;
            row.map(rows::token_from_row).transpose()
        }

        /// Looks a token up by its refresh token hash, rotated or not.
        pub(crate) async fn refresh_token<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            hash: &TokenHash,
        ) -> Result<Option<TokenRecord>, SqlError> {
            let row: Option<TokenRow> = sqlx::query_as(sql::SELECT_TOKEN_BY_REFRESH)
                .bind(hash.as_bytes().as_slice())
                .fetch_optional(exec)
                .await?;
            row.map(rows::token_from_row).transpose()
        }

        /// Forgets tombstones of families revoked more than
        /// `REVOKED_FAMILY_RETENTION_SECS` before `now`; returns how many.
        pub(crate) async fn purge_revoked_families<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            now: i64,
        ) -> Result<u64, SqlError> {
            let until = now.saturating_sub(oauth_runtime::storage::REVOKED_FAMILY_RETENTION_SECS);
            Ok(sqlx::query(sql::PURGE_REVOKED_FAMILIES)
                .bind(until)
                .execute(exec)
                .await?
                .rows_affected())
        }

        /// Records one failed authentication; the end of the key's
        /// lock-out when it is locked now.
        pub(crate) async fn record_auth_failure<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            row: &AuthFailureRow,
        ) -> Result<Option<i64>, SqlError> {
            let (locked_until,): (Option<i64>,) = sqlx::query_as(sql::RECORD_AUTH_FAILURE)
                .bind(row.scope)
                .bind(row.key.as_bytes().as_slice())
                .bind(row.now_ms)
                .bind(row.window_ms)
                .bind(row.lockout_ms)
                .bind(row.max_failures)
                .fetch_one(exec)
                .await?;
            Ok(locked_until.filter(|until| *until > row.now_ms))
        }

        /// Records a DPoP proof: `true` the first time.
        pub(crate) async fn use_dpop_proof<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            key: &TokenHash,
            until: i64,
        ) -> Result<bool, SqlError> {
            let done = sqlx::query(sql::USE_DPOP_PROOF)
                .bind(key.as_bytes().as_slice())
                .bind(until)
                .execute(exec)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        /// Forgets the DPoP proofs kept until `now` or before.
        pub(crate) async fn purge_dpop_proofs<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            now: i64,
        ) -> Result<u64, SqlError> {
            Ok(sqlx::query(sql::PURGE_DPOP_PROOFS)
                .bind(now)
                .execute(exec)
                .await?
                .rows_affected())
        }

        /// The keys of `scope` locked at `now_ms`, at most `max`.
        pub(crate) async fn locked_auth_failures<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            scope: &str,
            now_ms: i64,
            max: i64,
        ) -> Result<Vec<(TokenHash, i64)>, SqlError> {
            let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(sql::SELECT_LOCKED_AUTH_FAILURES)
                .bind(scope)
                .bind(now_ms)
                .bind(max)
                .fetch_all(exec)
                .await?;
            rows.into_iter().map(rows::locked_key_from_row).collect()
        }

        /// Deletes failure counts whose window or lock-out has passed at
        /// `now` (Unix seconds); returns how many.
        pub(crate) async fn purge_auth_failures<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            now: i64,
        ) -> Result<u64, SqlError> {
            Ok(sqlx::query(sql::PURGE_AUTH_FAILURES)
                .bind(now.saturating_mul(1000))
                .execute(exec)
                .await?
                .rows_affected())
        }

        /// Deletes expired codes; returns how many.
        pub(crate) async fn purge_codes<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            now: i64,
        ) -> Result<u64, SqlError> {
            Ok(sqlx::query(sql::PURGE_CODES)
                .bind(now)
                .execute(exec)
                .await?
                .rows_affected())
        }

        /// Deletes tokens whose access and refresh tokens have both expired;
        /// returns how many.
        pub(crate) async fn purge_tokens<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            now: i64,
        ) -> Result<u64, SqlError> {
            Ok(sqlx::query(sql::PURGE_TOKENS)
                .bind(now)
                .execute(exec)
                .await?
                .rows_affected())
        }
    };
}
pub(crate) use shared_ops;
