//! Shared helpers: a seeded server and ways to call each endpoint as an
//! attacker would, with full control over headers and bodies.

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::{
    AuthMethod, AuthorizationResponse, AuthorizeError, ClientRecord, GrantType, MemoryStore,
    PendingAuthorization, Policy, Request, Response, Scope, Server, UserRecord, pkce,
};

pub const ISSUER: &str = "https://as.example";
pub const REDIRECT: &str = "https://client.example/cb";
pub const REDIRECT_ENC: &str = "https%3A%2F%2Fclient.example%2Fcb";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const WEB_SECRET: &str = "web-secret-Zq8v";
pub const POST_SECRET: &str = "post-secret-Hk3p";
pub const SVC_SECRET: &str = "svc-secret-Lm2x";
pub const PASSWORD: &str = "wonderland-Qr7t";

/// How a request authenticates its client.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// No Authorization header.
    None,
    /// `Authorization: Basic base64(id:secret)`.
    Basic(&'a str, &'a str),
    /// A raw Authorization header value.
    Raw(&'a [u8]),
}

/// A server with an issuer and these clients:
/// - `web`: confidential, `client_secret_basic`, code + refresh + password, `read write`;
/// - `post`: confidential, `client_secret_post`, code + client_credentials + refresh, `read write`;
/// - `spa`: public, code + refresh, `read`;
/// - `svc`: confidential, client_credentials only, `read`;
/// - `pub-cc`: public, lists client_credentials, `read`;
///
/// and the user alice.
pub fn server() -> Server<MemoryStore> {
    let store = MemoryStore::with_policy(Policy::new(GrantType::ALL).with_issuer(ISSUER));
    store.add_client(
        ClientRecord::confidential("web", WEB_SECRET)
            .redirect_uris([REDIRECT, "https://client.example/other"])
            .grant_types(["authorization_code", "refresh_token", "password"])
            .scope("read write"),
    );
    store.add_client(
        ClientRecord::confidential("post", POST_SECRET)
            .auth_method(AuthMethod::ClientSecretPost)
            .redirect_uris([REDIRECT])
            .grant_types(["authorization_code", "client_credentials", "refresh_token"])
            .scope("read write"),
    );
    store.add_client(
        ClientRecord::public("spa")
            .redirect_uris([REDIRECT])
            .grant_types(["authorization_code", "refresh_token"])
            .scope("read"),
    );
    store.add_client(
        ClientRecord::confidential("svc", SVC_SECRET)
            .grant_types(["client_credentials"])
            .scope("read"),
    );
    store.add_client(
        ClientRecord::public("pub-cc")
            .grant_types(["client_credentials"])
            .scope("read"),
    );
    store.add_user(UserRecord::new("user-1", "alice", PASSWORD).expect("hash password"));
    Server::new(store)
}

pub fn form_headers(auth: Auth<'_>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    match auth {
        Auth::None => {}
        Auth::Basic(id, secret) => {
            let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).expect("header"));
        }
        Auth::Raw(raw) => {
            if let Ok(value) = HeaderValue::from_bytes(raw) {
                headers.insert(AUTHORIZATION, value);
            }
        }
    }
    headers
}

/// `POST /token` with a form body.
pub async fn token(server: &Server<MemoryStore>, auth: Auth<'_>, body: &str) -> Response {
    token_raw(server, auth, body.as_bytes()).await
}

/// `POST /token` with raw body bytes.
pub async fn token_raw(server: &Server<MemoryStore>, auth: Auth<'_>, body: &[u8]) -> Response {
    let headers = form_headers(auth);
    server
        .token(&Request::new(&Method::POST, &headers).with_body(body))
        .await
}

