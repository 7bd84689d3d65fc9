//! The token endpoint as a whole: arbitrary form bodies (the first byte picks
//! the client authentication header) against a seeded memory store. Never a
//! panic or a 5xx; a success always carries a Bearer token whose scope is
//! within the client's.
#![no_main]

use granted::Request;
use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted_fuzz::{block_on, check_token_response, server};
use libfuzzer_sys::fuzz_target;

const AUTH: [Option<&str>; 5] = [
    None,
    Some("Basic d2ViOndlYi1zZWNyZXQ="),     // web:web-secret
    Some("Basic c3ZjOnN2Yy1zZWNyZXQ="),     // svc:svc-secret
    Some("Basic cG9zdDpwb3N0LXNlY3JldA=="), // post:post-secret (wrong method)
    Some("Basic d2ViOndyb25n"),             // web:wrong
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Some(value) = AUTH[usize::from(*selector) % AUTH.len()] {
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
    }
    let server = server();
    let response = block_on(server.token(&Request::new(&Method::POST, &headers).with_body(body)));
    check_token_response(&response);
    if response.status() == 200 {
        let json = response.json();
        assert_eq!(json["token_type"], "Bearer");
        let scope = json["scope"].as_str().unwrap_or_default();
        for token in scope.split(' ').filter(|t| !t.is_empty()) {
            assert!(token == "read" || token == "write", "scope {scope}");
        }
    }
});
