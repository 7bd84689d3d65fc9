//! The device authorization grant (RFC 8628) against the example server:
//! plain HTTP as a device would send it, the verification page driven as a
//! browser would (GET the page, POST its form with the CSRF cookie), and the
//! `oauth2` crate's device flow as a third-party client.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, ClientSecret, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse,
    TokenResponse as _, TokenUrl,
};
use serde_json::{Value, json};

use crate::support::{TestServer, fresh_dir, hidden_fields, http, set_cookie};

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub fn seed() -> String {
    json!({
        "clients": [
            {"client_id": "tv", "client_secret": "tv-secret",
             "grant_types": [DEVICE_GRANT, "refresh_token"], "scope": "read write"},
            {"client_id": "console", "client_secret": null, "token_endpoint_auth_method": "none",
             "grant_types": [DEVICE_GRANT], "scope": "read"},
            {"client_id": "web", "client_secret": "web-secret", "redirect_uris": ["http://127.0.0.1:9/cb"],
             "grant_types": ["authorization_code"], "scope": "read"}
        ],
        "users": [{"username": "alice", "password": "wonderland"}]
    })
    .to_string()
}

/// `POST /oauth/device_authorization` as `tv`.
pub async fn start(server: &TestServer, scope: &str) -> Value {
    let response = http()
        .post(server.url("/oauth/device_authorization"))
        .basic_auth("tv", Some("tv-secret"))
        .form(&[("scope", scope)])
        .send()
        .await
        .expect("POST /oauth/device_authorization");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.expect("JSON")
}

/// One poll of the token endpoint as `client` (Basic when `secret`).
pub async fn poll(
    server: &TestServer,
    client: &str,
    secret: Option<&str>,
    device_code: &str,
) -> (u16, Value) {
    let mut request = http().post(server.url("/oauth/token"));
    let mut form = vec![("grant_type", DEVICE_GRANT), ("device_code", device_code)];
    match secret {
        Some(secret) => request = request.basic_auth(client, Some(secret)),
        None => form.push(("client_id", client)),
    }
    let response = request.form(&form).send().await.expect("POST /oauth/token");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// Opens `page_url` (the verification page with the user code), then posts
/// its confirmation form with `user` signing in and `decision`. Returns the
/// confirmation page's HTML and the answer to the form.
pub async fn decide(
    page_url: &str,
    form_url: &str,
    user: (&str, &str),
    decision: &str,
) -> (String, reqwest::Response) {
    let client = http();
    let page = client.get(page_url).send().await.expect("GET /device");
    assert_eq!(page.status(), 200, "confirmation page");
    let csrf = set_cookie(&page, "granted_csrf");
    let html = page.text().await.expect("page");
    let mut form = hidden_fields(&html);
    form.push(("username".into(), user.0.into()));
    form.push(("password".into(), user.1.into()));
    form.push(("decision".into(), decision.into()));
    let answer = client
        .post(form_url)
        .header("cookie", csrf)
        .form(&form)
        .send()
        .await
        .expect("POST /device");
    (html, answer)
}

fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {value}"))
        .to_owned()
}

#[tokio::test]
async fn device_flow_pending_approve_tokens_then_replay_is_invalid_grant() {
    let server = TestServer::start_seeded(fresh_dir("device-flow"), "sqlite::memory:", &seed(), &[]);
    let started = start(&server, "read").await;
    let user_code = text(&started, "user_code");
    assert_eq!(user_code.len(), 9);
    assert!(
        user_code
            .chars()
            .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user_code}"
    );
    assert_eq!(started["verification_uri"], server.url("/device"));
    assert_eq!(started["interval"], 5);
    assert_eq!(started["expires_in"], 600);
    let device_code = text(&started, "device_code");

    let (status, body) = poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );

    // The user types the code in lower case, without the dash.
    let typed = user_code.replace('-', "").to_lowercase();
    let (html, answer) = decide(
        &server.url(&format!("/device?user_code={typed}")),
        &server.url("/device"),
        ("alice", "wonderland"),
        "approve",
    )
    .await;
    assert!(html.contains(&user_code), "the page shows the code");
    assert!(html.contains("tv"), "the page names the client");
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("Device approved"));

    // The next poll after the interval gets the tokens.
    tokio::time::sleep(Duration::from_millis(5_100)).await;
    let (status, tokens) = poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "read");
    assert!(tokens["refresh_token"].is_string());
    let me: Value = http()
        .get(server.url("/api/me"))
        .bearer_auth(text(&tokens, "access_token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["client_id"], "tv");
    assert!(me["sub"].is_string());

    // Used once.
    let (status, body) = poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn denied_is_access_denied_and_polling_fast_is_slow_down() {
    let server = TestServer::start_seeded(fresh_dir("device-deny"), "sqlite::memory:", &seed(), &[]);
    let started = start(&server, "read write").await;
    let device_code = text(&started, "device_code");
    // Two polls in a row: the second comes sooner than the interval.
    let (_, first) = poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!(first["error"], "authorization_pending");
    let (status, second) = poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!((status, second["error"].as_str()), (400, Some("slow_down")));

    let (html, answer) = decide(
        &text(&started, "verification_uri_complete"),
        &server.url("/device"),
        ("alice", "wonderland"),
        "deny",
    )
    .await;
    assert!(html.contains("write"), "the page lists the scopes");
    assert_eq!(answer.status(), 200);
    tokio::time::sleep(Duration::from_millis(10_100)).await;
    let (status, body) = poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("access_denied")));
    let (_, body) = poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn an_expired_device_code_is_expired_token_and_its_user_code_is_refused() {
    let server = TestServer::start_seeded(
        fresh_dir("device-expiry"),
        "sqlite::memory:",
        &seed(),
        &["--device-code-ttl", "1s"],
    );
    let started = start(&server, "read").await;
    assert_eq!(started["expires_in"], 1);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, body) = poll(&server, "tv", Some("tv-secret"), &text(&started, "device_code")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("expired_token")));
    let page = http()
        .get(text(&started, "verification_uri_complete"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
}

#[tokio::test]
async fn the_client_must_be_allowed_the_grant_and_the_scope() {
    let server = TestServer::start_seeded(fresh_dir("device-refusals"), "sqlite::memory:", &seed(), &[]);
    let url = server.url("/oauth/device_authorization");
    let answer = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.expect("POST");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("JSON");
        (status, body["error"].as_str().unwrap_or_default().to_owned())
    };
    let web = http()
        .post(&url)
        .basic_auth("web", Some("web-secret"))
        .form(&[("scope", "read")]);
    assert_eq!(answer(web).await, (400, "unauthorized_client".into()));
    let wide = http()
        .post(&url)
        .basic_auth("tv", Some("tv-secret"))
        .form(&[("scope", "admin")]);
    assert_eq!(answer(wide).await, (400, "invalid_scope".into()));
    let wrong = http()
        .post(&url)
        .basic_auth("tv", Some("nope"))
        .form(&[("scope", "read")]);
    assert_eq!(answer(wrong).await, (401, "invalid_client".into()));
    // A public client names itself.
    let public = http()
        .post(&url)
        .form(&[("client_id", "console"), ("scope", "read")]);
    let response = public.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let started: Value = response.json().await.unwrap();
    let (_, body) = poll(&server, "console", None, &text(&started, "device_code")).await;
    assert_eq!(body["error"], "authorization_pending");
    // The metadata lists the endpoint and the grant.
    let metadata: Value = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["device_authorization_endpoint"],
        server.url("/oauth/device_authorization")
    );
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(DEVICE_GRANT))
    );
}

