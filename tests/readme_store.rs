//! The storage of the README's first example ("What you write"), run
//! through the storage conformance kit: the README's store must follow
//! every storage rule a user's store must follow. The store is
//! `readme_store/store.rs`, included here; a test checks that README.md
//! holds exactly its text (it is kept out of rustfmt's reach by `include!`,
//! so that it stays as the README writes it).

#![cfg(feature = "testing")]

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Mutex, MutexGuard};

use granted::TokenHash;

include!("readme_store/store.rs");

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_store_follows_the_storage_rules() {
    let report = granted::testing::check_storage(|| async { Store::default() }).await;
    report.assert_passed();
    assert!(
        report
            .held()
            .contains(&granted::testing::Rule::RevokedFamiliesStayRevoked)
    );
}

#[test]
fn the_readme_holds_this_store_verbatim() {
    assert!(
        include_str!("../README.md").contains(include_str!("readme_store/store.rs")),
        "README.md's example store and tests/readme_store/store.rs differ: keep them the same"
    );
}
