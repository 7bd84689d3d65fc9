//! Compile-time behaviour of the macros: every mistake in `tests/ui/*.rs` is
//! a compile error whose message is checked in `tests/ui/*.stderr`, and the
//! servers in `tests/ui/pass/` compile warning-free and run.
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test ui`,
//! then read every diff as a user would.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
