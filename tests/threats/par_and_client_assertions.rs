//! Pushed authorization requests (RFC 9126 §7) and `private_key_jwt` client
//! assertions (RFC 7523 §3, RFC 8725 §2.1, §3.1): what an attacker holding a
//! `request_uri` or an assertion can do with it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use granted::assertion::JWT_BEARER;
use granted::http::Method;
use granted::{
    AuthorizeError, ClientRecord, GrantType, MemoryStore, ParPolicy, Policy, Request, Response, Server,
    SigningAlg, SigningKey, now,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::support::{Auth, ISSUER, REDIRECT, WEB_SECRET, auth_query, enc, error_of, form_headers};

/// `web` (Basic), `other` (Basic) and `jwt` (`private_key_jwt` with `key`).
fn server(key: &SigningKey) -> Server<MemoryStore> {
    let policy = Policy::new(GrantType::ALL)
        .with_issuer(ISSUER)
        .with_par(ParPolicy::Optional)
        .with_private_key_jwt();
    let store = MemoryStore::with_policy(policy);
    for (id, secret) in [("web", WEB_SECRET), ("other", "other-secret")] {
        store.add_client(
            ClientRecord::confidential(id, secret)
                .redirect_uris([REDIRECT])
                .grant_types(["authorization_code"])
                .scope("read write"),
        );
    }
    store.add_client(
        ClientRecord::private_key_jwt("jwt", json!({"keys": [key.public_jwk()]}).to_string())
            .grant_types(["client_credentials"])
            .scope("read"),
    );
    Server::new(store)
}

async fn push(server: &Server<MemoryStore>, client: &str, secret: &str) -> String {
    let headers = form_headers(Auth::Basic(client, secret));
    let body = auth_query(client, "");
    let response = server
        .pushed_authorization(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await;
    assert_eq!(response.status(), 201);
    response.json()["request_uri"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn use_request_uri(server: &Server<MemoryStore>, client: &str, uri: &str) -> bool {
    let query = format!("client_id={client}&request_uri={}", enc(uri));
    let headers = granted::http::HeaderMap::new();
    match server
        .authorize(&Request::new(&Method::GET, &headers).with_query(Some(&query)))
        .await
    {
        Ok(_) => true,
        Err(AuthorizeError::Display(_)) => false,
        Err(other) => panic!("a bad request_uri must not redirect: {other:?}"),
    }
}

fn claims(exp_in: i64, aud: &str, jti: &str) -> serde_json::Value {
    json!({"iss": "jwt", "sub": "jwt", "aud": aud, "exp": now() + exp_in, "jti": jti})
}

async fn with_assertion(server: &Server<MemoryStore>, assertion: &str) -> Response {
    let body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
        enc(JWT_BEARER)
    );
    let headers = form_headers(Auth::None);
    server
        .token(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await
}

#[tokio::test]
async fn a_replayed_request_uri_is_refused() {
    let key = SigningKey::generate(SigningAlg::Es256).expect("key");
    let server = server(&key);
    let uri = push(&server, "web", WEB_SECRET).await;
    assert!(use_request_uri(&server, "web", &uri).await);
    assert!(!use_request_uri(&server, "web", &uri).await);
}

#[tokio::test]
async fn a_request_uri_is_refused_to_another_client_and_stays_usable() {
    let key = SigningKey::generate(SigningAlg::Es256).expect("key");
    let server = server(&key);
    let uri = push(&server, "web", WEB_SECRET).await;
    assert!(!use_request_uri(&server, "other", &uri).await);
    assert!(use_request_uri(&server, "web", &uri).await);
}

#[tokio::test]
async fn a_replayed_assertion_is_invalid_client() {
    let key = SigningKey::generate(SigningAlg::Es256).expect("key");
    let server = server(&key);
    let assertion = key.sign(&claims(60, ISSUER, "once")).expect("sign");
    assert_eq!(with_assertion(&server, &assertion).await.status(), 200);
    assert_eq!(
        error_of(&with_assertion(&server, &assertion).await),
        "invalid_client"
    );
}

#[tokio::test]
async fn an_assertion_for_another_audience_is_invalid_client() {
    let key = SigningKey::generate(SigningAlg::Es256).expect("key");
    let server = server(&key);
    for aud in [
        "https://evil.example",
        "https://as.example/other",
        "https://as.example.evil",
    ] {
        let assertion = key.sign(&claims(60, aud, aud)).expect("sign");
        assert_eq!(
            error_of(&with_assertion(&server, &assertion).await),
            "invalid_client",
            "{aud}"
        );
    }
}

#[tokio::test]
async fn alg_none_and_hmac_with_the_public_key_are_invalid_client() {
    let key = SigningKey::generate(SigningAlg::Rs256).expect("key");
    let server = server(&key);
    let payload = URL_SAFE_NO_PAD.encode(claims(60, ISSUER, "none").to_string());
    for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"NONE"}"#] {
        let unsigned = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
        assert_eq!(
            error_of(&with_assertion(&server, &unsigned).await),
            "invalid_client",
            "{header}"
        );
    }
    // The public key, as published, used as an HMAC secret.
    for secret in [key.public_jwk().to_string(), key.public_jwk()["n"].to_string()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid().to_owned());
        let forged = jsonwebtoken::encode(
            &header,
            &claims(60, ISSUER, "hmac"),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("sign");
        assert_eq!(
            error_of(&with_assertion(&server, &forged).await),
            "invalid_client"
        );
    }
}

#[tokio::test]
async fn expired_and_long_lived_assertions_are_invalid_client() {
    let key = SigningKey::generate(SigningAlg::Es256).expect("key");
    let server = server(&key);
    for (exp_in, jti) in [(-300, "expired"), (3600, "too-far"), (86_400 * 365, "a-year")] {
        let assertion = key.sign(&claims(exp_in, ISSUER, jti)).expect("sign");
        assert_eq!(
            error_of(&with_assertion(&server, &assertion).await),
            "invalid_client",
            "{jti}"
        );
    }
    // Within the five minutes it is accepted.
    let assertion = key.sign(&claims(290, ISSUER, "ok")).expect("sign");
    assert_eq!(with_assertion(&server, &assertion).await.status(), 200);
}

/// Failed assertions count in the client's failed-authentication budget
/// (RFC 6819 §5.1.4.2), at the token and at the PAR endpoint alike: after
/// the budget even a valid assertion is refused with `429`.
#[cfg(feature = "axum")]
#[tokio::test]
async fn failed_assertions_spend_the_clients_budget() {
    use std::sync::Arc;
    use std::time::Duration;

    use granted::axum::{AuthFailureLimit, AuthFailureLimiter, OAuthRoutes};

    let key = SigningKey::generate(SigningAlg::Es256).expect("key");
    let limiter = AuthFailureLimiter::new(
        AuthFailureLimit::default()
            .with_max_failures(3)
            .with_window(Duration::from_secs(600))
            .with_lockout(Duration::from_secs(600)),
    );
    let app = OAuthRoutes::new(Arc::new(server(&key)))
        .limit_failed_authentications(limiter)
        .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let post = |path: &'static str, assertion: String| async move {
        reqwest::Client::new()
            .post(format!("http://{addr}{path}"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    };
    for (path, jti) in [("/oauth/token", "a"), ("/oauth/par", "b"), ("/oauth/token", "c")] {
        let wrong_audience = key.sign(&claims(60, "https://evil.example", jti)).expect("sign");
        assert_eq!(post(path, wrong_audience).await, 400, "{path}");
    }
    let valid = key.sign(&claims(60, ISSUER, "valid")).expect("sign");
    assert_eq!(post("/oauth/token", valid).await, 429);
}