/// `POST /revoke`.
pub async fn revoke(server: &Server<MemoryStore>, auth: Auth<'_>, body: &str) -> Response {
    let headers = form_headers(auth);
    server
        .revoke(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await
}

/// `POST /introspect` by the resource server `svc`; the JSON answer.
pub async fn introspect(server: &Server<MemoryStore>, token: &str) -> serde_json::Value {
    let headers = form_headers(Auth::Basic("svc", SVC_SECRET));
    let body = format!("token={token}");
    let response = server
        .introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await;
    assert_eq!(response.status(), 200, "{}", response.json());
    response.json()
}

/// `POST /introspect` by the confidential client `auth`; the JSON answer.
pub async fn introspect_as(server: &Server<MemoryStore>, auth: Auth<'_>, body: &str) -> serde_json::Value {
    let headers = form_headers(auth);
    let response = server
        .introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await;
    assert_eq!(response.status(), 200, "{}", response.json());
    response.json()
}

/// Whether the token introspects active to any confidential client: an
/// access token answers to all of them, a refresh token to its own client
/// only, so each is asked.
pub async fn is_active(server: &Server<MemoryStore>, token: &str) -> bool {
    let by_token = format!("token={token}");
    let by_post = format!("{by_token}&client_id=post&client_secret={POST_SECRET}");
    for (auth, body) in [
        (Auth::Basic("svc", SVC_SECRET), &by_token),
        (Auth::Basic("web", WEB_SECRET), &by_token),
        (Auth::None, &by_post),
    ] {
        if introspect_as(server, auth, body).await["active"] == true {
            return true;
        }
    }
    false
}

/// Whether a protected resource accepts the access token.
pub async fn bearer_accepted(server: &Server<MemoryStore>, access_token: &str) -> bool {
    let mut headers = HeaderMap::new();
    let value = format!("Bearer {access_token}");
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).expect("header"));
    server
        .authenticate_bearer(&Request::new(&Method::GET, &headers), &Scope::empty())
        .await
        .is_ok()
}

/// `GET /authorize?query`.
pub async fn authorize(
    server: &Server<MemoryStore>,
    query: &str,
) -> Result<PendingAuthorization<ClientRecord>, AuthorizeError> {
    let headers = HeaderMap::new();
    server
        .authorize(&Request::new(&Method::GET, &headers).with_query(Some(query)))
        .await
}

/// The S256 challenge of [`VERIFIER`].
pub fn challenge() -> String {
    pkce::s256_challenge(VERIFIER)
}

/// A valid authorization query for `client` with PKCE S256 and `extra` appended.
pub fn auth_query(client: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={client}&redirect_uri={REDIRECT_ENC}&state=st-1&code_challenge={}&code_challenge_method=S256{extra}",
        challenge()
    )
}

/// Runs the authorization endpoint for `client` as alice approving, and
/// returns the redirect back to the client.
pub async fn approved(server: &Server<MemoryStore>, query: &str) -> AuthorizationResponse {
    let pending = authorize(server, query)
        .await
        .unwrap_or_else(|e| panic!("authorization refused: {:?}", e.into_response()));
    server
        .approve(&pending, "user-1", None)
        .await
        .unwrap_or_else(|e| panic!("approval failed: {:?}", e.into_response()))
}

/// An authorization code for `client` (S256 challenge of [`VERIFIER`]).
pub async fn code_for(server: &Server<MemoryStore>, client: &str, extra: &str) -> String {
    let response = approved(server, &auth_query(client, extra)).await;
    response.param("code").expect("a code").to_owned()
}

/// The token request redeeming `code` with the right redirect URI and verifier.
pub fn redeem_body(code: &str) -> String {
    format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}&code_verifier={VERIFIER}")
}

/// The `error` of an error response.
pub fn error_of(response: &Response) -> String {
    response.json()["error"].as_str().unwrap_or_default().to_owned()
}

/// The body of a successful token response, asserting success.
pub fn ok_body(response: &Response) -> serde_json::Value {
    assert_eq!(response.status(), 200, "{}", response.json());
    response.json()
}

/// A string field of a JSON body.
pub fn field(body: &serde_json::Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no `{name}` in {body}"))
        .to_owned()
}

/// The code flow for `web`: tokens with `read write`.
pub async fn web_tokens(server: &Server<MemoryStore>) -> serde_json::Value {
    let code = code_for(server, "web", "").await;
    ok_body(&token(server, Auth::Basic("web", WEB_SECRET), &redeem_body(&code)).await)
}

/// Percent-encodes a value for a form body or query.
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
