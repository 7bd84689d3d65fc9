//! OpenID Connect against the running example server, driven by the
//! `openidconnect` crate as a real third-party relying party: discovery,
//! login, id_token validation against the JWKS (signature, `iss`, `aud`,
//! `exp`, `nonce`), `at_hash`, and userinfo; then prompt/max_age and key
//! rotation over plain HTTP.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _,
};
use serde_json::Value;

use crate::support::{
    TestServer, consent, fresh_dir, get_json, hidden_fields, http, query_param, set_cookie,
};

const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// Logs `alice` in through the relying party and returns the verified
/// id_token claims, the access token and the relying party's pieces.
#[tokio::test]
async fn an_openid_connect_relying_party_logs_in_and_validates_the_id_token() {
    let server = TestServer::start("sqlite://granted.db", "http://127.0.0.1:9/unused");
    let http = http();
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery document accepted by openidconnect");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new("web-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let location = consent(&server, url.as_str(), ("alice", "wonderland"), "approve").await;
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = query_param(&location, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint discovered")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response with an id_token");
    let id_token = tokens.id_token().expect("an id_token for scope openid");
    let id_verifier = client.id_token_verifier();
    let claims: &CoreIdTokenClaims = id_token
        .claims(&id_verifier, &nonce)
        .expect("signature, iss, aud, exp and nonce verify");
    assert_eq!(claims.issuer().as_str(), server.base);
    assert_eq!(claims.audiences()[0].as_str(), "web");
    assert!(claims.auth_time().is_some());

    // at_hash binds the access token to the id_token.
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));

    // A nonce other than the one sent is refused.
    assert!(
        id_token
            .claims(&id_verifier, &Nonce::new("other".into()))
            .is_err()
    );

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .expect("userinfo endpoint discovered")
        .request_async(&http)
        .await
        .expect("userinfo for the id_token's subject");
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(userinfo.email_verified(), Some(true));
    assert_eq!(
        userinfo.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Alice Liddell")
    );

    // The subject is the same one `/api/me` and introspection see.
    let me: Value = http
        .get(server.url("/api/me"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["sub"], claims.subject().as_str());
}

#[tokio::test]
async fn discovery_agrees_with_rfc_8414_and_jwks_publishes_the_key() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let get = |path: &str| get_json(server.url(path));
    let discovery = get("/.well-known/openid-configuration").await;
    let oauth = get("/.well-known/oauth-authorization-server").await;
    assert_eq!(discovery, oauth, "one document for both");
    assert_eq!(discovery["issuer"], server.base);
    assert_eq!(discovery["jwks_uri"], server.url("/jwks.json"));
    assert_eq!(discovery["userinfo_endpoint"], server.url("/userinfo"));
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        discovery["subject_types_supported"],
        serde_json::json!(["public"])
    );
    let jwks = get("/jwks.json").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert!(keys[0]["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
    assert!(keys[0].get("d").is_none(), "no private part");
}

/// The authorize URL of `web` for `scope` with extra query parameters.
fn authorize(server: &TestServer, scope: &str, extra: &str) -> String {
    let mut url = crate::support::authorize_url(server, "web", REDIRECT, scope);
    url.push_str(extra);
    url
}

/// Logs in with the form and returns the session cookie the server set.
async fn sign_in(server: &TestServer) -> String {
    let client = http();
    let page = client.get(authorize(server, "openid", "")).send().await.unwrap();
    let csrf = set_cookie(&page, "granted_csrf");
    let mut form = hidden_fields(&page.text().await.unwrap());
    form.extend([
        ("username".to_owned(), "alice".to_owned()),
        ("password".to_owned(), "wonderland".to_owned()),
        ("decision".to_owned(), "approve".to_owned()),
    ]);
    let answer = client
        .post(server.url("/oauth/authorize"))
        .header("cookie", csrf)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    set_cookie(&answer, "granted_session")
}

/// GETs the authorize URL with `cookie` and returns the redirect's location,
/// or `None` when a page was shown.
async fn authorize_with(url: &str, cookie: Option<&str>) -> Option<String> {
    let mut request = http().get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let answer = request.send().await.unwrap();
    match answer.status().as_u16() {
        302 => Some(answer.headers()["location"].to_str().unwrap().to_owned()),
        200 => None,
        other => panic!("unexpected status {other}"),
    }
}

#[tokio::test]
async fn prompt_none_login_consent_and_max_age() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");

    // No session: prompt=none cannot log anyone in.
    let location = authorize_with(&authorize(&server, "openid", "&prompt=none"), None)
        .await
        .expect("a redirect, never a page");
    assert_eq!(query_param(&location, "error").as_deref(), Some("login_required"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(server.base.as_str())
    );

    let session = sign_in(&server).await;
    // Signed in and `openid` consented: prompt=none answers with a code.
    let location = authorize_with(&authorize(&server, "openid", "&prompt=none"), Some(&session))
        .await
        .unwrap();
    assert!(query_param(&location, "code").is_some(), "{location}");
    // A scope never consented to: consent_required.
    let location = authorize_with(
        &authorize(&server, "openid email", "&prompt=none"),
        Some(&session),
    )
    .await
    .unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("consent_required")
    );

    // prompt=login and an exceeded max_age show the login form again.
    let asks_password = |extra: &'static str| {
        let request = http()
            .get(authorize(&server, "openid", extra))
            .header("cookie", &session);
        async move {
            request
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .contains(r#"name="password""#)
        }
    };
    assert!(
        asks_password("&prompt=login").await,
        "prompt=login asks for the password"
    );
    assert!(
        !asks_password("&max_age=3600").await,
        "a fresh login satisfies max_age"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let location = authorize_with(
        &authorize(&server, "openid", "&prompt=none&max_age=1"),
        Some(&session),
    )
    .await
    .unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("login_required"));
    let location = authorize_with(&authorize(&server, "openid", "&prompt=none%20login"), None)
        .await
        .unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn the_signing_key_is_kept_across_restarts_and_rotation_publishes_both() {
    let dir = fresh_dir("keys");
    let jwks = |server: &TestServer| get_json(server.url("/jwks.json"));
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = {
        let server = TestServer::start_in(
            dir.clone(),
            "sqlite://granted.db",
            "http://127.0.0.1:9/unused",
            &[],
        );
        kids(&jwks(&server).await)
    };
    assert_eq!(first.len(), 1);
    let again = {
        let server = TestServer::start_in(
            dir.clone(),
            "sqlite://granted.db",
            "http://127.0.0.1:9/unused",
            &[],
        );
        kids(&jwks(&server).await)
    };
    assert_eq!(again, first, "generated once, then loaded");
    let server = TestServer::start_in(
        dir,
        "sqlite://granted.db",
        "http://127.0.0.1:9/unused",
        &["--rotate-signing-key"],
    );
    let rotated = kids(&jwks(&server).await);
    assert_eq!(rotated.len(), 2, "old and new published during the rotation");
    assert_eq!(rotated[1], first[0]);
    // The new key signs.
    let location = consent(
        &server,
        &authorize(&server, "openid", ""),
        ("alice", "wonderland"),
        "approve",
    )
    .await;
    let code = query_param(&location, "code").unwrap();
    let tokens: Value = http()
        .post(server.url("/oauth/token"))
        .basic_auth("web", Some("web-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", crate::support::VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], rotated[0].as_str());
}