#[tokio::test]
async fn device_flow_with_the_oauth2_crate() {
    let server = TestServer::start_seeded(fresh_dir("device-oauth2"), "sqlite::memory:", &seed(), &[]);
    let client = BasicClient::new(ClientId::new("tv".into()))
        .set_client_secret(ClientSecret::new("tv-secret".into()))
        .set_token_uri(TokenUrl::new(server.url("/oauth/token")).unwrap())
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(server.url("/oauth/device_authorization")).unwrap(),
        );
    let http = http();
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .expect("the oauth2 crate accepts our device authorization response");
    assert_eq!(details.interval(), Duration::from_secs(5));
    assert_eq!(details.verification_uri().as_str(), server.url("/device"));

    // The user approves on another device while the client polls.
    let page = details
        .verification_uri_complete()
        .expect("verification_uri_complete")
        .secret()
        .clone();
    let form_url = server.url("/device");
    let approval = tokio::spawn(async move {
        let (_, answer) = decide(&page, &form_url, ("alice", "wonderland"), "approve").await;
        answer.status().as_u16()
    });
    let tokens = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(60)))
        .await
        .expect("the oauth2 crate polls until approved and accepts the tokens");
    assert_eq!(approval.await.unwrap(), 200);
    assert_eq!(tokens.scopes().unwrap()[0].as_str(), "read");
    assert!(tokens.refresh_token().is_some());
    let me = http
        .get(server.url("/api/me"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn following_the_complete_link_approves_nothing_and_guessing_codes_is_locked_out() {
    let server = TestServer::start_seeded(fresh_dir("device-phishing"), "sqlite::memory:", &seed(), &[]);
    let started = start(&server, "read").await;
    let device_code = text(&started, "device_code");
    let page = http()
        .get(text(&started, "verification_uri_complete"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Connect a device to <span class=\"client\">tv</span>"),
        "{html}"
    );
    assert!(html.contains(&text(&started, "user_code")));
    let (_, body) = poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!(
        body["error"], "authorization_pending",
        "opening the link approved nothing"
    );

    // Ten wrong codes from this address, then even the right one is refused.
    for guess in [
        "BBBB", "CCCC", "DDDD", "FFFF", "GGGG", "HHHH", "JJJJ", "KKKK", "LLLL", "MMMM",
    ] {
        let wrong = http()
            .get(server.url(&format!("/device?user_code={guess}-{guess}")))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 400);
    }
    let locked = http()
        .get(text(&started, "verification_uri_complete"))
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_confirmation_posted_without_its_csrf_cookie_is_refused() {
    let server = TestServer::start_seeded(fresh_dir("device-csrf"), "sqlite::memory:", &seed(), &[]);
    let started = start(&server, "read").await;
    let page = http()
        .get(text(&started, "verification_uri_complete"))
        .send()
        .await
        .unwrap();
    let mut form = hidden_fields(&page.text().await.unwrap());
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), "wonderland".into()));
    form.push(("decision".into(), "approve".into()));
    let answer = http()
        .post(server.url("/device"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let (_, body) = poll(&server, "tv", Some("tv-secret"), &text(&started, "device_code")).await;
    assert_eq!(body["error"], "authorization_pending");
}

#[tokio::test]
async fn failed_client_authentications_at_the_device_endpoint_spend_the_clients_budget() {
    let server = TestServer::start_seeded(fresh_dir("device-budget"), "sqlite::memory:", &seed(), &[]);
    let attempt = |secret: &'static str| {
        http()
            .post(server.url("/oauth/device_authorization"))
            .basic_auth("tv", Some(secret))
            .form(&[("scope", "read")])
            .send()
    };
    for _ in 0..10 {
        assert_eq!(attempt("wrong").await.unwrap().status(), 401);
    }
    // Locked out: even the right secret is refused, with the time to wait.
    let locked = attempt("tv-secret").await.unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
}
