//! The client assertion parser of `private_key_jwt`: arbitrary text never
//! panics; what it accepts has an accepted algorithm and a subject, and
//! never verifies against an empty key set. (On stable, the proptest
//! `assertion::tests::parse_never_panics` drives the same entry point.)
#![no_main]

use granted::assertion::{AssertionError, parse, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = parse(text) else {
        return;
    };
    assert!(!parsed.subject.is_empty());
    let verified = verify(text, &parsed, &parsed.subject, r#"{"keys": []}"#, &[], 0);
    assert_eq!(verified, Err(AssertionError::NoKey));
});
