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
    (
        12,
        "partial refresh index",
        include_str!("../../migrations/sqlite/0012_partial_refresh_index.sql"),
    ),
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

    /// Migration 12 rebuilds a populated tokens table: every row is kept,
    /// a refresh token's hash stays unique and is found through the new
    /// partial index, and tokens without one are no longer indexed by it.
    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn the_sqlite_tokens_table_is_rebuilt_with_its_rows() {
        use sqlx::{Connection as _, SqliteConnection};

        let mut connection = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let twelve = SQLITE.iter().position(|&(version, ..)| version == 12).unwrap();
        migrator(&SQLITE[..twelve]).run(&mut connection).await.unwrap();
        let insert = "INSERT INTO tokens (access_hash, refresh_hash, client_id, scope, family, \
                      issued_at, expires_at, refresh_scope, jkt) VALUES (?, ?, 'c', 'read', ?, 1, 2, ?, ?)";
        for n in 0u8..20 {
            let refresh = (n % 4 == 0).then(|| vec![n + 100; 32]);
            sqlx::query(insert)
                .bind(vec![n; 32])
                .bind(refresh)
                .bind(format!("family-{}", n / 2))
                .bind((n == 4).then_some("read"))
                .bind((n == 8).then_some("thumbprint"))
                .execute(&mut connection)
                .await
                .unwrap();
        }
        let rows =
            "SELECT access_hash, refresh_hash, family, refresh_scope, jkt FROM tokens ORDER BY access_hash";
        type Row = (Vec<u8>, Option<Vec<u8>>, String, Option<String>, Option<String>);
        let kept: Vec<Row> = sqlx::query_as(rows).fetch_all(&mut connection).await.unwrap();

        migrator(SQLITE).run(&mut connection).await.unwrap();

        let migrated: Vec<Row> = sqlx::query_as(rows).fetch_all(&mut connection).await.unwrap();
        assert_eq!(migrated, kept);
        let (_, _, _, plan): (i64, i64, i64, String) =
            sqlx::query_as("EXPLAIN QUERY PLAN SELECT access_hash FROM tokens WHERE refresh_hash = ?")
                .bind(vec![100u8; 32])
                .fetch_one(&mut connection)
                .await
                .unwrap();
        assert!(plan.contains("tokens_refresh_hash"), "{plan}");
        let (indexed,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM tokens INDEXED BY tokens_refresh_hash WHERE refresh_hash IS NOT NULL",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        assert_eq!(indexed, 5);
        let duplicate = sqlx::query(insert)
            .bind(vec![50u8; 32])
            .bind(vec![100u8; 32])
            .bind("family-x")
            .bind(None::<&str>)
            .bind(None::<&str>)
            .execute(&mut connection)
            .await;
        assert!(duplicate.is_err(), "a refresh token hash stored twice");
        let (autoindexes,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'tokens' AND name LIKE 'sqlite_autoindex%'",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        assert_eq!(autoindexes, 1, "only the primary key's");
    }
}
