//! The DPoP proof parser (RFC 9449 §4.3): arbitrary `DPoP` header text never
//! panics, and is refused with `invalid_dpop_proof` (no input is a valid
//! proof: nothing signs it); `tests/properties.rs` drives the same entry
//! points on stable.
#![no_main]

use granted::dpop::{DpopError, Expected, parse_header, verify_proof};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(proof) = std::str::from_utf8(data) else {
        return;
    };
    let header = parse_header(proof);
    assert!(matches!(header, Ok(_) | Err(DpopError::Invalid(_))), "{header:?}");
    let expected = Expected::new("POST", "https://as.example/oauth/token", 1_700_000_000);
    let verified = verify_proof(proof, &expected);
    assert!(matches!(verified, Err(DpopError::Invalid(_))), "{verified:?}");
});
