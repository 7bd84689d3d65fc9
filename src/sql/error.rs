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
    /// No connection came free in time: the endpoints answer
    /// `temporarily_unavailable` (503) rather than `server_error`.
    #[error("the database did not answer in time: {0}")]
    Unavailable(#[source] oauth_runtime::StorageUnavailable),
    /// A signing key could not be generated.
    #[error(transparent)]
    Key(#[from] Arc<oauth_runtime::oidc::KeyError>),
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
            sqlx::Error::PoolTimedOut => Self::Unavailable(oauth_runtime::StorageUnavailable),
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
    fn a_pool_time_out_is_temporarily_unavailable() {
        let error = SqlError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(
            OAuthError::storage(&error).code(),
            ErrorCode::TemporarilyUnavailable
        );
        let error = SqlError::from(sqlx::Error::RowNotFound);
        assert_eq!(OAuthError::storage(&error).code(), ErrorCode::ServerError);
    }
}
