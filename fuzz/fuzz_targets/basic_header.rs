//! The `Authorization` header at the token, revocation and introspection
//! endpoints: arbitrary header bytes never panic and never yield a 5xx; a
//! malformed header is `invalid_request` or `invalid_client`.
#![no_main]

use granted::Request;
use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted_fuzz::{block_on, check_token_response, server};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(AUTHORIZATION, value);
    let server = server();
    let body = b"grant_type=client_credentials&token=abc";
    let request = || Request::new(&Method::POST, &headers).with_body(body);
    let token = block_on(server.token(&request()));
    check_token_response(&token);
    if token.status() != 200 {
        let error = token.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            ["invalid_request", "invalid_client", "unauthorized_client"].contains(&error.as_str()),
            "{error}"
        );
    }
    check_token_response(&block_on(server.revoke(&request())));
    check_token_response(&block_on(server.introspect(&request())));
});
