//! RFC 9700 §4.1 (insufficient redirect URI validation), RFC 6819 §4.4.1.7:
//! redirect URIs are compared by exact string match, at the authorization
//! endpoint (an error page, never a redirect) and at the token endpoint.

use granted::AuthorizeError;

use crate::support::*;

/// Variations of the registered `https://client.example/cb`.
const MANIPULATED: &[&str] = &[
    "https://client.example/cb/../evil",
    "https://client.example/cb/%2e%2e/evil",
    "https://client.example/evil/../cb",
    "https://client.example/cb?x=1",
    "https://client.example/cb?",
    "https://client.example:8443/cb",
    "https://client.example:443/cb",
    "https://client.example@evil.example/cb",
    "https://evil.example@client.example/cb",
    "https://client.example%40evil.example/cb",
    "https://client.example.evil.example/cb",
    "https://CLIENT.example/cb",
    "https://client.example/CB",
    "HTTPS://client.example/cb",
    "https://client.example/cb#",
    "https://client.example/cb#frag",
    "https://client.example/cb/",
    "https://client.example/cb ",
    "http://client.example/cb",
    "javascript://client.example/cb",
    "https://client.example/cbx",
    "https://client.example\\@evil.example/cb",
    "//client.example/cb",
    "https://client.example/cb%00",
];

#[tokio::test]
async fn authorization_endpoint_shows_an_error_page_and_never_redirects() {
    let server = server();
    for uri in MANIPULATED {
        let query = format!(
            "response_type=code&client_id=web&redirect_uri={}&state=s&code_challenge={}&code_challenge_method=S256",
            enc(uri),
            challenge()
        );
        match authorize(&server, &query).await {
            Err(AuthorizeError::Display(error)) => {
                assert_eq!(error.code().as_str(), "invalid_request", "{uri}");
            }
            Err(AuthorizeError::Redirect(redirect)) => panic!("{uri}: redirected to {redirect:?}"),
            Err(other) => panic!("{uri}: {other:?}"),
            Ok(_) => panic!("{uri}: accepted"),
        }
        let Err(error) = authorize(&server, &query).await else {
            unreachable!()
        };
        let response = error.into_response();
        assert_eq!(response.status(), 400, "{uri}");
        assert!(response.header("location").is_none(), "{uri}");
    }
}

#[tokio::test]
async fn token_endpoint_refuses_a_redirect_uri_other_than_the_authorization_requests() {
    let server = server();
    for uri in MANIPULATED
        .iter()
        .copied()
        .chain(["https://client.example/other"])
    {
        let code = code_for(&server, "web", "").await;
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(uri)
        );
        let response = token(&server, Auth::Basic("web", WEB_SECRET), &body).await;
        assert_eq!(error_of(&response), "invalid_grant", "{uri}");
    }
}

#[tokio::test]
async fn token_endpoint_requires_the_redirect_uri_the_authorization_request_carried() {
    let server = server();
    let code = code_for(&server, "web", "").await;
    let body = format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}");
    let response = token(&server, Auth::Basic("web", WEB_SECRET), &body).await;
    assert_eq!(error_of(&response), "invalid_request");
}

#[tokio::test]
async fn a_client_with_several_uris_must_name_one() {
    let server = server();
    let query = format!(
        "response_type=code&client_id=web&code_challenge={}&code_challenge_method=S256",
        challenge()
    );
    assert!(matches!(
        authorize(&server, &query).await,
        Err(AuthorizeError::Display(_))
    ));
}

#[tokio::test]
async fn another_clients_registered_uri_is_refused() {
    let server = server();
    // `https://client.example/other` is registered for `web`, not for `spa`.
    let query = format!(
        "response_type=code&client_id=spa&redirect_uri={}&code_challenge={}&code_challenge_method=S256",
        enc("https://client.example/other"),
        challenge()
    );
    assert!(matches!(
        authorize(&server, &query).await,
        Err(AuthorizeError::Display(_))
    ));
}
