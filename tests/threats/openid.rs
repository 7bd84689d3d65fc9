//! OpenID Connect Core §16 (Security Considerations), as they apply to the
//! provider: id_tokens bound to their request and access token, claims
//! released only for granted scopes, and no unsigned or client-chosen
//! algorithms.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use granted::http::header::AUTHORIZATION;
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::oidc::access_token_hash;
use granted::{
    ClientRecord, GrantType, KeyRing, MemoryStore, OpenIdSetup, Policy, Request, Scope, Server, SigningAlg,
    SigningKey, UserClaims, UserRecord,
};
use serde_json::{Value, json};

use crate::support::{
    Auth, ISSUER, REDIRECT, auth_query, authorize, error_of, field, ok_body, redeem_body, token,
};

const RP_SECRET: &str = "rp-secret-Vb5n";

/// A provider signing with ES256, the client `rp` (`openid profile email
/// read`) and the user `user-2` with a name and an email address.
fn provider() -> Server<MemoryStore> {
    let store = MemoryStore::with_policy(Policy::new(GrantType::ALL).with_openid(SigningAlg::Es256));
    store.add_client(
        ClientRecord::confidential("rp", RP_SECRET)
            .redirect_uris([REDIRECT])
            .grant_types(["authorization_code", "refresh_token"])
            .scope("openid profile email read"),
    );
    let claims = UserClaims::from_json(json!({"name": "Alice", "email": "alice@example.com"}))
        .expect("standard claims");
    store.add_user(
        UserRecord::new("user-2", "alice", "pw")
            .expect("hash")
            .with_claims(claims),
    );
    let key = SigningKey::generate(SigningAlg::Es256).expect("key");
    Server::with_setup(store, Some(OpenIdSetup::new(KeyRing::new([key]), ISSUER)))
}

/// Approves `extra` for `rp` as `user-2`, granting `granted` (or everything
/// asked), and redeems the code with `token_extra` added to the request.
async fn tokens(
    server: &Server<MemoryStore>,
    extra: &str,
    granted: Option<&str>,
    token_extra: &str,
) -> Value {
    let pending = authorize(server, &auth_query("rp", extra))
        .await
        .expect("a valid request");
    let scope = granted.map(|s| Scope::parse(s).expect("scope"));
    let response = server.approve(&pending, "user-2", scope).await.expect("approved");
    let code = response.param("code").expect("a code");
    let body = format!("{}{token_extra}", redeem_body(code));
    ok_body(&token(server, Auth::Basic("rp", RP_SECRET), &body).await)
}

fn part(jwt: &str, index: usize) -> Value {
    let segment = jwt.split('.').nth(index).expect("a JWS segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("JSON")
}

async fn userinfo(server: &Server<MemoryStore>, access_token: &str) -> Value {
    let mut headers = HeaderMap::new();
    let value = format!("Bearer {access_token}");
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).expect("header"));
    server
        .userinfo(&Request::new(&Method::GET, &headers))
        .await
        .json()
}

/// §16.11 (token substitution): `at_hash` binds the id_token to the access
/// token of the same response, and `nonce` to the authorization request;
/// a `nonce` sent to the token endpoint changes nothing.
#[tokio::test]
async fn the_id_token_is_bound_to_its_request_and_access_token() {
    let server = provider();
    let tokens = tokens(&server, "&scope=openid&nonce=n-1", None, "&nonce=attacker").await;
    let claims = part(&field(&tokens, "id_token"), 1);
    assert_eq!(claims["nonce"], "n-1");
    let access = field(&tokens, "access_token");
    assert_eq!(claims["at_hash"], access_token_hash(SigningAlg::Es256, &access));
    assert_eq!(claims["aud"], "rp");
    assert_eq!(claims["iss"], ISSUER);
}

/// A hostile nonce is echoed as data: JSON-escaped inside the signed token.
#[tokio::test]
async fn a_hostile_nonce_is_echoed_exactly() {
    let server = provider();
    let nonce = r#""},"sub":"admin","x":"<script>"#;
    let extra = format!("&scope=openid&nonce={}", crate::support::enc(nonce));
    let tokens = tokens(&server, &extra, None, "").await;
    let claims = part(&field(&tokens, "id_token"), 1);
    assert_eq!(claims["nonce"], nonce);
    assert_eq!(claims["sub"], "user-2");
}

/// §16.14 (signing algorithm): the provider signs with its declared
/// algorithm; a client cannot ask for `none` or another one.
#[tokio::test]
async fn the_client_cannot_choose_the_signing_algorithm() {
    let server = provider();
    let tokens = tokens(
        &server,
        "&scope=openid&id_token_signed_response_alg=none",
        None,
        "",
    )
    .await;
    let header = part(&field(&tokens, "id_token"), 0);
    assert_eq!(header["alg"], "ES256");
    let signature = field(&tokens, "id_token").rsplit('.').next().map(str::len);
    assert!(signature.is_some_and(|len| len > 0), "never unsigned");
}

/// OpenID Connect Core §5.4: the user's narrower consent, not the client's
/// registration, decides which claims userinfo releases.
#[tokio::test]
async fn userinfo_releases_only_what_the_user_granted() {
    let server = provider();
    let tokens = tokens(
        &server,
        "&scope=openid%20email%20profile",
        Some("openid email"),
        "",
    )
    .await;
    let claims = userinfo(&server, &field(&tokens, "access_token")).await;
    assert_eq!(claims, json!({"sub": "user-2", "email": "alice@example.com"}));
}

/// A refresh cannot widen the scope to gain claims (RFC 6749 §6).
#[tokio::test]
async fn refresh_cannot_add_claims_scopes() {
    let server = provider();
    let tokens = tokens(&server, "&scope=openid", None, "").await;
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&scope=openid%20email",
        field(&tokens, "refresh_token")
    );
    let answer = token(&server, Auth::Basic("rp", RP_SECRET), &body).await;
    assert_eq!(error_of(&answer), "invalid_scope");
}

/// No `openid`, no id_token, whatever else the request carries.
#[tokio::test]
async fn no_id_token_without_the_openid_scope() {
    let server = provider();
    let tokens = tokens(&server, "&scope=read&nonce=n-1&prompt=consent", None, "").await;
    assert!(tokens.get("id_token").is_none());
    assert_eq!(
        userinfo(&server, &field(&tokens, "access_token")).await["error"],
        "insufficient_scope"
    );
}
