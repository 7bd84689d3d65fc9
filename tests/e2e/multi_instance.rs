//! More than one instance of the example server on one PostgreSQL database
//! (contract §3, "Hostile load and more than one instance"): codes, refresh
//! tokens and their reuse detection across instances, races between them,
//! one signing key after a simultaneous first start, a rotation published by
//! every instance, failure budgets (per username, per client id) shared by
//! the instances, and a database outage answered `503` and recovered from
//! without a restart.
//!
//! Each test has a database of its own on the server named by
//! `GRANTED_TEST_POSTGRES_URL` (`./scripts/test` starts one); without it the
//! tests are skipped, or fail in CI.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, watch};

use crate::pg::TestDatabase;
use crate::support::{
    TestServer, VERIFIER, authorize_url, consent, fresh_dir, get_json, hidden_fields, http, query_param,
    set_cookie,
};

const ISSUER: &str = "http://granted.test";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const CALLBACK: &str = "http://127.0.0.1:9/unused";

/// A fresh database, or return (skip) when there is no test server.
macro_rules! database {
    () => {
        match TestDatabase::create().await {
            Some(db) => db,
            None => return,
        }
    };
}

/// An example server on `db` with the shared issuer, refreshing its keys
/// every second.
fn instance(db: &str, extra: &[&str]) -> TestServer {
    let mut flags = vec!["--issuer", ISSUER, "--key-refresh", "1s"];
    flags.extend_from_slice(extra);
    TestServer::start_in(fresh_dir("instance"), db, CALLBACK, &flags)
}

/// Two instances on one database, started one after the other.
fn two_instances(db: &str) -> (TestServer, TestServer) {
    (instance(db, &[]), instance(db, &[]))
}

/// A code for `web` with `scope`, approved by alice on `server`.
async fn code_on(server: &TestServer, scope: &str) -> String {
    let url = authorize_url(server, "web", REDIRECT, scope);
    let location = consent(server, &url, ("alice", "wonderland"), "approve").await;
    query_param(&location, "code").expect("a code")
}

