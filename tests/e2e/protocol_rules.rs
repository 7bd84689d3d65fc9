//! Protocol rules the outside security review of issue 14 found off, checked
//! against the built example server.

use serde_json::Value;

use crate::support::{TestServer, VERIFIER, authorize_url, consent, consent_with, http, query_param};

const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// The code flow for `web` with `scope`, through the consent form: the token
/// response.
async fn web_tokens(server: &TestServer, scope: &str) -> Value {
    let url = authorize_url(server, "web", REDIRECT, scope);
    let location = consent(server, &url, ("alice", "wonderland"), "approve").await;
    let code = query_param(&location, "code").expect("code");
    let response = http()
        .post(server.url("/oauth/token"))
        .basic_auth("web", Some("web-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("POST token");
    assert_eq!(response.status(), 200);
    response.json().await.expect("token response")
}

/// A refresh by `web`, with `scope` when given: status and body.
async fn refresh(server: &TestServer, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend(scope.map(|scope| ("scope", scope)));
    let response = http()
        .post(server.url("/oauth/token"))
        .basic_auth("web", Some("web-secret"))
        .form(&form)
        .send()
        .await
        .expect("POST token");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// Introspects `token` as the confidential client `id`.
async fn introspect_as(server: &TestServer, (id, secret): (&str, &str), token: &str) -> Value {
    http()
        .post(server.url("/oauth/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("POST introspect")
        .json()
        .await
        .expect("JSON body")
}

fn text(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no `{name}` in {body}"))
        .to_owned()
}

/// RFC 6749 §6 (contract: "Refresh: a narrower `scope` narrows only the new
/// access token"), on SQLite so that the stored refresh scope is read back.
#[tokio::test]
async fn a_narrowing_refresh_keeps_the_refresh_tokens_scope() {
    let server = TestServer::start("sqlite::memory:", "http://127.0.0.1:9/unused");
    let tokens = web_tokens(&server, "read write").await;
    let (status, narrowed) = refresh(&server, &text(&tokens, "refresh_token"), Some("read")).await;
    assert_eq!(status, 200, "{narrowed}");
    assert_eq!(narrowed["scope"], "read");
    let web = ("web", "web-secret");
    let refresh_token = text(&narrowed, "refresh_token");
    assert_eq!(
        introspect_as(&server, web, &refresh_token).await["scope"],
        "read write"
    );
    assert_eq!(
        introspect_as(&server, web, &text(&narrowed, "access_token")).await["scope"],
        "read"
    );
    let (status, restored) = refresh(&server, &refresh_token, Some("read write")).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["scope"], "read write");
}

/// Contract: "a refresh token [is answered] only to the client it was issued
/// to (anyone else gets `{"active": false}`)"; access tokens to any
/// authenticated confidential client.
#[tokio::test]
async fn a_refresh_token_introspects_only_for_its_own_client() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let tokens = web_tokens(&server, "read").await;
    let refresh_token = text(&tokens, "refresh_token");
    let resource_server = ("rs", "rs-secret");
    assert_eq!(
        introspect_as(&server, resource_server, &refresh_token).await,
        serde_json::json!({"active": false})
    );
    let owner = introspect_as(&server, ("web", "web-secret"), &refresh_token).await;
    assert_eq!(owner["active"], true, "{owner}");
    assert_eq!(owner["token_type"], "refresh_token");
    let access = introspect_as(&server, resource_server, &text(&tokens, "access_token")).await;
    assert_eq!(access["active"], true, "{access}");
}

/// Contract: "`error_description` only ever holds RFC 6749 characters
/// (%x20-21 / %x23-5B / %x5D-7E): request input is never echoed raw", with
/// the review's reproductions (`prompt` and `grant_type`).
#[tokio::test]
async fn error_descriptions_hold_only_rfc_6749_characters() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let allowed = |text: &str| {
        text.chars()
            .all(|c| matches!(c, ' '..='!' | '#'..='[' | ']'..='~'))
    };
    let url = format!(
        "{}&prompt={}",
        authorize_url(&server, "web", REDIRECT, "read"),
        "%22%3Cscript%3Ealert(1)%3C%2Fscript%3E%0D%0A%00"
    );
    let response = http().get(url).send().await.expect("GET authorize");
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    let description = query_param(&location, "error_description").expect("error_description");
    assert!(
        allowed(&description) && !description.contains("script"),
        "{description:?}"
    );

    let response = http()
        .post(server.url("/oauth/token"))
        .basic_auth("rs", Some("rs-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials%00%22%3Cb%3E")
        .send()
        .await
        .expect("POST token");
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["error"], "unsupported_grant_type");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        allowed(description) && !description.contains("<b>"),
        "{description:?}"
    );
}

/// `/api/me` answers a user's data: never stored by a cache, never sniffed
/// as another content type; its refusals likewise.
#[tokio::test]
async fn api_me_is_never_cached_nor_sniffed() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let tokens = web_tokens(&server, "read").await;
    let ok = http()
        .get(server.url("/api/me"))
        .bearer_auth(text(&tokens, "access_token"))
        .send()
        .await
        .expect("GET /api/me");
    let refused = http()
        .get(server.url("/api/me"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("GET /api/me");
    for (response, status) in [(ok, 200), (refused, 401)] {
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
}

/// A form body sent with `Content-Encoding: gzip` is `415` with an OAuth
/// JSON `invalid_request` at every endpoint that reads a form (the review
/// found it read as plain text).
#[tokio::test]
async fn encoded_form_bodies_are_415_at_every_form_endpoint() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    for path in [
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/oauth/authorize",
    ] {
        let response = http()
            .post(server.url(path))
            .basic_auth("rs", Some("rs-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-encoding", "gzip")
            .body("grant_type=client_credentials&token=x")
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 415, "{path}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body["error"], "invalid_request", "{path}");
    }
}

/// A code or refresh token presented by another client gets word for word
/// what an unknown one gets: the answer does not confirm that it exists.
#[tokio::test]
async fn another_clients_code_and_refresh_token_answer_like_unknown_ones() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let as_spa = |form: Vec<(&'static str, String)>| {
        let mut form = form;
        form.push(("client_id", "spa".to_owned()));
        let request = http().post(server.url("/oauth/token")).form(&form);
        async move {
            let response = request.send().await.expect("POST token");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON body"))
        }
    };
    let code = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    let url = authorize_url(&server, "web", REDIRECT, "read");
    let location = consent(&server, &url, ("alice", "wonderland"), "approve").await;
    let web_code = query_param(&location, "code").expect("code");
    let foreign = as_spa(code(&web_code)).await;
    let unknown = as_spa(code("no-such-code")).await;
    assert_eq!(foreign.1["error"], "invalid_grant");
    assert_eq!(foreign, unknown);

    let tokens = web_tokens(&server, "read").await;
    let refresh = |token: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token.to_owned()),
        ]
    };
    let foreign = as_spa(refresh(&text(&tokens, "refresh_token"))).await;
    let unknown = as_spa(refresh("no-such-token")).await;
    assert_eq!(foreign.1["error"], "invalid_grant");
    assert_eq!(foreign, unknown);
}

