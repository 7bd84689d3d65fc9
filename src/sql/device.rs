//! Device authorizations ([`DeviceStorage`]) in SQL: the statements both
//! backends run, and [`device_ops!`], which turns them into functions for
//! one backend's executor. The two steps that must happen once are atomic
//! in one statement: a decision is an `UPDATE ... WHERE status = 'pending'`
//! (of two decisions, the second changes no row), and a decided
//! authorization is taken by a `DELETE ... RETURNING` that names its client
//! and skips pending rows (of two instances taking one, the second gets
//! nothing).
//!
//! [`DeviceStorage`]: oauth_runtime::storage::DeviceStorage

use oauth_runtime::{DeviceAuthorization, DeviceStatus, Scope, TokenHash};

use super::SqlError;

/// The columns of a row, in [`DeviceRow`] order.
macro_rules! columns {
    () => {
        "device_code_hash, user_code_hash, client_id, scope, expires_at, poll_interval, \
         last_polled_at, status, subject, auth_time"
    };
}

pub(crate) const INSERT_DEVICE: &str = "INSERT INTO device_authorizations \
     (device_code_hash, user_code_hash, client_id, scope, expires_at, poll_interval, last_polled_at, \
     status, subject, auth_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

pub(crate) const SELECT_DEVICE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM device_authorizations WHERE device_code_hash = $1"
);

pub(crate) const SELECT_BY_USER_CODE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM device_authorizations WHERE user_code_hash = $1"
);

pub(crate) const RECORD_POLL: &str = "UPDATE device_authorizations \
     SET last_polled_at = $2, poll_interval = $3 WHERE device_code_hash = $1";

pub(crate) const DECIDE: &str = "UPDATE device_authorizations \
     SET status = $2, subject = $3, auth_time = $4 WHERE user_code_hash = $1 AND status = 'pending'";

pub(crate) const TAKE_DEVICE: &str = concat!(
    "DELETE FROM device_authorizations \
     WHERE device_code_hash = $1 AND client_id = $2 AND status <> 'pending' RETURNING ",
    columns!()
);

pub(crate) const PURGE_DEVICES: &str = "DELETE FROM device_authorizations WHERE expires_at <= $1";

/// A device authorization as read back: the columns in table order.
pub(crate) type DeviceRow = (
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<i64>,
);

/// The status columns of a status: `status, subject, auth_time`.
pub(crate) fn status_columns(status: &DeviceStatus) -> (&'static str, Option<&str>, Option<i64>) {
    match status {
        DeviceStatus::Approved { subject, auth_time } => ("approved", Some(subject), Some(*auth_time)),
        other => (other.as_str(), None, None),
    }
}

fn hash(bytes: Vec<u8>, field: &'static str) -> Result<TokenHash, SqlError> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| SqlError::corrupt(field, "not 32 bytes"))?;
    Ok(TokenHash::from_bytes(bytes))
}

/// The record of a row.
pub(crate) fn from_row(row: DeviceRow) -> Result<DeviceAuthorization, SqlError> {
    let (
        device_code,
        user_code,
        client_id,
        scope,
        expires_at,
        interval,
        last_polled_at,
        status,
        subject,
        auth_time,
    ) = row;
    let status = match (status.as_str(), subject, auth_time) {
        ("pending", _, _) => DeviceStatus::Pending,
        ("denied", _, _) => DeviceStatus::Denied,
        ("approved", Some(subject), Some(auth_time)) => DeviceStatus::Approved { subject, auth_time },
        _ => {
            return Err(SqlError::corrupt(
                "device_authorizations.status",
                "not a known status",
            ));
        }
    };
    Ok(DeviceAuthorization {
        device_code: hash(device_code, "device_authorizations.device_code_hash")?,
        user_code: hash(user_code, "device_authorizations.user_code_hash")?,
        client_id,
        scope: Scope::parse(&scope)
            .map_err(|_| SqlError::corrupt("device_authorizations.scope", "not a valid scope"))?,
        expires_at,
        interval,
        last_polled_at,
        status,
    })
}

