//! The OpenID Connect flow through the public API of the server: each claim
//! rule of the id_token, userinfo's release rules, prompt and max_age.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Value, json};

use super::*;
use crate::endpoints::authorize::{AuthorizationResponse, AuthorizeError, PendingAuthorization};
use crate::grants::test_support::*;
use crate::{
    ClientRecord, GrantType, MemoryStore, OpenIdSetup, Params, Policy, Request, Response, Server, UserRecord,
    now, pkce,
};

const ISSUER: &str = "https://as.example";

fn rsa_key() -> SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(SigningAlg::Rs256).unwrap())
        .clone()
}

fn oidc_server_with(alg: SigningAlg, key: Option<SigningKey>) -> Server<MemoryStore> {
    let policy = Policy::new(GrantType::ALL).with_openid(alg);
    let keys = KeyRing::new(key);
    let server = server_with_setup(policy, Some(OpenIdSetup::new(keys, ISSUER)));
    server.storage().add_client(
        ClientRecord::confidential("rp", "rp-secret")
            .redirect_uris([REDIRECT])
            .grant_types(["authorization_code", "refresh_token", "client_credentials"])
            .scope("openid profile email read"),
    );
    let claims = UserClaims::from_json(json!({
        "name": "Alice Liddell", "email": "alice@example.com", "email_verified": true,
    }))
    .unwrap();
    server.storage().add_user(
        UserRecord::new("user-2", "alice2", "pw")
            .unwrap()
            .with_claims(claims),
    );
    server
}

fn oidc_server() -> Server<MemoryStore> {
    oidc_server_with(SigningAlg::Rs256, Some(rsa_key()))
}

async fn authorize(
    server: &Server<MemoryStore>,
    extra: &str,
) -> Result<PendingAuthorization<ClientRecord>, AuthorizeError> {
    let query = format!(
        "response_type=code&client_id=rp&redirect_uri=https%3A%2F%2Fa.example%2Fcb&state=s&code_challenge={}&code_challenge_method=S256{extra}",
        pkce::s256_challenge(VERIFIER)
    );
    server
        .validate_authorization(&Params::parse(query.as_bytes()).unwrap())
        .await
}

async fn redeem(server: &Server<MemoryStore>, response: &AuthorizationResponse) -> Response {
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier={VERIFIER}",
        response.param("code").unwrap()
    );
    post(server, Some(("rp", "rp-secret")), &body).await
}

/// Runs the code flow for `user-2` with `scope` and returns the token response.
async fn login(server: &Server<MemoryStore>, scope: &str, extra: &str) -> Value {
    let pending = authorize(server, &format!("&scope={scope}{extra}"))
        .await
        .unwrap();
    let response = server.approve(&pending, "user-2", None).await.unwrap();
    ok_body(&redeem(server, &response).await)
}

/// Verifies the signature against the server's JWKS and returns header and claims.
fn verify(server: &Server<MemoryStore>, id_token: &str) -> (Value, Value) {
    let decode =
        |part: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap() };
    let mut parts = id_token.split('.');
    let (header, claims) = (decode(parts.next().unwrap()), decode(parts.next().unwrap()));
    let jwks = server.signing_keys().jwks();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the id_token's kid is published");
    let alg = match header["alg"].as_str().unwrap() {
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "Ed25519" => Algorithm::EdDSA,
        other => panic!("unexpected alg {other}"),
    };
    let key = DecodingKey::from_jwk(&serde_json::from_value::<Jwk>(jwk.clone()).unwrap()).unwrap();
    let (message, signature) = id_token.rsplit_once('.').unwrap();
    assert!(jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg).unwrap());
    (header, claims)
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

async fn userinfo(server: &Server<MemoryStore>, token: &str) -> Response {
    let headers = bearer(token);
    server.userinfo(&Request::new(&Method::GET, &headers)).await
}

#[tokio::test]
async fn the_id_token_carries_every_required_claim() {
    let server = oidc_server();
    let before = now();
    let tokens = login(&server, "openid", "&nonce=n-0S6").await;
    let (header, claims) = verify(&server, tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "user-2");
    assert_eq!(claims["aud"], "rp");
    assert_eq!(claims["nonce"], "n-0S6");
    let iat = claims["iat"].as_i64().unwrap();
    assert!(iat >= before && iat <= now());
    assert_eq!(
        claims["exp"].as_i64().unwrap(),
        iat + 3600,
        "lives as long as the access token"
    );
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!(auth_time >= before && auth_time <= iat);
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        claims["at_hash"],
        access_token_hash(SigningAlg::Rs256, access_token)
    );
}