/// Signing in as another user (`prompt=login`) ends the session the browser
/// had: its old cookie no longer signs anyone in (the review found it still
/// did).
#[tokio::test]
async fn a_new_sign_in_ends_the_previous_session() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let url = authorize_url(&server, "web", REDIRECT, "read");
    let (_, alice) = consent_with(&server, &url, ("alice", "wonderland"), "approve", None).await;
    let alice = alice.expect("alice's session cookie");
    let silent = |cookie: String| {
        let request = http().get(format!("{url}&prompt=none")).header("cookie", cookie);
        async move {
            let response = request.send().await.expect("GET authorize");
            assert_eq!(response.status(), 302);
            response.headers()["location"]
                .to_str()
                .expect("location")
                .to_owned()
        }
    };
    // alice's session answers prompt=none with a code.
    assert!(query_param(&silent(alice.clone()).await, "code").is_some());

    let login_again = format!("{url}&prompt=login");
    let (location, bob) =
        consent_with(&server, &login_again, ("bob", "builder"), "approve", Some(&alice)).await;
    assert!(query_param(&location, "code").is_some(), "{location}");
    let bob = bob.expect("bob's session cookie");
    assert_ne!(bob, alice);
    assert!(query_param(&silent(bob).await, "code").is_some());
    let old = silent(alice).await;
    assert_eq!(
        query_param(&old, "error").as_deref(),
        Some("login_required"),
        "{old}"
    );
}

