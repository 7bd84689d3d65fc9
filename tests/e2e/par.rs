//! Pushed authorization requests (RFC 9126) against the example server:
//! push, authorize with the `request_uri`, exchange the code.

use serde_json::{Value, json};

use crate::support::{TestServer, VERIFIER, consent, fresh_dir, http, query_param};

const CALLBACK: &str = "http://127.0.0.1:9/cb";

fn seed() -> String {
    json!({
        "clients": [
            {"client_id": "web", "client_secret": "web-secret", "redirect_uris": [CALLBACK],
             "grant_types": ["authorization_code", "refresh_token"], "scope": "openid read write"},
            {"client_id": "other", "client_secret": "other-secret", "redirect_uris": [CALLBACK],
             "grant_types": ["authorization_code"], "scope": "read"},
            {"client_id": "strict", "client_secret": "strict-secret", "redirect_uris": [CALLBACK],
             "grant_types": ["authorization_code"], "scope": "read",
             "require_pushed_authorization_requests": true}
        ],
        "users": [{"username": "alice", "password": "wonderland"}]
    })
    .to_string()
}

fn challenge() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER.as_bytes()))
}

fn authorization(client: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", client.into()),
        ("redirect_uri", CALLBACK.into()),
        ("scope", "read".into()),
        ("state", "pushed-1".into()),
        ("code_challenge", challenge()),
        ("code_challenge_method", "S256".into()),
    ]
}

async fn push(server: &TestServer, client: &str, secret: &str) -> reqwest::Response {
    http()
        .post(server.url("/oauth/par"))
        .basic_auth(client, Some(secret))
        .form(&authorization(client))
        .send()
        .await
        .expect("POST /oauth/par")
}

async fn request_uri(server: &TestServer, client: &str, secret: &str) -> String {
    let response = push(server, client, secret).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["expires_in"], 60);
    let uri = body["request_uri"].as_str().expect("request_uri").to_owned();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{uri}");
    uri
}

fn authorize_url(server: &TestServer, client: &str, request_uri: &str) -> String {
    let query = oauth2::url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client)
        .append_pair("request_uri", request_uri)
        .finish();
    server.url(&format!("/oauth/authorize?{query}"))
}

#[tokio::test]
async fn push_authorize_with_the_request_uri_and_exchange_the_code() {
    let server = TestServer::start_seeded(fresh_dir("par"), "sqlite::memory:", &seed(), &[]);
    let uri = request_uri(&server, "web", "web-secret").await;
    let url = authorize_url(&server, "web", &uri);
    let location = consent(&server, &url, ("alice", "wonderland"), "approve").await;
    assert!(location.starts_with(CALLBACK), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("pushed-1"));
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(server.base.as_str())
    );
    let code = query_param(&location, "code").expect("code");

    let tokens = http()
        .post(server.url("/oauth/token"))
        .basic_auth("web", Some("web-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("POST /oauth/token");
    assert_eq!(tokens.status(), 200);
    let tokens: Value = tokens.json().await.expect("JSON");
    assert_eq!(tokens["scope"], "read");
    assert!(tokens["access_token"].is_string());

    // Used up: the same request_uri again is an error page, no redirect.
    let again = http().get(&url).send().await.expect("GET authorize");
    assert_eq!(again.status(), 400);
    assert!(again.headers().get("location").is_none());
}

#[tokio::test]
async fn pushed_requests_are_checked_and_bound_to_their_client() {
    let server = TestServer::start_seeded(fresh_dir("par"), "sqlite::memory:", &seed(), &[]);
    // Client authentication as at the token endpoint.
    let wrong = push(&server, "web", "wrong").await;
    assert_eq!(wrong.status(), 401);
    // The authorization endpoint's validation, answered as JSON.
    let mut wider = authorization("web");
    wider[3].1 = "admin".into();
    let refused = http()
        .post(server.url("/oauth/par"))
        .basic_auth("web", Some("web-secret"))
        .form(&wider)
        .send()
        .await
        .expect("POST /oauth/par");
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().await.expect("JSON");
    assert_eq!(error["error"], "invalid_scope");
    // A request_uri inside a pushed request.
    let mut nested = authorization("web");
    nested.push(("request_uri", "urn:ietf:params:oauth:request_uri:x".into()));
    let nested = http()
        .post(server.url("/oauth/par"))
        .basic_auth("web", Some("web-secret"))
        .form(&nested)
        .send()
        .await
        .expect("POST /oauth/par");
    let error: Value = nested.json().await.expect("JSON");
    assert_eq!(error["error"], "invalid_request");

    // Another client cannot use web's request_uri, nor use it up.
    let uri = request_uri(&server, "web", "web-secret").await;
    let stolen = http()
        .get(authorize_url(&server, "other", &uri))
        .send()
        .await
        .expect("GET authorize");
    assert_eq!(stolen.status(), 400);
    let own = http()
        .get(authorize_url(&server, "web", &uri))
        .send()
        .await
        .expect("GET authorize");
    assert_eq!(own.status(), 200);
}

#[tokio::test]
async fn a_client_requiring_par_cannot_send_plain_requests_and_metadata_says_so() {
    let server = TestServer::start_seeded(fresh_dir("par"), "sqlite::memory:", &seed(), &[]);
    let plain = |client: &str| {
        let query = oauth2::url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(authorization(client))
            .finish();
        http()
            .get(server.url(&format!("/oauth/authorize?{query}")))
            .send()
    };
    let refused = plain("strict").await.expect("GET authorize");
    assert_eq!(refused.status(), 302);
    let location = refused.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(plain("web").await.expect("GET authorize").status(), 200);
    let uri = request_uri(&server, "strict", "strict-secret").await;
    let pushed = http()
        .get(authorize_url(&server, "strict", &uri))
        .send()
        .await
        .expect("GET authorize");
    assert_eq!(pushed.status(), 200);

    let metadata: Value = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("GET metadata")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        server.url("/oauth/par")
    );
    assert_eq!(metadata["require_pushed_authorization_requests"], false);
}
