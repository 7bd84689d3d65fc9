//! The SQL store's error.

use std::sync::Arc;

use oauth_runtime::model::ModelError;

/// A failure of [`SqlStore`](super::SqlStore).
///
/// It is `Clone` (sources are shared) because one failed group commit is
/// reported to every request of its batch.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The database URL names a scheme the store does not know.
    #[error(
        "unsupported database URL scheme `{0}`: expected `sqlite://FILE`, `sqlite::memory:` or `postgres://...`"
    )]
    UnsupportedScheme(String),
    /// The database URL names a backend this build leaves out.
    #[error("the {0} backend is not compiled in: enable the `{0}` feature of granted")]
    BackendDisabled(&'static str),
    /// The database failed (connecting, a statement, a commit).
    #[error("database error: {0}")]
    Database(#[source] Arc<sqlx::Error>),
    /// Applying the embedded schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[source] Arc<sqlx::migrate::MigrateError>),
    /// A stored row could not be read back (corrupt or foreign data).
    #[error(transparent)]
    Corrupt(#[from] ModelError),
    /// The store was closed (or its writer stopped).
    #[error("the SQL store is closed")]
    Closed,
    /// The database cannot be reached now: no connection came free in time
    /// (the server is down, unreachable or overloaded), a connection was
    /// refused or lost, or the server is shutting down or full. The
    /// endpoints answer `temporarily_unavailable` (503) rather than
    /// `server_error`; the pool reconnects, so a later call may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] DatabaseUnavailable),
    /// A signing key could not be generated.
    #[error(transparent)]
    Key(#[from] Arc<oauth_runtime::oidc::KeyError>),
}

/// Why the database is unavailable (see [`SqlError::Unavailable`]). Its
/// source is [`StorageUnavailable`](oauth_runtime::StorageUnavailable), the
/// mark by which the endpoints tell "retry later" from a failure.
#[derive(Debug, Clone)]
pub struct DatabaseUnavailable {
    cause: Arc<sqlx::Error>,
}

impl DatabaseUnavailable {
    /// The database client's error.
    pub fn cause(&self) -> &sqlx::Error {
        &self.cause
    }
}

impl std::fmt::Display for DatabaseUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.cause.fmt(f)
    }
}

impl std::error::Error for DatabaseUnavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&oauth_runtime::StorageUnavailable)
    }
}

/// Whether a database client error means "not reachable now" rather than a
/// failure of the statement: a pool time-out, an I/O error (refused, reset,
/// closed), or a server saying it cannot take the connection (SQLSTATE class
/// `08` connection exception, `57P01`-`57P03` shutting down or starting,
/// `53300` too many connections).
fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

impl From<oauth_runtime::oidc::KeyError> for SqlError {
    fn from(error: oauth_runtime::oidc::KeyError) -> Self {
        Self::Key(Arc::new(error))
    }
}

impl SqlError {
    /// A stored field that cannot be read back.
    pub(crate) fn corrupt(field: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt(ModelError::new(field, reason))
    }

    /// Whether a unique constraint refused the statement.
    #[cfg(feature = "postgres")]
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(error)
            if matches!(&**error, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation))
    }

    /// Whether the failure left the surrounding transaction intact: a
    /// constraint violation (SQLite undoes only the failing statement) or an
    /// error found client-side, before or after the statement ran. Anything
    /// else may have rolled the whole transaction back.
    #[cfg(feature = "sqlite")]
    pub(crate) fn is_statement_level(&self) -> bool {
        use sqlx::error::ErrorKind;
        match self {
            Self::Corrupt(_) => true,
            Self::Database(error) => match &**error {
                sqlx::Error::Database(db) => matches!(
                    db.kind(),
                    ErrorKind::UniqueViolation
                        | ErrorKind::ForeignKeyViolation
                        | ErrorKind::NotNullViolation
                        | ErrorKind::CheckViolation
                ),
                sqlx::Error::Encode(_)
                | sqlx::Error::Decode(_)
                | sqlx::Error::ColumnDecode { .. }
                | sqlx::Error::ColumnNotFound(_)
                | sqlx::Error::ColumnIndexOutOfBounds { .. }
                | sqlx::Error::TypeNotFound { .. } => true,
                _ => false,
            },
            _ => false,
        }
    }
}

impl From<sqlx::Error> for SqlError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolClosed => Self::Closed,
            error if is_unreachable(&error) => Self::Unavailable(DatabaseUnavailable {
                cause: Arc::new(error),
            }),
            error => Self::Database(Arc::new(error)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for SqlError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migrate(Arc::new(error))
    }
}

#[cfg(test)]
mod tests {
    use oauth_runtime::{ErrorCode, OAuthError};

    use super::SqlError;

    #[test]
    fn pool_time_outs_and_lost_connections_are_temporarily_unavailable() {
        let unreachable = [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
        ];
        for error in unreachable {
            let error = SqlError::from(error);
            assert!(matches!(error, SqlError::Unavailable(_)), "{error:?}");
            let answer = OAuthError::storage(&error);
            assert_eq!(answer.code(), ErrorCode::TemporarilyUnavailable, "{error}");
            assert_eq!(answer.retry_after(), Some(1));
        }
        let error = SqlError::from(sqlx::Error::RowNotFound);
        assert_eq!(OAuthError::storage(&error).code(), ErrorCode::ServerError);
        assert!(matches!(
            SqlError::from(sqlx::Error::PoolClosed),
            SqlError::Closed
        ));
    }
}
