//! RFC 9700 §4.4 (mix-up attacks), defended by RFC 9207: every
//! authorization response, success or error, carries `iss` equal to the
//! issuer, and the metadata says so.

use granted::{AuthorizeError, EndpointPaths};

use crate::support::*;

fn iss_in_location(location: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("iss="))
        .map(|v| v.replace("%3A", ":").replace("%2F", "/"))
}

#[tokio::test]
async fn success_redirect_carries_iss_and_state() {
    let server = server();
    let response = approved(&server, &auth_query("web", "")).await;
    assert_eq!(response.param("iss"), Some(ISSUER));
    assert_eq!(response.param("state"), Some("st-1"));
    let location = response.location().expect("a redirect");
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(iss_in_location(&location).as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn error_redirects_carry_iss() {
    let server = server();
    let cases = [
        auth_query("web", "&scope=admin"),
        auth_query("web", "&response_mode=bogus"),
        format!("response_type=token&client_id=web&redirect_uri={REDIRECT_ENC}&state=st-1"),
        format!(
            "response_type=code&client_id=post&redirect_uri={REDIRECT_ENC}&state=st-1&code_challenge_method=S256"
        ),
    ];
    for query in &cases {
        let Err(AuthorizeError::Redirect(redirect)) = authorize(&server, query).await else {
            panic!("{query}: expected an error redirect");
        };
        assert!(redirect.param("error").is_some(), "{query}");
        assert_eq!(redirect.param("iss"), Some(ISSUER), "{query}");
        assert_eq!(redirect.param("state"), Some("st-1"), "{query}");
        let location = redirect.location().expect("a redirect");
        assert_eq!(iss_in_location(&location).as_deref(), Some(ISSUER), "{location}");
    }
}

#[tokio::test]
async fn denial_carries_iss() {
    let server = server();
    let pending = authorize(&server, &auth_query("web", "")).await.expect("valid");
    let denied = server.deny(&pending);
    assert_eq!(denied.param("error"), Some("access_denied"));
    assert_eq!(denied.param("iss"), Some(ISSUER));
}

#[tokio::test]
async fn metadata_advertises_the_iss_parameter_for_the_issuer() {
    let server = server();
    let metadata = serde_json::to_value(server.metadata(ISSUER, &EndpointPaths::default()))
        .expect("metadata serializes");
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
}
