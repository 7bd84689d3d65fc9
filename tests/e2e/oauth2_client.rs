//! The authorization code flow with PKCE and refresh, driven by the `oauth2`
//! crate as a real third-party client.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    RefreshToken, Scope, TokenResponse as _, TokenUrl,
};

use crate::support::{TestServer, consent, http, query_param};

const REDIRECT: &str = "http://127.0.0.1:9/cb";

#[tokio::test]
async fn code_flow_with_pkce_then_refresh_with_the_oauth2_crate() {
    let server = TestServer::start("sqlite://granted.db", "http://127.0.0.1:9/unused");
    let client = BasicClient::new(ClientId::new("web".into()))
        .set_client_secret(ClientSecret::new("web-secret".into()))
        .set_auth_uri(AuthUrl::new(server.url("/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(server.url("/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();

    let location = consent(&server, url.as_str(), ("alice", "wonderland"), "approve").await;
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(server.base.as_str())
    );
    let code = query_param(&location, "code").expect("code");

    let http = http();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the oauth2 crate accepts our token response");
    assert_eq!(tokens.scopes().unwrap()[0].as_str(), "read");
    assert_eq!(tokens.expires_in().unwrap().as_secs(), 3600);
    let refresh = tokens.refresh_token().expect("a refresh token").clone();

    let me = http
        .get(server.url("/api/me"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["client_id"], "web");
    assert_eq!(me["scope"], "read");
    assert!(me["sub"].as_str().is_some_and(|s| !s.is_empty() && s != "alice"));

    let refreshed = client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .expect("refresh");
    let rotated = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(rotated.secret(), refresh.secret());

    // The old refresh token is spent; presenting it again revokes the family.
    let reuse = client.exchange_refresh_token(&refresh).request_async(&http).await;
    assert!(reuse.is_err());
    let after = client
        .exchange_refresh_token(&RefreshToken::new(rotated.secret().clone()))
        .request_async(&http)
        .await;
    assert!(after.is_err(), "the whole family is revoked");

    // The code was single-use.
    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(oauth2::PkceCodeVerifier::new("x".repeat(43)))
        .request_async(&http)
        .await;
    assert!(replay.is_err());
}

#[tokio::test]
async fn a_public_client_must_use_pkce() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let client = http();
    let url = server.url("/oauth/authorize?response_type=code&client_id=spa&state=s1");
    let answer = client.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
}