/// OIDC Core §3.1.2.1: `max_age=0` is `prompt=login`. Right after a login
/// (the same second, as the review ran it) a session does not satisfy it:
/// `prompt=none` answers `login_required` and the page asks for a password.
#[tokio::test]
async fn max_age_zero_always_asks_for_a_new_login() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let url = authorize_url(&server, "web", REDIRECT, "read");
    let (_, session) = consent_with(&server, &url, ("alice", "wonderland"), "approve", None).await;
    let session = session.expect("session cookie");
    let silent = http()
        .get(format!("{url}&prompt=none&max_age=0"))
        .header("cookie", &session)
        .send()
        .await
        .expect("GET authorize");
    assert_eq!(silent.status(), 302);
    let location = silent.headers()["location"].to_str().expect("location");
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("login_required"),
        "{location}"
    );
    assert!(query_param(location, "code").is_none());
    let page = http()
        .get(format!("{url}&max_age=0"))
        .header("cookie", &session)
        .send()
        .await
        .expect("GET authorize")
        .text()
        .await
        .expect("page");
    assert!(page.contains("type=\"password\""), "the page asks for a password");
    // Without max_age the session still counts.
    let page = http()
        .get(&url)
        .header("cookie", &session)
        .send()
        .await
        .expect("GET authorize")
        .text()
        .await
        .expect("page");
    assert!(!page.contains("type=\"password\""), "signed in already");
}

/// OIDC Core §6 / RFC 9101: `request` and `request_uri` answer
/// `request_not_supported` / `request_uri_not_supported`, redirected to the
/// client; discovery says neither is supported.
#[tokio::test]
async fn request_objects_answer_request_not_supported() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let url = authorize_url(&server, "web", REDIRECT, "openid");
    for (extra, error) in [
        ("request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        (
            "request_uri=https%3A%2F%2Fclient.example%2Fr",
            "request_uri_not_supported",
        ),
    ] {
        let response = http()
            .get(format!("{url}&{extra}"))
            .send()
            .await
            .expect("GET authorize");
        assert_eq!(response.status(), 302, "{extra}");
        let location = response.headers()["location"].to_str().expect("location");
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(
            query_param(location, "error").as_deref(),
            Some(error),
            "{location}"
        );
        assert_eq!(query_param(location, "state").as_deref(), Some("st-1"));
    }
    let discovery: Value = http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("GET discovery")
        .json()
        .await
        .expect("JSON");
    assert_eq!(discovery["request_parameter_supported"], false);
    assert_eq!(discovery["request_uri_parameter_supported"], false);
}

/// A valid `client_credentials` token with `scope=openid` has no user: at
/// `/userinfo` it is `403 insufficient_scope` saying so, not `401
/// invalid_token` as if the token were bad.
#[tokio::test]
async fn userinfo_with_a_token_without_user_is_403_insufficient_scope() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let tokens: Value = http()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid"),
            ("client_id", "svc"),
            ("client_secret", "svc-secret"),
        ])
        .send()
        .await
        .expect("POST token")
        .json()
        .await
        .expect("JSON");
    let response = http()
        .get(server.url("/userinfo"))
        .bearer_auth(text(&tokens, "access_token"))
        .send()
        .await
        .expect("GET userinfo");
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("challenge")
        .to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["error"], "insufficient_scope");
    assert!(
        text(&body, "error_description").contains("not for a user"),
        "{body}"
    );
}

/// RFC 6750 §3.1: a request without any credentials gets a bare `Bearer`
/// challenge and no error code (the review found `invalid_token` in the
/// body of `/api/me`); `/userinfo` likewise.
#[tokio::test]
async fn no_token_at_all_gets_a_bare_challenge_and_no_error_code() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    for path in ["/api/me", "/userinfo"] {
        let response = http().get(server.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"granted\"",
            "{path}"
        );
        let body = response.text().await.expect("body");
        let error = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|json| json.get("error").cloned());
        assert_eq!(error, None, "{path}: {body}");
    }
}
