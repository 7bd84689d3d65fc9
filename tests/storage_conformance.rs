//! The storage conformance kit (`granted::testing`) against the stores
//! granted ships: `MemoryStore`, and `SqlStore` on SQLite (in memory and in
//! a file) and on PostgreSQL (a database of its own on the server
//! `GRANTED_TEST_POSTGRES_URL` names; `./scripts/test` starts one). The
//! README's example store runs it in `tests/readme_store.rs`, and the kit's
//! own tests (a broken store per rule) are in `src/testing/tests.rs`.

#![cfg(all(feature = "testing", feature = "sqlite"))]

#[cfg(feature = "postgres")]
#[path = "shared/postgres.rs"]
mod postgres;

use granted::MemoryStore;
use granted::sql::SqlStore;
use granted::testing::{Rule, check_storage};

#[tokio::test(flavor = "multi_thread")]
async fn memory_store_follows_every_storage_rule() {
    let report = check_storage(|| async { MemoryStore::new() }).await;
    report.assert_passed();
    assert_eq!(report.held(), Rule::ALL, "every rule ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_store_on_sqlite_in_memory_follows_every_storage_rule() {
    let report = check_storage(|| async {
        SqlStore::connect("sqlite::memory:")
            .await
            .expect("an in-memory SQLite database")
    })
    .await;
    report.assert_passed();
    assert_eq!(report.held(), Rule::ALL, "every rule ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_store_on_a_sqlite_file_follows_every_storage_rule() {
    let path = std::env::temp_dir().join(format!(
        "granted-conformance-{}-{}.db",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let url = format!("sqlite://{}", path.display());
    // Every rule connects anew to the same file: they share one database.
    let report = check_storage(|| async { SqlStore::connect(&url).await.expect("a SQLite file") }).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    report.assert_passed();
    assert_eq!(report.held(), Rule::ALL, "every rule ran");
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn sql_store_on_postgres_follows_every_storage_rule() {
    let Some(db) = postgres::TestDatabase::create().await else {
        return;
    };
    let report =
        check_storage(|| async { SqlStore::connect(&db.url).await.expect("the test database") }).await;
    report.assert_passed();
    assert_eq!(report.held(), Rule::ALL, "every rule ran");
}
