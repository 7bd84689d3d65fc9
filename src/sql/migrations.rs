//! The schema migrations, embedded in the binary.
//!
//! The files live in `migrations/sqlite/` and `migrations/postgres/` at the
//! root of the package, named as `sqlx migrate` expects (`NNNN_name.sql`).
//! They are embedded with `include_str!` and handed to sqlx's [`Migrator`],
//! which records them in `_sqlx_migrations` with the same checksums
//! `sqlx::migrate!` would compute: `sqlx::migrate!` itself needs sqlx's proc
//! macros, and with them a second build of SQLite for the host. A test checks
//! that every file of the directories is listed here.

use std::borrow::Cow;

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, description, sql)` of each migration, oldest first.
type Embedded = &'static [(i64, &'static str, &'static str)];

/// The SQLite migrations.
#[cfg(feature = "sqlite")]
pub(crate) const SQLITE: Embedded = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        "openid",
        include_str!("../../migrations/sqlite/0002_openid.sql"),
    ),
    (
        3,
        "revoked families",
        include_str!("../../migrations/sqlite/0003_revoked_families.sql"),
    ),
    (
        4,
        "refresh scope",
        include_str!("../../migrations/sqlite/0004_refresh_scope.sql"),
    ),
    (
        5,
        "server secrets",
        include_str!("../../migrations/sqlite/0005_server_secrets.sql"),
    ),
    (
        6,
        "auth failures",
        include_str!("../../migrations/sqlite/0006_auth_failures.sql"),
    ),
    (
        7,
        "login sessions",
        include_str!("../../migrations/sqlite/0007_login_sessions.sql"),
    ),
    (
        8,
        "device",
        include_str!("../../migrations/sqlite/0008_device.sql"),
    ),
    (
        9,
        "par and assertions",
        include_str!("../../migrations/sqlite/0009_par_and_assertions.sql"),
    ),
    (10, "dpop", include_str!("../../migrations/sqlite/0010_dpop.sql")),
];

/// The PostgreSQL migrations.
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: Embedded = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        "openid",
        include_str!("../../migrations/postgres/0002_openid.sql"),
    ),
    (
        3,
        "revoked families",
        include_str!("../../migrations/postgres/0003_revoked_families.sql"),
    ),
    (
        4,
        "refresh scope",
        include_str!("../../migrations/postgres/0004_refresh_scope.sql"),
    ),
    (
        5,
        "server secrets",
        include_str!("../../migrations/postgres/0005_server_secrets.sql"),
    ),
    (
        6,
        "auth failures",
        include_str!("../../migrations/postgres/0006_auth_failures.sql"),
    ),
    (
        7,
        "login sessions",
        include_str!("../../migrations/postgres/0007_login_sessions.sql"),
    ),
    (
        8,
        "device",
        include_str!("../../migrations/postgres/0008_device.sql"),
    ),
    (
        9,
        "par and assertions",
        include_str!("../../migrations/postgres/0009_par_and_assertions.sql"),
    ),
    (
        10,
        "dpop",
        include_str!("../../migrations/postgres/0010_dpop.sql"),
    ),
    (
        12,
        "partial refresh index",
        include_str!("../../migrations/postgres/0012_partial_refresh_index.sql"),
    ),
];

/// A migrator for embedded migrations.
pub(crate) fn migrator(embedded: Embedded) -> Migrator {
    Migrator::with_migrations(
        embedded
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.sql` file of `dir`, as `(version, description)`.
    fn files(dir: &str) -> Vec<(i64, String)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut found: Vec<(i64, String)> = std::fs::read_dir(path)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter_map(|name| {
                let stem = name.strip_suffix(".sql")?;
                let (version, description) = stem.split_once('_')?;
                Some((version.parse().unwrap(), description.replace('_', " ")))
            })
            .collect();
        found.sort();
        found
    }

    fn listed(embedded: Embedded) -> Vec<(i64, String)> {
        embedded
            .iter()
            .map(|&(version, description, _)| (version, description.to_owned()))
            .collect()
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn every_sqlite_migration_file_is_embedded() {
        assert_eq!(listed(SQLITE), files("sqlite"));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn every_postgres_migration_file_is_embedded() {
        assert_eq!(listed(POSTGRES), files("postgres"));
    }
}
