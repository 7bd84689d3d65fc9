//! The device authorization grant (RFC 8628 §5): guessing user codes,
//! remote phishing with `verification_uri_complete`, another client's device
//! code, and replay.

use std::net::IpAddr;
use std::time::Duration;

use granted::http::Method;
use granted::throttle::{AuthFailureLimit, AuthFailureLimiter};
use granted::{
    ClientModel as _, ClientRecord, DeviceLookupError, GrantType, MemoryStore, Policy, Request, Response,
    Server, TokenHash,
};

use crate::support::{Auth, ISSUER, error_of, form_headers, ok_body, token};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `tv` (confidential) and `evil-tv` (an attacker's registered client), both
/// with the device grant, under a user-code budget of 5 wrong codes locking
/// the source for `lockout`.
fn server(lockout: Duration) -> Server<MemoryStore> {
    let budget = AuthFailureLimiter::new(
        AuthFailureLimit::default()
            .with_max_failures(5)
            .with_lockout(lockout),
    );
    let store = MemoryStore::with_policy(
        Policy::new(GrantType::ALL)
            .with_issuer(ISSUER)
            .with_user_code_budget(budget),
    );
    store.add_client(
        ClientRecord::confidential("tv", "tv-secret")
            .grant_types([DEVICE_GRANT, "refresh_token"])
            .scope("read write"),
    );
    store.add_client(
        ClientRecord::confidential("evil-tv", "evil-secret")
            .grant_types([DEVICE_GRANT])
            .scope("read write"),
    );
    Server::new(store)
}

/// Starts a device authorization as `client`: `(device_code, user_code, verification_uri_complete)`.
async fn start(server: &Server<MemoryStore>, client: &str, secret: &str) -> (String, String, String) {
    let headers = form_headers(Auth::Basic(client, secret));
    let response = server
        .device_authorization(&Request::new(&Method::POST, &headers).with_body(b"scope=read write"))
        .await;
    let body = ok_body(&response);
    let text = |key: &str| body[key].as_str().expect(key).to_owned();
    (
        text("device_code"),
        text("user_code"),
        text("verification_uri_complete"),
    )
}

async fn poll(server: &Server<MemoryStore>, client: &str, secret: &str, device_code: &str) -> Response {
    let body = format!(
        "grant_type={}&device_code={device_code}",
        crate::support::enc(DEVICE_GRANT)
    );
    token(server, Auth::Basic(client, secret), &body).await
}

/// Lets the next poll come after the interval, whatever the clock did.
async fn after_the_interval(server: &Server<MemoryStore>, device_code: &str) {
    use granted::DeviceStorage as _;
    server
        .storage()
        .record_device_poll(&TokenHash::of(device_code), granted::now() - 3600, 5)
        .await
        .unwrap();
}

async fn approve(server: &Server<MemoryStore>, user_code: &str) {
    let pending = server
        .find_device_authorization(user_code, None)
        .await
        .expect("the user code is found");
    assert!(
        server
            .decide_device_authorization(&pending, Some(("user-1", granted::now())))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn user_code_guessing_spends_the_budget_then_even_the_right_code_is_refused() {
    let server = server(Duration::from_secs(1));
    let (_, user_code, _) = start(&server, "tv", "tv-secret").await;
    let attacker: Option<IpAddr> = Some("203.0.113.9".parse().unwrap());
    for guess in ["BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "GGGG-GGGG"] {
        assert!(matches!(
            server.find_device_authorization(guess, attacker).await,
            Err(DeviceLookupError::NotFound)
        ));
    }
    // Locked: the right code is refused too, with the time to wait.
    match server.find_device_authorization(&user_code, attacker).await {
        Err(DeviceLookupError::LockedOut { retry_after }) => assert!(retry_after <= Duration::from_secs(1)),
        other => panic!("expected a lock-out, got {other:?}"),
    }
    // Another source is unaffected; the locked one is served after the lock-out.
    let other: Option<IpAddr> = Some("198.51.100.4".parse().unwrap());
    assert!(server.find_device_authorization(&user_code, other).await.is_ok());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(
        server
            .find_device_authorization(&user_code, attacker)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_phishing_verification_link_shows_the_attackers_client_and_approves_nothing() {
    let server = server(Duration::from_secs(60));
    // The attacker starts a flow on their own client and sends the victim
    // the complete verification link.
    let (device_code, user_code, link) = start(&server, "evil-tv", "evil-secret").await;
    assert!(link.starts_with(&format!("{ISSUER}/device?user_code=")));
    let from_link = link.split_once("user_code=").unwrap().1;
    let pending = server
        .find_device_authorization(from_link, None)
        .await
        .expect("the page finds the code");
    // The page has what the victim needs to refuse: the client and the code.
    assert_eq!(pending.client.client_id(), "evil-tv");
    assert_eq!(pending.user_code, user_code);
    assert_eq!(pending.scope.to_string(), "read write");
    // Looking the code up (following the link) approved nothing.
    after_the_interval(&server, &device_code).await;
    let response = poll(&server, "evil-tv", "evil-secret", &device_code).await;
    assert_eq!(error_of(&response), "authorization_pending");
    // Denied by the victim: the attacker gets access_denied, then nothing.
    assert!(server.decide_device_authorization(&pending, None).await.unwrap());
    after_the_interval(&server, &device_code).await;
    assert_eq!(
        error_of(&poll(&server, "evil-tv", "evil-secret", &device_code).await),
        "access_denied"
    );
}

#[tokio::test]
async fn another_clients_device_code_answers_like_an_unknown_one_and_is_not_used_up() {
    let server = server(Duration::from_secs(60));
    let (device_code, user_code, _) = start(&server, "tv", "tv-secret").await;
    approve(&server, &user_code).await;
    let stolen = poll(&server, "evil-tv", "evil-secret", &device_code).await;
    let unknown = poll(&server, "evil-tv", "evil-secret", "no-such-device-code").await;
    assert_eq!(error_of(&stolen), "invalid_grant");
    assert_eq!(stolen.body(), unknown.body());
    // The rightful client still gets its tokens.
    ok_body(&poll(&server, "tv", "tv-secret", &device_code).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_device_code_is_redeemed_once_even_by_concurrent_polls() {
    let server = std::sync::Arc::new(server(Duration::from_secs(60)));
    let (device_code, user_code, _) = start(&server, "tv", "tv-secret").await;
    approve(&server, &user_code).await;
    let polls: Vec<_> = (0..16)
        .map(|_| {
            let (server, device_code) = (std::sync::Arc::clone(&server), device_code.clone());
            tokio::spawn(async move { poll(&server, "tv", "tv-secret", &device_code).await })
        })
        .collect();
    let mut answers = Vec::new();
    for handle in polls {
        answers.push(handle.await.unwrap());
    }
    let winners = answers.iter().filter(|r| r.status() == 200).count();
    assert_eq!(winners, 1);
    for answer in answers.iter().filter(|r| r.status() != 200) {
        assert_eq!(error_of(answer), "invalid_grant");
    }
    after_the_interval(&server, &device_code).await;
    assert_eq!(
        error_of(&poll(&server, "tv", "tv-secret", &device_code).await),
        "invalid_grant"
    );
}