#[tokio::test]
async fn no_nonce_in_the_request_means_none_in_the_token() {
    let server = oidc_server();
    let tokens = login(&server, "openid", "").await;
    let (_, claims) = verify(&server, tokens["id_token"].as_str().unwrap());
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn no_id_token_without_the_openid_scope() {
    let server = oidc_server();
    let tokens = login(&server, "read", "").await;
    assert!(tokens.get("id_token").is_none());
}

#[tokio::test]
async fn no_id_token_when_the_policy_has_no_openid() {
    let server = server_with(Policy::new(GrantType::ALL).with_issuer(ISSUER));
    server.storage().add_client(
        ClientRecord::confidential("rp", "rp-secret")
            .redirect_uris([REDIRECT])
            .grant_types(["authorization_code"])
            .scope("openid"),
    );
    let tokens = login(&server, "openid", "").await;
    assert!(tokens.get("id_token").is_none());
}

#[tokio::test]
async fn configure_cannot_switch_openid_on_or_off() {
    let server = oidc_server().configure(|p| p.with_openid(SigningAlg::Es256));
    assert_eq!(server.policy().openid(), Some(SigningAlg::Rs256));
    let plain = server_with(Policy::new(GrantType::ALL)).configure(|p| p.with_openid(SigningAlg::Rs256));
    assert_eq!(plain.policy().openid(), None);
}

#[tokio::test]
async fn every_algorithm_signs_verifiable_id_tokens_with_its_at_hash() {
    for alg in [SigningAlg::Es256, SigningAlg::Ed25519] {
        let server = oidc_server_with(alg, Some(SigningKey::generate(alg).unwrap()));
        let tokens = login(&server, "openid", "").await;
        let (header, claims) = verify(&server, tokens["id_token"].as_str().unwrap());
        assert_eq!(header["alg"], alg.as_str());
        let access_token = tokens["access_token"].as_str().unwrap();
        assert_eq!(claims["at_hash"], access_token_hash(alg, access_token));
    }
}

#[tokio::test]
async fn a_missing_key_is_a_server_error_that_issues_nothing() {
    let server = oidc_server_with(SigningAlg::Rs256, None);
    let pending = authorize(&server, "&scope=openid").await.unwrap();
    let response = server.approve(&pending, "user-2", None).await.unwrap();
    let answer = redeem(&server, &response).await;
    assert_eq!(answer.status(), 500);
    assert_eq!(error_of(&answer), "server_error");
    assert_eq!(server.storage().token_count(), 0, "no token without its id_token");
}

#[tokio::test]
async fn tokens_signed_before_a_rotation_still_verify() {
    let server = oidc_server_with(
        SigningAlg::Es256,
        Some(SigningKey::generate(SigningAlg::Es256).unwrap()),
    );
    let before = login(&server, "openid", "").await;
    server
        .signing_keys()
        .rotate(SigningKey::generate(SigningAlg::Es256).unwrap());
    let after = login(&server, "openid", "").await;
    let (old_header, _) = verify(&server, before["id_token"].as_str().unwrap());
    let (new_header, _) = verify(&server, after["id_token"].as_str().unwrap());
    assert_ne!(old_header["kid"], new_header["kid"]);
}

#[tokio::test]
async fn the_session_login_time_becomes_auth_time() {
    let server = oidc_server();
    let pending = authorize(&server, "&scope=openid").await.unwrap();
    let earlier = now() - 600;
    let response = server
        .approve_session(&pending, "user-2", earlier, None)
        .await
        .unwrap();
    let tokens = ok_body(&redeem(&server, &response).await);
    let (_, claims) = verify(&server, tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["auth_time"], earlier);
}

#[tokio::test]
async fn userinfo_releases_sub_and_the_claims_of_granted_scopes_only() {
    let server = oidc_server();
    let tokens = login(&server, "openid%20email", "").await;
    let answer = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(
        answer.json(),
        json!({"sub": "user-2", "email": "alice@example.com", "email_verified": true})
    );
    let tokens = login(&server, "openid%20profile", "").await;
    let answer = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(answer.json(), json!({"sub": "user-2", "name": "Alice Liddell"}));
}

#[tokio::test]
async fn userinfo_needs_the_openid_scope() {
    let server = oidc_server();
    let tokens = login(&server, "read%20email", "").await;
    let answer = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(answer.status(), 403);
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );
}

