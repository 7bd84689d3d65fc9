//! Pushed authorization requests ([`PushedRequestStorage`]) and used client
//! assertion ids ([`AssertionStorage`]) in SQL: the statements both
//! backends run, and [`extension_ops!`], which turns them into functions for
//! one backend's executor. Both are atomic in one statement: a pushed
//! request is taken by a `DELETE ... RETURNING` that names its client (a
//! request used with another client id is neither returned nor removed),
//! and a `jti` is recorded under a primary key (of two instances recording
//! one, the second inserts nothing).
//!
//! [`PushedRequestStorage`]: oauth_runtime::storage::PushedRequestStorage
//! [`AssertionStorage`]: oauth_runtime::storage::AssertionStorage

pub(crate) const INSERT_PUSHED: &str = "INSERT INTO pushed_requests \
     (request_uri_hash, client_id, params, expires_at) VALUES ($1, $2, $3, $4)";

pub(crate) const TAKE_PUSHED: &str = "DELETE FROM pushed_requests \
     WHERE request_uri_hash = $1 AND client_id = $2 \
     RETURNING request_uri_hash, client_id, params, expires_at";

pub(crate) const RECORD_JTI: &str = "INSERT INTO assertion_jtis (jti_hash, expires_at) VALUES ($1, $2) \
     ON CONFLICT (jti_hash) DO NOTHING";

pub(crate) const PURGE_PUSHED: &str = "DELETE FROM pushed_requests WHERE expires_at <= $1";

pub(crate) const PURGE_JTIS: &str = "DELETE FROM assertion_jtis WHERE expires_at <= $1";

/// A pushed request as read back: `request_uri_hash, client_id, params, expires_at`.
pub(crate) type PushedRow = (Vec<u8>, String, String, i64);

/// The extension functions for one backend (`sqlx::Sqlite` or `sqlx::Postgres`).
macro_rules! extension_ops {
    ($db:ty) => {
        /// Pushed request and client assertion statements.
        pub(crate) mod extensions {
            use oauth_runtime::{PushedRequest, TokenHash};

            use $crate::sql::SqlError;
            use $crate::sql::extensions::{self as sql, PushedRow};

            /// Stores a pushed request.
            pub(crate) async fn insert_pushed<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                request: &PushedRequest,
            ) -> Result<(), SqlError> {
                sqlx::query(sql::INSERT_PUSHED)
                    .bind(request.request_uri.as_bytes().as_slice())
                    .bind(&request.client_id)
                    .bind(&request.params)
                    .bind(request.expires_at)
                    .execute(exec)
                    .await?;
                Ok(())
            }

            /// Removes and returns the pushed request of `client_id`.
            pub(crate) async fn take_pushed<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                request_uri: &TokenHash,
                client_id: &str,
            ) -> Result<Option<PushedRequest>, SqlError> {
                let row: Option<PushedRow> = sqlx::query_as(sql::TAKE_PUSHED)
                    .bind(request_uri.as_bytes().as_slice())
                    .bind(client_id)
                    .fetch_optional(exec)
                    .await?;
                row.map(|(hash, client_id, params, expires_at)| {
                    let bytes: [u8; 32] = hash
                        .try_into()
                        .map_err(|_| SqlError::corrupt("pushed_requests.request_uri_hash", "not 32 bytes"))?;
                    Ok(PushedRequest {
                        request_uri: TokenHash::from_bytes(bytes),
                        client_id,
                        params,
                        expires_at,
                    })
                })
                .transpose()
            }

            /// Records a `jti`; `false` when it was recorded already.
            pub(crate) async fn record_jti<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                jti: &TokenHash,
                expires_at: i64,
            ) -> Result<bool, SqlError> {
                let inserted = sqlx::query(sql::RECORD_JTI)
                    .bind(jti.as_bytes().as_slice())
                    .bind(expires_at)
                    .execute(exec)
                    .await?
                    .rows_affected();
                Ok(inserted == 1)
            }

            /// Deletes pushed requests expired at `now`; returns how many.
            pub(crate) async fn purge_pushed<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                now: i64,
            ) -> Result<u64, SqlError> {
                Ok(sqlx::query(sql::PURGE_PUSHED)
                    .bind(now)
                    .execute(exec)
                    .await?
                    .rows_affected())
            }

            /// Deletes `jti`s kept until `now` or before; returns how many.
            pub(crate) async fn purge_jtis<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                now: i64,
            ) -> Result<u64, SqlError> {
                Ok(sqlx::query(sql::PURGE_JTIS)
                    .bind(now)
                    .execute(exec)
                    .await?
                    .rows_affected())
            }
        }
    };
}
pub(crate) use extension_ops;