async fn post_token(server: &TestServer, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http()
        .post(server.url("/oauth/token"))
        .basic_auth("web", Some("web-secret"))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn redeem(server: &TestServer, code: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    post_token(server, &form).await
}

async fn refresh(server: &TestServer, refresh_token: &str) -> (u16, Value) {
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    post_token(server, &form).await
}

fn text(value: &Value, name: &str) -> String {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {value}"))
        .to_owned()
}

async fn is_active(server: &TestServer, token: &str) -> bool {
    let body: Value = http()
        .post(server.url("/oauth/introspect"))
        .basic_auth("rs", Some("rs-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspection")
        .json()
        .await
        .expect("a JSON body");
    body["active"] == true
}

async fn me_status(server: &TestServer, access_token: &str) -> u16 {
    http()
        .get(server.url("/api/me"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("GET /api/me")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_issued_on_one_instance_is_redeemed_on_the_other_and_a_replay_revokes_its_tokens() {
    let db = database!();
    let (a, b) = two_instances(&db.url);
    let code = code_on(&a, "read").await;
    let (status, tokens) = redeem(&b, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let (access, refresh_token) = (text(&tokens, "access_token"), text(&tokens, "refresh_token"));
    assert_eq!(me_status(&a, &access).await, 200, "a token from B works on A");

    let (status, replay) = redeem(&a, &code).await;
    assert_eq!((status, replay["error"].as_str()), (400, Some("invalid_grant")));
    for server in [&a, &b] {
        assert!(
            !is_active(server, &access).await,
            "the access token survived the replay"
        );
        assert!(
            !is_active(server, &refresh_token).await,
            "the refresh token survived the replay"
        );
        assert_eq!(me_status(server, &access).await, 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_rotated_on_one_instance_and_reused_on_the_other_revokes_the_family() {
    let db = database!();
    let (a, b) = two_instances(&db.url);
    let (status, first) = redeem(&a, &code_on(&a, "read").await).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = refresh(&b, &text(&first, "refresh_token")).await;
    assert_eq!(status, 200, "{second}");

    let (status, reuse) = refresh(&a, &text(&first, "refresh_token")).await;
    assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")));
    for token in [
        text(&first, "access_token"),
        text(&second, "access_token"),
        text(&second, "refresh_token"),
    ] {
        for server in [&a, &b] {
            assert!(
                !is_active(server, &token).await,
                "a token of the family survived the reuse"
            );
        }
    }
    let (status, _) = refresh(&b, &text(&second, "refresh_token")).await;
    assert_eq!(status, 400);
}

/// Tries per instance in each race.
const TRIES: usize = 16;

/// Sends `TRIES` copies of `form` to each instance at once; the statuses.
async fn race(a: &TestServer, b: &TestServer, form: Vec<(&'static str, String)>) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(2 * TRIES));
    let tasks: Vec<_> = [a, b]
        .into_iter()
        .flat_map(|server| std::iter::repeat_n(server.url("/oauth/token"), TRIES))
        .map(|url| {
            let (form, barrier) = (form.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                let request = http().post(url).basic_auth("web", Some("web-secret")).form(&form);
                barrier.wait().await;
                request.send().await.expect("token request").status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    statuses
}

fn exactly_one_winner(statuses: &[u16]) {
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_and_rotations_across_instances_have_one_winner() {
    let db = database!();
    let (a, b) = two_instances(&db.url);
    let code = code_on(&a, "read").await;
    let statuses = race(
        &a,
        &b,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", REDIRECT.into()),
            ("code_verifier", VERIFIER.into()),
        ],
    )
    .await;
    exactly_one_winner(&statuses);

    let (status, tokens) = redeem(&b, &code_on(&b, "read").await).await;
    assert_eq!(status, 200, "{tokens}");
    let statuses = race(
        &a,
        &b,
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", text(&tokens, "refresh_token")),
        ],
    )
    .await;
    exactly_one_winner(&statuses);
}

/// The password grant for `user` at `server` (the seed's `legacy` client);
/// the status.
async fn password_grant(server: &TestServer, user: &str, password: &str) -> u16 {
    http()
        .post(server.url("/oauth/token"))
        .basic_auth("legacy", Some("legacy-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("token request")
        .status()
        .as_u16()
}

/// A client credentials grant for `rs` with `secret` at `server`; the status.
async fn client_credentials(server: &TestServer, secret: &str) -> u16 {
    http()
        .post(server.url("/oauth/token"))
        .basic_auth("rs", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
        .status()
        .as_u16()
}

/// How long an instance may take to honour a lock another instance caused:
/// the contract says about a second (the example server reads the locks
/// every second); this leaves room for a loaded machine.
const LOCK_SYNC_BOUND: Duration = Duration::from_secs(10);

/// Repeats `attempt` (made with the right credentials, so that it counts no
/// failure) until it answers `429`; every answer before must be `200`.
/// Fails when the lock has not arrived within [`LOCK_SYNC_BOUND`].
async fn until_locked<F, Fut>(what: &str, attempt: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let deadline = Instant::now() + LOCK_SYNC_BOUND;
    loop {
        match attempt().await {
            429 => return,
            200 => assert!(
                Instant::now() < deadline,
                "{what}: the lock did not reach the other instance within {LOCK_SYNC_BOUND:?}"
            ),
            status => panic!("{what}: {status}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_split_over_two_instances_lock_the_username_on_both() {
    let db = database!();
    let (a, b) = two_instances(&db.url);
    for server in [&a, &b] {
        for _ in 0..5 {
            assert_eq!(password_grant(server, "alice", "guess").await, 400);
        }
    }
    // B counted the tenth failure: locked there at once, even for the right
    // password (each instance alone counted five: before, both let alice in).
    assert_eq!(password_grant(&b, "alice", "wonderland").await, 429);
    // A reads the lock from the database.
    until_locked("alice on A", || password_grant(&a, "alice", "wonderland")).await;
    assert_eq!(password_grant(&b, "alice", "wonderland").await, 429);
    // Another user is not affected, on either.
    assert_eq!(password_grant(&a, "bob", "builder").await, 200);
    assert_eq!(password_grant(&b, "bob", "builder").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_client_authentications_split_over_two_instances_lock_the_client_on_both() {
    let db = database!();
    let (a, b) = two_instances(&db.url);
    for server in [&a, &b] {
        for _ in 0..5 {
            assert_eq!(client_credentials(server, "guess").await, 401);
        }
    }
    assert_eq!(client_credentials(&b, "rs-secret").await, 429);
    until_locked("rs on A", || client_credentials(&a, "rs-secret")).await;
    assert_eq!(client_credentials(&b, "rs-secret").await, 429);
    // Another client is not affected.
    let svc = http()
        .post(a.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "svc-secret"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(svc.status(), 200);
}

/// The `kid`s of a server's JWKS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_form_from_one_instance_posts_to_the_other_and_its_session_is_honoured_by_both() {
    let db = database!();
    let (a, b) = two_instances(&db.url);
    // The page comes from A, its form is posted to B: the CSRF key is shared.
    let url = authorize_url(&a, "web", REDIRECT, "read");
    let page = http().get(&url).send().await.expect("GET authorize on A");
    let csrf = set_cookie(&page, "granted_csrf");
    let mut form = hidden_fields(&page.text().await.expect("page"));
    form.extend([
        ("username".to_owned(), "alice".to_owned()),
        ("password".to_owned(), "wonderland".to_owned()),
        ("decision".to_owned(), "approve".to_owned()),
    ]);
    let answer = http()
        .post(b.url("/oauth/authorize"))
        .header("cookie", &csrf)
        .form(&form)
        .send()
        .await
        .expect("POST authorize on B");
    assert_eq!(answer.status(), 302, "B accepts A's form");
    let session = set_cookie(&answer, "granted_session");

    // The session made on B is honoured on A: `prompt=none` answers with a
    // code at once (signed in, and the consent was recorded in the session).
    let silent = format!("{}&prompt=none", authorize_url(&a, "web", REDIRECT, "read"));
    let answer = http()
        .get(&silent)
        .header("cookie", &session)
        .send()
        .await
        .expect("GET authorize on A");
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let code = query_param(&location, "code").expect("a code from the shared session");
    assert_eq!(redeem(&b, &code).await.0, 200);

    // Without the cookie, A asks for a login.
    let answer = http().get(&silent).send().await.expect("GET authorize on A");
    let location = answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_eq!(query_param(&location, "error").as_deref(), Some("login_required"));
}

async fn kids(server: &TestServer) -> Vec<String> {
    let jwks = get_json(server.url("/jwks.json")).await;
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_on_an_empty_database_publish_one_key() {
    for _ in 0..3 {
        let db = database!();
        let starts: Vec<_> = (0..2)
            .map(|_| {
                let url = db.url.clone();
                std::thread::spawn(move || instance(&url, &[]))
            })
            .collect();
        let servers: Vec<TestServer> = starts
            .into_iter()
            .map(|start| start.join().expect("start"))
            .collect();
        let published = kids(&servers[0]).await;
        assert_eq!(published.len(), 1, "{published:?}");
        assert_eq!(kids(&servers[1]).await, published);
        assert_eq!(
            get_json(servers[0].url("/jwks.json")).await,
            get_json(servers[1].url("/jwks.json")).await
        );
    }
}

/// The `kid` in the header of the id_token `server` issues now.
async fn id_token_kid(server: &TestServer) -> String {
    let (status, tokens) = redeem(server, &code_on(server, "openid").await).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = text(&tokens, "id_token");
    let header = id_token.split('.').next().expect("a JWS");
    let header =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).expect("base64url");
    let header: Value = serde_json::from_slice(&header).expect("a JSON header");
    text(&header, "kid")
}

/// The contract's bound for a rotation to be published everywhere.
const ROTATION_BOUND: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_on_a_new_instance_is_published_by_the_others_before_anyone_signs_with_it() {
    let db = database!();
    let (a, b) = two_instances(&db.url);
    let before = kids(&a).await;
    assert_eq!(before.len(), 1);
    let c = instance(&db.url, &["--rotate-signing-key"]);
    let rotated = kids(&c).await;
    assert_eq!(rotated.len(), 2, "old and new published: {rotated:?}");
    let new = rotated
        .iter()
        .find(|kid| !before.contains(kid))
        .expect("a new key")
        .clone();

    // Every id_token any instance signs verifies with every instance's JWKS:
    // the new key signs only once the others publish it.
    let deadline = Instant::now() + ROTATION_BOUND;
    let mut published_everywhere = false;
    let mut signed_with_new = false;
    while Instant::now() < deadline && !(published_everywhere && signed_with_new) {
        let signer = id_token_kid(&c).await;
        let (on_a, on_b) = (kids(&a).await, kids(&b).await);
        assert!(
            on_a.contains(&signer) && on_b.contains(&signer),
            "C signed with {signer}, which A ({on_a:?}) or B ({on_b:?}) does not publish"
        );
        published_everywhere = on_a.contains(&new) && on_b.contains(&new);
        signed_with_new = signer == new;
        if !(published_everywhere && signed_with_new) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    assert!(published_everywhere, "A or B did not publish the new key");
    assert!(signed_with_new, "C never signed with the new key");
    // The others sign with it too, and what they sign verifies anywhere.
    for server in [&a, &b] {
        let mut signer = id_token_kid(server).await;
        while signer != new && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            signer = id_token_kid(server).await;
        }
        assert_eq!(signer, new);
    }
}

/// What the forwarder does with the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Forwards it.
    Up,
    /// Closes every connection, and each new one at once (the database
    /// stopped or the host went away): errors come at once.
    Reset,
    /// Keeps every connection open and forwards nothing (a network
    /// partition): nothing ever answers, only time-outs end the wait.
    Silent,
}

/// A TCP forwarder to PostgreSQL whose link can be cut and restored.
struct Forwarder {
    addr: SocketAddr,
    link: watch::Sender<Link>,
}

impl Forwarder {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (link, watching) = watch::channel(Link::Up);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut watching = watching.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let now = *watching.borrow_and_update();
                    match now {
                        Link::Reset => return,
                        Link::Silent => {
                            // Held open, unanswered, until the link changes.
                            let _ = watching.wait_for(|link| *link != Link::Silent).await;
                            return;
                        }
                        Link::Up => {}
                    }
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let cut = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
                        cut = watching.wait_for(|link| *link != Link::Up) => cut.map(|link| *link).ok(),
                    };
                    if cut == Some(Link::Silent) {
                        let _ = watching.wait_for(|link| *link != Link::Silent).await;
                    }
                });
            }
        });
        Self { addr, link }
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

/// Where the `host:port` of a URL starts and ends.
fn host_port_bounds(url: &str) -> (usize, usize) {
    let start = url
        .find('@')
        .map_or_else(|| url.find("://").expect("a URL") + 3, |at| at + 1);
    let end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
    (start, end)
}

/// `url` with its `host:port` replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let (start, end) = host_port_bounds(url);
    format!("{}{addr}{}", &url[..start], &url[end..])
}

/// The `host:port` of a URL.
fn host_port(url: &str) -> String {
    let (start, end) = host_port_bounds(url);
    url[start..end].to_owned()
}

/// The password of a URL, to look for in logs.
fn password(url: &str) -> Option<String> {
    let userinfo = url.split("://").nth(1)?.split('@').next()?;
    Some(userinfo.split_once(':')?.1.to_owned())
}

/// Runs futures at once; their outputs in order.
async fn join_all<F: std::future::Future>(futures: [F; 2]) -> [F::Output; 2] {
    let [one, two] = futures;
    let (one, two) = tokio::join!(one, two);
    [one, two]
}

/// Status and `Retry-After` of requests to the endpoints that need the
/// database, each bounded well above the 10 s time limit so that a hang
/// fails the test instead of stalling it.
async fn statuses(
    server: &TestServer,
    access_token: &str,
    user_code: &str,
) -> Vec<(&'static str, u16, bool)> {
    let client = oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client");
    let authorize = authorize_url(server, "spa", REDIRECT, "read");
    let requests = [
        (
            "POST /oauth/token",
            client.post(server.url("/oauth/token")).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "svc"),
                ("client_secret", "svc-secret"),
            ]),
        ),
        (
            "GET /api/me",
            client.get(server.url("/api/me")).bearer_auth(access_token),
        ),
        (
            "GET /userinfo",
            client.get(server.url("/userinfo")).bearer_auth(access_token),
        ),
        ("GET /oauth/authorize", client.get(authorize)),
        (
            "POST /oauth/device_authorization",
            client.post(server.url("/oauth/device_authorization")).form(&[
                ("client_id", "tv"),
                ("client_secret", "tv-secret"),
                ("scope", "read"),
            ]),
        ),
        (
            "GET /device",
            client.get(server.url(&format!("/device?user_code={user_code}"))),
        ),
        ("GET /readyz", client.get(server.url("/readyz"))),
    ];
    let mut answers = Vec::new();
    for (name, request) in requests {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} did not answer in time: {e}"));
        let retry_after = response.headers().contains_key("retry-after");
        answers.push((name, response.status().as_u16(), retry_after));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_within_the_time_limit_and_recovers_without_a_restart() {
    let db = database!();
    let forwarder = Forwarder::start(host_port(&db.url)).await;
    let url = through(&db.url, forwarder.addr);
    let (a, b) = two_instances(&url);
    let (status, tokens) = redeem(&a, &code_on(&a, "openid read").await).await;
    assert_eq!(status, 200, "{tokens}");
    let access = text(&tokens, "access_token");
    let user_code = text(&start_device(&a).await, "user_code");
    for server in [&a, &b] {
        for (name, status, _) in statuses(server, &access, &user_code).await {
            assert_eq!(status, 200, "{name} before the outage");
        }
    }

    for outage in [Link::Silent, Link::Reset] {
        // Let the clients looked up so far leave the store's client cache
        // (5 s): the authorization page of a cached client needs no database.
        tokio::time::sleep(Duration::from_secs(6)).await;
        forwarder.set(outage);
        let during = join_all([&a, &b].map(|server| statuses(server, &access, &user_code))).await;
        for answers in during {
            for (name, status, retry_after) in answers {
                assert_eq!(status, 503, "{name} during the outage ({outage:?})");
                assert!(
                    retry_after,
                    "{name} during the outage ({outage:?}): no Retry-After"
                );
            }
        }

        forwarder.set(Link::Up);
        for server in [&a, &b] {
            let deadline = Instant::now() + Duration::from_secs(30);
            while http()
                .get(server.url("/readyz"))
                .send()
                .await
                .map_or(true, |r| r.status() != 200)
            {
                assert!(
                    Instant::now() < deadline,
                    "not ready again after the outage ({outage:?})"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for (name, status, _) in statuses(server, &access, &user_code).await {
                assert_eq!(status, 200, "{name} after the outage ({outage:?})");
            }
        }
    }

    // The password never reached a log line or the start-up line.
    let secret = password(&db.url).expect("the test URL has a password");
    for server in [&a, &b] {
        assert!(!server.banner.contains(&secret), "{}", server.banner);
        assert!(server.banner.contains(":***@"), "{}", server.banner);
        let log = crate::support::read_lossy(&server.dir.join("stderr.log"));
        assert!(!log.contains(&secret), "the password is in the log");
    }
}

#[test]
fn urls_are_rerouted_through_the_forwarder() {
    let addr = SocketAddr::from(([127, 0, 0, 1], 4242));
    let url = "postgres://u:p@127.0.0.1:5432/db?sslmode=disable";
    assert_eq!(
        through(url, addr),
        "postgres://u:p@127.0.0.1:4242/db?sslmode=disable"
    );
    assert_eq!(host_port(url), "127.0.0.1:5432");
    assert_eq!(password(url).as_deref(), Some("p"));
}

/// Starts a device authorization for `tv` on `server`.
async fn start_device(server: &TestServer) -> Value {
    let response = http()
        .post(server.url("/oauth/device_authorization"))
        .form(&[
            ("client_id", "tv"),
            ("client_secret", "tv-secret"),
            ("scope", "read"),
        ])
        .send()
        .await
        .expect("POST /oauth/device_authorization");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

/// Polls the token endpoint of `server` for `tv`'s device code.
async fn poll_device(server: &TestServer, device_code: &str) -> (u16, Value) {
    let response = http()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", "tv"),
            ("client_secret", "tv-secret"),
        ])
        .send()
        .await
        .expect("POST /oauth/token");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// A device authorization started on one instance is approved on the other
/// (its page, its sign-in) and redeemed once: both instances racing to
/// redeem it, exactly one gets the tokens (RFC 8628 on a shared database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_code_started_on_one_instance_is_approved_on_the_other_and_redeemed_once() {
    let db = database!();
    let (one, two) = two_instances(&db.url);
    let started = start_device(&one).await;
    let page = two.url(&format!("/device?user_code={}", text(&started, "user_code")));
    let (html, answer) =
        crate::device::decide(&page, &two.url("/device"), ("alice", "wonderland"), "approve").await;
    assert!(html.contains("tv"));
    assert_eq!(answer.status(), 200);
    let device_code = text(&started, "device_code");
    let (a, b) = tokio::join!(poll_device(&one, &device_code), poll_device(&two, &device_code));
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{a:?} {b:?}");
    let loser = if a.0 == 400 { a.1 } else { b.1 };
    assert_eq!(loser["error"], "invalid_grant");
}

/// A request_uri pushed to one instance is used once on any instance
/// sharing the database, and only by the client that pushed it (RFC 9126).
#[tokio::test]
async fn a_pushed_request_is_used_once_across_instances() {
    let db = database!();
    let (one, two) = two_instances(&db.url);
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER.as_bytes()))
    };
    let pushed: Value = http()
        .post(one.url("/oauth/par"))
        .basic_auth("web", Some("web-secret"))
        .form(&[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            ("state", "st-1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("POST /oauth/par")
        .json()
        .await
        .expect("JSON");
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    let url = |server: &TestServer, client: &str| {
        let query = oauth2::url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client)
            .append_pair("request_uri", request_uri)
            .finish();
        server.url(&format!("/oauth/authorize?{query}"))
    };
    let status = |url: String| async move { http().get(url).send().await.expect("GET").status() };
    assert_eq!(status(url(&two, "spa")).await, 400, "another client");
    assert_eq!(
        status(url(&two, "web")).await,
        200,
        "its client, on the other instance"
    );
    assert_eq!(status(url(&one, "web")).await, 400, "used up on every instance");
}
