//! RFC 6819 §4.4.1.9 / RFC 9700 §4.17 (clickjacking): every HTML page the
//! runtime renders forbids framing, with both `X-Frame-Options: DENY` and a
//! CSP `frame-ancestors 'none'`, and is never cached. (The consent page
//! itself belongs to the application; the example server's e2e tests cover it.)

use granted::AuthorizeError;

use crate::support::*;

fn assert_unframeable(response: &granted::Response, what: &str) {
    assert_eq!(response.header("x-frame-options"), Some("DENY"), "{what}");
    let csp = response.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
}

#[tokio::test]
async fn the_error_page_cannot_be_framed() {
    let server = server();
    let Err(error @ AuthorizeError::Display(_)) = authorize(&server, "client_id=nobody").await else {
        panic!("expected an error page");
    };
    assert_unframeable(&error.into_response(), "error page");
}

#[tokio::test]
async fn the_form_post_response_cannot_be_framed() {
    let server = server();
    let response = approved(&server, &auth_query("web", "&response_mode=form_post")).await;
    let response = response.into_response();
    assert_eq!(response.status(), 200);
    assert_unframeable(&response, "form_post");
    let body = String::from_utf8_lossy(response.body());
    assert!(body.contains(&format!("action=\"{REDIRECT}\"")), "{body}");
}
