//! `Params::parse` on arbitrary bytes: never panics; what it accepts has
//! distinct, non-empty names and at most `MAX_PARAMS` of them.
#![no_main]

use granted::{MAX_PARAMS, Params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = Params::parse(data) {
        let names: Vec<&str> = params.iter().map(|(n, _)| n).collect();
        assert!(names.len() <= MAX_PARAMS);
        for (i, name) in names.iter().enumerate() {
            assert!(!name.is_empty());
            assert!(!names[..i].contains(name), "`{name}` repeated");
        }
        for (name, value) in params.iter() {
            assert_eq!(params.get(name), Some(value).filter(|v| !v.is_empty()));
        }
    }
});