#[tokio::test]
async fn userinfo_refuses_tokens_without_a_user_and_unknown_tokens() {
    let server = oidc_server();
    let tokens = ok_body(
        &post(
            &server,
            Some(("rp", "rp-secret")),
            "grant_type=client_credentials&scope=openid",
        )
        .await,
    );
    // A valid token, but for no user: 403 insufficient_scope saying so
    // (it was 401 invalid_token, as if the token were bad).
    let answer = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(answer.status(), 403);
    let challenge = answer.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert_eq!(answer.json()["error"], "insufficient_scope");
    let description = answer.json()["error_description"].as_str().unwrap().to_owned();
    assert!(description.contains("not for a user"), "{description}");
    assert!(
        description.chars().all(crate::is_description_char),
        "{description}"
    );
    let invalid = userinfo(&server, "not-a-token").await;
    assert_eq!(invalid.status(), 401);
    assert!(
        invalid
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let headers = HeaderMap::new();
    let bare = server.userinfo(&Request::new(&Method::GET, &headers)).await;
    assert_eq!(bare.status(), 401);
    assert_eq!(bare.header("www-authenticate"), Some("Bearer realm=\"granted\""));
}

#[tokio::test]
async fn a_revoked_token_gets_no_userinfo() {
    let server = oidc_server();
    let tokens = login(&server, "openid%20email", "").await;
    let token = tokens["access_token"].as_str().unwrap();
    let revoke = format!("token={token}");
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("rp:rp-secret")
        ))
        .unwrap(),
    );
    let answer = server
        .revoke(&Request::new(&Method::POST, &headers).with_body(revoke.as_bytes()))
        .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(userinfo(&server, token).await.status(), 401);
}

#[tokio::test]
async fn prompt_and_max_age_are_parsed_and_checked() {
    let server = oidc_server();
    let pending = authorize(&server, "&scope=openid&prompt=login%20consent&max_age=300")
        .await
        .unwrap();
    assert!(pending.prompt().login() && pending.prompt().consent());
    assert_eq!(pending.max_age(), Some(300));
    for bad in [
        "&prompt=none%20login",
        "&prompt=sometimes",
        "&max_age=-1",
        "&max_age=soon",
    ] {
        match authorize(&server, &format!("&scope=openid{bad}")).await {
            Err(AuthorizeError::Redirect(r)) => {
                assert_eq!(r.param("error"), Some("invalid_request"), "{bad}");
                assert_eq!(r.param("state"), Some("s"));
            }
            other => panic!("{bad}: expected a redirect, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn needs_login_follows_prompt_login_and_max_age() {
    let server = oidc_server();
    let t = now();
    let plain = authorize(&server, "&scope=openid").await.unwrap();
    assert!(plain.needs_login(None, t), "no session");
    assert!(
        !plain.needs_login(Some(t - 86_400), t),
        "any session without max_age"
    );
    let login = authorize(&server, "&scope=openid&prompt=login").await.unwrap();
    assert!(login.needs_login(Some(t), t));
    let aged = authorize(&server, "&scope=openid&max_age=60").await.unwrap();
    assert!(!aged.needs_login(Some(t - 60), t));
    assert!(aged.needs_login(Some(t - 61), t));
    // OIDC Core §3.1.2.1: max_age=0 is prompt=login, even for a login made
    // within the same second (the review got a code without a new login).
    let zero = authorize(&server, "&scope=openid&max_age=0").await.unwrap();
    assert!(zero.needs_login(Some(t), t), "max_age=0 always asks for a login");
    assert!(
        zero.needs_login(Some(t + 1), t),
        "even a login clocked in the future"
    );
}

#[tokio::test]
async fn prompt_none_errors_redirect_with_state_and_iss() {
    let server = oidc_server();
    let pending = authorize(&server, "&scope=openid&prompt=none").await.unwrap();
    assert!(pending.prompt().none());
    let login = server.login_required(&pending);
    assert_eq!(login.param("error"), Some("login_required"));
    assert_eq!(login.param("state"), Some("s"));
    assert_eq!(login.param("iss"), Some(ISSUER));
    assert_eq!(
        server.consent_required(&pending).param("error"),
        Some("consent_required")
    );
}

#[tokio::test]
async fn discovery_lists_the_signing_algorithm_and_endpoints() {
    let server = oidc_server_with(SigningAlg::Es256, None);
    let doc = serde_json::to_value(server.metadata(ISSUER, &crate::EndpointPaths::default())).unwrap();
    assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(doc["jwks_uri"], "https://as.example/jwks.json");
}

#[test]
fn a_server_serves_openid_only_with_its_keys_and_issuer() {
    // A policy that declares OpenID Connect, built without its setup:
    // OAuth 2.0 alone, never a provider that fails at its first id_token.
    let policy = Policy::new(GrantType::ALL).with_openid(SigningAlg::Es256);
    let plain = Server::new(MemoryStore::with_policy(policy.clone()));
    assert_eq!(plain.policy().openid(), None);
    let provider = Server::with_setup(
        MemoryStore::with_policy(policy),
        Some(OpenIdSetup::new(KeyRing::default(), ISSUER)),
    );
    assert_eq!(provider.policy().openid(), Some(SigningAlg::Es256));
    assert_eq!(provider.policy().issuer(), Some(ISSUER));
}

#[test]
fn configure_keeps_the_issuer_of_a_provider() {
    let server = oidc_server().configure(|_| Policy::new(GrantType::ALL));
    assert_eq!(server.policy().issuer(), Some(ISSUER));
    let moved = oidc_server().configure(|p| p.with_issuer("https://moved.example"));
    assert_eq!(moved.policy().issuer(), Some("https://moved.example"));
}
