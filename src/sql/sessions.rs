//! Login sessions in SQL ([`SessionStorage`](oauth_runtime::storage::SessionStorage)):
//! the statements both backends run, and [`session_ops!`], which turns them
//! into functions for one backend's executor. A session row is keyed by the
//! SHA-256 of its cookie; its consents are rows of their own, so that two
//! instances recording approvals at once both keep theirs.

pub(crate) const INSERT_SESSION: &str = "INSERT INTO login_sessions \
     (session_hash, subject, username, auth_time, expires_at) VALUES ($1, $2, $3, $4, $5)";

pub(crate) const SELECT_SESSION: &str = "SELECT subject, username, auth_time, expires_at \
     FROM login_sessions WHERE session_hash = $1 AND expires_at > $2";

pub(crate) const DELETE_SESSION: &str = "DELETE FROM login_sessions WHERE session_hash = $1";

pub(crate) const SELECT_CONSENTS: &str =
    "SELECT client_id, scope FROM login_consents WHERE session_hash = $1";

/// Only for a session that exists: a consent never outlives its session.
pub(crate) const INSERT_CONSENT: &str = "INSERT INTO login_consents (session_hash, client_id, scope) \
     SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM login_sessions WHERE session_hash = $1)";

pub(crate) const DELETE_CONSENTS: &str = "DELETE FROM login_consents WHERE session_hash = $1";

pub(crate) const PURGE_SESSIONS: &str = "DELETE FROM login_sessions WHERE expires_at <= $1";

pub(crate) const PURGE_CONSENTS: &str = "DELETE FROM login_consents WHERE NOT EXISTS \
     (SELECT 1 FROM login_sessions s WHERE s.session_hash = login_consents.session_hash)";

/// The session functions for one backend (`sqlx::Sqlite` or `sqlx::Postgres`).
macro_rules! session_ops {
    ($db:ty) => {
        /// Login session statements.
        pub(crate) mod sessions {
            use oauth_runtime::{LoginSession, Scope, TokenHash};

            use $crate::sql::SqlError;
            use $crate::sql::sessions as sql;

            /// Stores a new session.
            pub(crate) async fn insert<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                id: &TokenHash,
                session: &LoginSession,
            ) -> Result<(), SqlError> {
                sqlx::query(sql::INSERT_SESSION)
                    .bind(id.as_bytes().as_slice())
                    .bind(&session.subject)
                    .bind(&session.username)
                    .bind(session.auth_time)
                    .bind(session.expires_at)
                    .execute(exec)
                    .await?;
                Ok(())
            }

            /// Deletes a session (not its consents: see [`delete_consents`]).
            pub(crate) async fn delete<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                id: &TokenHash,
            ) -> Result<(), SqlError> {
                sqlx::query(sql::DELETE_SESSION)
                    .bind(id.as_bytes().as_slice())
                    .execute(exec)
                    .await?;
                Ok(())
            }

            /// Deletes a session's consents.
            pub(crate) async fn delete_consents<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                id: &TokenHash,
            ) -> Result<(), SqlError> {
                sqlx::query(sql::DELETE_CONSENTS)
                    .bind(id.as_bytes().as_slice())
                    .execute(exec)
                    .await?;
                Ok(())
            }

            /// The session's fields, when it is live at `now`.
            pub(crate) async fn select<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                id: &TokenHash,
                now: i64,
            ) -> Result<Option<LoginSession>, SqlError> {
                let row: Option<(String, String, i64, i64)> = sqlx::query_as(sql::SELECT_SESSION)
                    .bind(id.as_bytes().as_slice())
                    .bind(now)
                    .fetch_optional(exec)
                    .await?;
                Ok(row.map(|(subject, username, auth_time, expires_at)| {
                    LoginSession::new(subject, username, auth_time, expires_at)
                }))
            }

            /// The session's consents.
            pub(crate) async fn consents<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                id: &TokenHash,
            ) -> Result<Vec<(String, Scope)>, SqlError> {
                let rows: Vec<(String, String)> = sqlx::query_as(sql::SELECT_CONSENTS)
                    .bind(id.as_bytes().as_slice())
                    .fetch_all(exec)
                    .await?;
                rows.into_iter()
                    .map(|(client, scope)| {
                        Scope::parse(&scope)
                            .map(|scope| (client, scope))
                            .map_err(|e| SqlError::corrupt("login_consents.scope", e))
                    })
                    .collect()
            }

            /// Records a consent of a session that exists.
            pub(crate) async fn insert_consent<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                id: &TokenHash,
                client_id: &str,
                scope: &Scope,
            ) -> Result<(), SqlError> {
                sqlx::query(sql::INSERT_CONSENT)
                    .bind(id.as_bytes().as_slice())
                    .bind(client_id)
                    .bind(scope.to_string())
                    .execute(exec)
                    .await?;
                Ok(())
            }

            /// Deletes sessions expired at `now`; returns how many.
            pub(crate) async fn purge<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                now: i64,
            ) -> Result<u64, SqlError> {
                Ok(sqlx::query(sql::PURGE_SESSIONS)
                    .bind(now)
                    .execute(exec)
                    .await?
                    .rows_affected())
            }

            /// Deletes the consents of sessions that are gone; returns how many.
            pub(crate) async fn purge_consents<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
            ) -> Result<u64, SqlError> {
                Ok(sqlx::query(sql::PURGE_CONSENTS)
                    .execute(exec)
                    .await?
                    .rows_affected())
            }
        }
    };
}
pub(crate) use session_ops;
