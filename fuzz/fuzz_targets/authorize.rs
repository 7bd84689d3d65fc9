//! Authorization-request validation on arbitrary query strings: never a
//! panic; a redirect (success or error) only ever goes to a URI registered
//! for the client and carries `iss`; everything else is an error page.
#![no_main]

use granted::http::{HeaderMap, Method};
use granted::{AuthorizeError, Request};
use granted_fuzz::{ISSUER, OTHER_REDIRECT, REDIRECT, block_on, server};
use libfuzzer_sys::fuzz_target;

fn registered(uri: &str) -> bool {
    uri == REDIRECT || uri == OTHER_REDIRECT
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let server = server();
    let headers = HeaderMap::new();
    let request = Request::new(&Method::GET, &headers).with_query(Some(query));
    match block_on(server.authorize(&request)) {
        Ok(pending) => {
            assert!(registered(pending.redirect_uri()));
            let approved = block_on(server.approve(&pending, "user-1", None)).expect("approve");
            assert!(approved.param("code").is_some());
            assert_eq!(approved.param("iss"), Some(ISSUER));
            let _ = approved.into_response();
            let denied = server.deny(&pending);
            assert_eq!(denied.param("error"), Some("access_denied"));
        }
        Err(AuthorizeError::Redirect(redirect)) => {
            assert!(redirect.param("error").is_some());
            assert_eq!(redirect.param("iss"), Some(ISSUER));
            if let Some(location) = redirect.location() {
                assert!(
                    location.starts_with(&format!("{REDIRECT}?"))
                        || location.starts_with(&format!("{REDIRECT}#"))
                        || location.starts_with(&format!("{OTHER_REDIRECT}?"))
                        || location.starts_with(&format!("{OTHER_REDIRECT}#")),
                    "redirect to {location}"
                );
            }
            let response = redirect.into_response();
            assert!(response.status() == 302 || response.status() == 200);
        }
        Err(error) => {
            let response = error.into_response();
            assert_eq!(response.status().as_u16() / 100, 4);
            assert!(response.header("location").is_none());
        }
    }
});
