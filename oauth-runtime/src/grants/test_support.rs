//! Helpers for the grants' unit tests: a seeded store and a way to post forms.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method};

use crate::model::CodeRecord;
use crate::storage::Storage as _;
use crate::{
    AuthMethod, ClientRecord, GrantType, MemoryStore, OpenIdSetup, PkceMethod, Policy, Request, Response,
    Scope, Server, TokenHash, UserRecord, now, pkce,
};

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const REDIRECT: &str = "https://a.example/cb";

pub fn all_grants() -> Policy {
    Policy::new(GrantType::ALL)
}

/// A server with: `web` (confidential, Basic, code + refresh), `post`
/// (confidential, client_secret_post, all grants), `spa` (public, code +
/// refresh), `svc` (confidential, client_credentials only), `pub-cc` (public,
/// lists client_credentials), and user alice/wonderland.
pub fn server_with(policy: Policy) -> Server<MemoryStore> {
    server_with_setup(policy, None)
}

/// As [`server_with`], built with `setup` (OpenID Connect's keys and issuer).
pub fn server_with_setup(policy: Policy, setup: Option<OpenIdSetup>) -> Server<MemoryStore> {
    let store = MemoryStore::with_policy(policy);
    store.add_client(
        ClientRecord::confidential("web", "web-secret")
            .redirect_uris([REDIRECT, "https://a.example/other"])
            .grant_types([
                "authorization_code",
                "refresh_token",
                "password",
                crate::device::DEVICE_CODE_GRANT_TYPE,
            ])
            .scope("read write"),
    );
    store.add_client(
        ClientRecord::confidential("post", "post-secret")
            .auth_method(AuthMethod::ClientSecretPost)
            .redirect_uris([REDIRECT])
            .grant_types(["authorization_code", "client_credentials", "password"])
            .scope("read write"),
    );
    store.add_client(
        ClientRecord::public("spa")
            .redirect_uris([REDIRECT])
            .grant_types([
                "authorization_code",
                "refresh_token",
                crate::device::DEVICE_CODE_GRANT_TYPE,
            ])
            .scope("read"),
    );
    store.add_client(
        ClientRecord::confidential("svc", "svc-secret")
            .grant_types(["client_credentials"])
            .scope("read write"),
    );
    store.add_client(
        ClientRecord::public("pub-cc")
            .grant_types(["client_credentials"])
            .scope("read"),
    );
    if let Ok(user) = UserRecord::new("user-1", "alice", "wonderland") {
        store.add_user(user);
    }
    Server::with_setup(store, setup)
}

pub fn server() -> Server<MemoryStore> {
    server_with(all_grants())
}

/// Posts a form body, with Basic credentials when given.
pub async fn post(server: &Server<MemoryStore>, basic: Option<(&str, &str)>, body: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Some((id, secret)) = basic {
        let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
    }
    server
        .token(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await
}

/// Issues a code for `client` as the authorization endpoint would.
pub fn code_for(server: &Server<MemoryStore>, client: &str, pkce: Option<PkceMethod>) -> String {
    let code = crate::NewToken::generate().unwrap();
    let challenge = pkce.map(|m| match m {
        PkceMethod::S256 => pkce::s256_challenge(VERIFIER),
        _ => VERIFIER.to_owned(),
    });
    server.storage().add_code(CodeRecord {
        code: code.hash(),
        client_id: client.to_owned(),
        redirect_uri: Some(REDIRECT.to_owned()),
        scope: Scope::parse("read").unwrap(),
        subject: "user-1".to_owned(),
        code_challenge: challenge,
        code_challenge_method: pkce,
        nonce: None,
        auth_time: None,
        expires_at: now() + 60,
    });
    code.into_value()
}

pub fn error_of(response: &Response) -> String {
    response.json()["error"].as_str().unwrap_or_default().to_owned()
}

/// Whether the access token is still stored (not revoked).
pub async fn is_live(server: &Server<MemoryStore>, access_token: &str) -> bool {
    server
        .storage()
        .access_token(&TokenHash::of(access_token))
        .await
        .unwrap()
        .is_some()
}

/// The body of a successful token response, asserting success.
pub fn ok_body(response: &Response) -> serde_json::Value {
    assert_eq!(response.status(), 200, "{}", response.json());
    response.json()
}
