//! RFC 9700 §4.11 / RFC 6749 §4.1.2.1 (open redirection): an error at the
//! authorization endpoint redirects only to a URI registered for the
//! client; when the client or URI cannot be trusted it shows a page.

use granted::AuthorizeError;

use crate::support::*;

const EVIL: &str = "https%3A%2F%2Fevil.example%2Fcb";

#[tokio::test]
async fn errors_with_an_untrusted_client_or_uri_never_redirect() {
    let server = server();
    let queries = [
        // Unknown client with an attacker URI, and broken everything else.
        format!("response_type=token&client_id=nobody&redirect_uri={EVIL}&state=s"),
        // No client at all.
        format!("response_type=code&redirect_uri={EVIL}"),
        // Known client, unregistered URI, and an error that would redirect.
        format!("response_type=bogus&client_id=web&redirect_uri={EVIL}&scope=admin"),
        format!("response_type=code&client_id=spa&redirect_uri={EVIL}"),
        // A client without any registered redirect URI.
        format!("response_type=code&client_id=svc&redirect_uri={EVIL}"),
        "response_type=code&client_id=svc".to_owned(),
        // A query that cannot be parsed: repeated parameters.
        format!("client_id=web&redirect_uri={REDIRECT_ENC}&redirect_uri={EVIL}&response_type=code"),
        format!("client_id=web&client_id=evil&redirect_uri={EVIL}&response_type=code"),
        // An empty client_id counts as missing.
        format!("client_id=&redirect_uri={EVIL}&response_type=code"),
    ];
    for query in &queries {
        let result = authorize(&server, query).await;
        let Err(error) = result else {
            panic!("{query}: accepted")
        };
        assert!(matches!(error, AuthorizeError::Display(_)), "{query}: {error:?}");
        let response = error.into_response();
        assert_eq!(response.status(), 400, "{query}");
        assert!(response.header("location").is_none(), "{query}");
        let body = String::from_utf8_lossy(response.body());
        assert!(!body.contains("evil.example"), "{query}: {body}");
    }
}

#[tokio::test]
async fn error_redirects_go_only_to_the_registered_uri() {
    let server = server();
    let queries = [
        format!("response_type=token&client_id=web&redirect_uri={REDIRECT_ENC}"),
        format!("response_type=code&client_id=web&redirect_uri={REDIRECT_ENC}&scope=admin"),
        format!("response_type=code&client_id=spa&redirect_uri={REDIRECT_ENC}"),
        // spa has a single URI: omitted, it is used.
        "response_type=code&client_id=spa&scope=admin".to_owned(),
    ];
    for query in &queries {
        let Err(AuthorizeError::Redirect(redirect)) = authorize(&server, query).await else {
            panic!("{query}: expected an error redirect");
        };
        let location = redirect.location().expect("query mode");
        assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
        let response = redirect.into_response();
        assert_eq!(response.status(), 302);
        assert!(
            response
                .header("location")
                .is_some_and(|l| l.starts_with(REDIRECT))
        );
    }
}

#[tokio::test]
async fn the_error_page_escapes_reflected_input() {
    let server = server();
    let query = "response_type=code&client_id=%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let Err(error) = authorize(&server, query).await else {
        panic!("accepted")
    };
    let response = error.into_response();
    let body = String::from_utf8_lossy(response.body());
    assert!(!body.contains("<script>"), "{body}");
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
}