/// The device functions for one backend (`sqlx::Sqlite` or `sqlx::Postgres`).
macro_rules! device_ops {
    ($db:ty) => {
        /// Device authorization statements.
        pub(crate) mod device {
            use oauth_runtime::{DeviceAuthorization, DeviceStatus, TokenHash};

            use $crate::sql::SqlError;
            use $crate::sql::device::{self as sql, DeviceRow};

            /// Stores a new device authorization.
            pub(crate) async fn insert<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                device: &DeviceAuthorization,
            ) -> Result<(), SqlError> {
                let (status, subject, auth_time) = sql::status_columns(&device.status);
                sqlx::query(sql::INSERT_DEVICE)
                    .bind(device.device_code.as_bytes().as_slice())
                    .bind(device.user_code.as_bytes().as_slice())
                    .bind(&device.client_id)
                    .bind(device.scope.to_string())
                    .bind(device.expires_at)
                    .bind(device.interval)
                    .bind(device.last_polled_at)
                    .bind(status)
                    .bind(subject)
                    .bind(auth_time)
                    .execute(exec)
                    .await?;
                Ok(())
            }

            /// The device authorization of a device code hash.
            pub(crate) async fn select<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                device_code: &TokenHash,
            ) -> Result<Option<DeviceAuthorization>, SqlError> {
                let row: Option<DeviceRow> = sqlx::query_as(sql::SELECT_DEVICE)
                    .bind(device_code.as_bytes().as_slice())
                    .fetch_optional(exec)
                    .await?;
                row.map(sql::from_row).transpose()
            }

            /// The device authorization of a user code hash.
            pub(crate) async fn select_by_user_code<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                user_code: &TokenHash,
            ) -> Result<Option<DeviceAuthorization>, SqlError> {
                let row: Option<DeviceRow> = sqlx::query_as(sql::SELECT_BY_USER_CODE)
                    .bind(user_code.as_bytes().as_slice())
                    .fetch_optional(exec)
                    .await?;
                row.map(sql::from_row).transpose()
            }

            /// Records a poll and the interval in force.
            pub(crate) async fn record_poll<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                device_code: &TokenHash,
                polled_at: i64,
                interval: i64,
            ) -> Result<(), SqlError> {
                sqlx::query(sql::RECORD_POLL)
                    .bind(device_code.as_bytes().as_slice())
                    .bind(polled_at)
                    .bind(interval)
                    .execute(exec)
                    .await?;
                Ok(())
            }

            /// Decides a pending authorization; `false` when none was pending.
            pub(crate) async fn decide<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                user_code: &TokenHash,
                status: &DeviceStatus,
            ) -> Result<bool, SqlError> {
                let (status, subject, auth_time) = sql::status_columns(status);
                let changed = sqlx::query(sql::DECIDE)
                    .bind(user_code.as_bytes().as_slice())
                    .bind(status)
                    .bind(subject)
                    .bind(auth_time)
                    .execute(exec)
                    .await?
                    .rows_affected();
                Ok(changed == 1)
            }

            /// Removes and returns the decided authorization of `client_id`.
            pub(crate) async fn take<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                device_code: &TokenHash,
                client_id: &str,
            ) -> Result<Option<DeviceAuthorization>, SqlError> {
                let row: Option<DeviceRow> = sqlx::query_as(sql::TAKE_DEVICE)
                    .bind(device_code.as_bytes().as_slice())
                    .bind(client_id)
                    .fetch_optional(exec)
                    .await?;
                row.map(sql::from_row).transpose()
            }

            /// Deletes device authorizations expired at `now`; returns how many.
            pub(crate) async fn purge<'c>(
                exec: impl sqlx::Executor<'c, Database = $db>,
                now: i64,
            ) -> Result<u64, SqlError> {
                Ok(sqlx::query(sql::PURGE_DEVICES)
                    .bind(now)
                    .execute(exec)
                    .await?
                    .rows_affected())
            }
        }
    };
}
pub(crate) use device_ops;
