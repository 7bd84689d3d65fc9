//! A PostgreSQL database of its own for each test, created from the server
//! that `GRANTED_TEST_POSTGRES_URL` names (`./scripts/test` starts a
//! throwaway cluster and sets it; see `scripts/pg-test-cluster`).
//!
//! Without that URL a Postgres test is skipped with a note, except in CI
//! (`CI=true`), where it fails: CI must never skip them silently.
//!
//! Included with `#[path]` by the test crates that need it.

#![allow(dead_code, reason = "each test crate uses a part")]

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection as _;

/// The variable naming the test server (its URL may name any database the
/// user can connect to; it must be allowed to create databases).
pub const URL_VAR: &str = "GRANTED_TEST_POSTGRES_URL";

/// The admin URL, or `None` (with a note) to skip outside CI.
///
/// # Panics
///
/// When the URL is missing and `CI` is `true` (or `1`).
pub fn admin_url() -> Option<String> {
    if let Ok(url) = std::env::var(URL_VAR)
        && !url.is_empty()
    {
        return Some(url);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(
        !ci,
        "{URL_VAR} is not set while CI=true: the PostgreSQL tests must run in CI \
         (./scripts/test starts a throwaway cluster and sets it)"
    );
    eprintln!("note: {URL_VAR} is not set; skipping this PostgreSQL test (./scripts/test sets it)");
    None
}

/// `url` with its database name replaced by `name` (query parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[authority_start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| authority_start + i);
    let query_start = url[path_start..].find('?').map_or(url.len(), |i| path_start + i);
    format!("{}/{name}{}", &url[..path_start], &url[query_start..])
}

/// A database created for one test and dropped (connections and all) when
/// this value is dropped.
pub struct TestDatabase {
    admin: String,
    name: String,
    /// The URL of the new database, password included.
    pub url: String,
}

impl TestDatabase {
    /// Creates an empty database; `None` when the Postgres tests are skipped.
    ///
    /// # Panics
    ///
    /// When the server cannot be reached or refuses, and as [`admin_url`].
    pub async fn create() -> Option<Self> {
        let admin = admin_url()?;
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut connection = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = connection.close().await;
        let url = with_database(&admin, &name);
        Some(Self { admin, name, url })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside or outside a runtime: a thread of its own works in both.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&admin).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut connection)
                    .await
                    .ok()?;
                connection.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: the test database {} was left behind", self.name);
        }
    }
}

#[test]
fn database_names_replace_the_path_only() {
    assert_eq!(
        with_database("postgres://u:p@127.0.0.1:5432/granted", "t1"),
        "postgres://u:p@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
        "postgres://u:p@h/t2?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
    assert_eq!(
        with_database("postgres://h?application_name=x", "t4"),
        "postgres://h/t4?application_name=x"
    );
}
