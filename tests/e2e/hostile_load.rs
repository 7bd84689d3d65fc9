//! The example server under cheap attacks (issue #14): connections that
//! never finish, declared huge bodies, floods of sign-ins that each cost an
//! argon2 hash, password guessing through every password path, and
//! cross-origin calls. Every wait is bounded; nothing here measures speed.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{TestServer, authorize_url, hidden_fields, http, set_cookie};

const UNUSED: &str = "http://127.0.0.1:9/unused";

/// Reads until the server closes the connection (`Ok(bytes)`), or gives up
/// after `limit` (`Err`).
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + limit;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("still open after {limit:?}"));
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(received),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(received),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("still open after {limit:?}"));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Sends `bytes` one at a time, `gap` apart, until the server closes the
/// connection or `limit` passes; `true` when the server closed it.
fn trickle(stream: &mut TcpStream, bytes: &[u8], gap: Duration, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    for byte in bytes.iter().cycle() {
        if Instant::now() > deadline {
            return false;
        }
        if stream.write_all(&[*byte]).is_err() {
            return true;
        }
        std::thread::sleep(gap);
        stream.set_nonblocking(true).expect("nonblocking");
        let mut probe = [0u8; 1024];
        let closed =
            matches!(stream.read(&mut probe), Ok(0)) || matches!(stream.read(&mut probe), Ok(n) if n > 0);
        stream.set_nonblocking(false).expect("blocking");
        if closed {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn silent_slow_header_and_slow_body_connections_are_cut_at_their_deadlines() {
    let server = TestServer::start("memory", UNUSED);
    let addr = server.addr();
    let silent = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).expect("connect");
            read_until_closed(&mut stream, Duration::from_secs(30))
        })
    };
    let slow_headers = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).expect("connect");
            trickle(
                &mut stream,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                Duration::from_millis(500),
                Duration::from_secs(30),
            )
        })
    };
    let slow_body = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(
                b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 1000\r\n\r\n",
            )
            .expect("headers");
        for _ in 0..25 {
            if stream.write_all(b"a").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
            stream.set_nonblocking(true).expect("nonblocking");
            let mut answer = [0u8; 256];
            let read = stream.read(&mut answer);
            stream.set_nonblocking(false).expect("blocking");
            if let Ok(n) = read
                && n > 0
            {
                return String::from_utf8_lossy(&answer[..n]).into_owned();
            }
        }
        String::new()
    });
    let silent = silent.join().expect("silent thread");
    assert!(
        silent.is_ok(),
        "a connection sending nothing was never closed: {silent:?}"
    );
    assert!(
        slow_headers.join().expect("header thread"),
        "headers sent one byte at a time held the connection"
    );
    let answer = slow_body.join().expect("body thread");
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a body sent one byte at a time: {answer:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_is_closed_and_a_declared_huge_body_is_413_without_reading_it() {
    let server = TestServer::start_in(
        crate::support::fresh_dir("idle"),
        "memory",
        UNUSED,
        &["--idle-timeout", "2s"],
    );
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    let mut first = [0u8; 64];
    let n = stream.read(&mut first).expect("response");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    assert!(
        read_until_closed(&mut stream, Duration::from_secs(20)).is_ok(),
        "the idle connection stayed open"
    );

    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 10000000000\r\n\r\n",
        )
        .expect("headers");
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).expect("answered and closed at once");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("invalid_request"), "{answer}");
}

#[tokio::test]
async fn at_the_connection_cap_the_longest_idle_connection_makes_room() {
    let server = TestServer::start_in(
        crate::support::fresh_dir("cap"),
        "memory",
        UNUSED,
        &["--max-connections", "4"],
    );
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| {
            let stream = TcpStream::connect(server.addr()).expect("connect");
            std::thread::sleep(Duration::from_millis(50));
            stream
        })
        .collect();
    // A fifth client is still served ...
    let response = http().get(server.url("/healthz")).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    // ... because the oldest idle connection was closed for it.
    let oldest = read_until_closed(&mut idle[0], Duration::from_secs(5));
    assert!(
        oldest.is_ok(),
        "the oldest idle connection was not closed: {oldest:?}"
    );
}

/// The login page's form, for POSTing sign-ins: its CSRF cookie and fields.
type Form = (String, Vec<(String, String)>);

async fn login_form(server: &TestServer) -> Form {
    let url = authorize_url(server, "web", "http://127.0.0.1:9/cb", "read");
    let page = http().get(&url).send().await.expect("GET authorize");
    let cookie = set_cookie(&page, "granted_csrf");
    (cookie, hidden_fields(&page.text().await.expect("page")))
}

async fn sign_in(base: String, form: Form, user: String, password: &str) -> u16 {
    let mut fields = form.1;
    fields.extend([
        ("username".to_owned(), user),
        ("password".to_owned(), password.to_owned()),
        ("decision".to_owned(), "approve".to_owned()),
    ]);
    http()
        .post(format!("{base}/oauth/authorize"))
        .header("cookie", &form.0)
        .form(&fields)
        .send()
        .await
        .expect("POST authorize")
        .status()
        .as_u16()
}

async fn password_grant_from(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/oauth/token"))
        .basic_auth("legacy", Some("legacy-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST token")
}

async fn password_grant(base: &str, user: &str, password: &str) -> reqwest::Response {
    password_grant_from(&http(), base, user, password).await
}

#[tokio::test]
async fn a_hundred_simultaneous_sign_ins_keep_memory_bounded_and_are_refused_503_beyond_the_pool() {
    let server = TestServer::start("memory", UNUSED);
    let form = login_form(&server).await;
    // Warm up: the first check allocates argon2's memory once.
    assert_eq!(
        sign_in(server.base.clone(), form.clone(), "nobody".into(), "x").await,
        401
    );
    let before = server.peak_rss_kib();
    let mut attacks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (base, form) = (server.base.clone(), form.clone());
        attacks.spawn(async move { sign_in(base, form, format!("nobody-{i}"), "guess").await });
        let base = server.base.clone();
        attacks.spawn(async move {
            let response = password_grant(&base, &format!("ghost-{i}"), "guess").await;
            let status = response.status().as_u16();
            if status == 503 {
                assert!(
                    response.headers().contains_key("retry-after"),
                    "503 without Retry-After"
                );
                let body: serde_json::Value = response.json().await.expect("JSON");
                assert_eq!(body["error"], "temporarily_unavailable");
            }
            status
        });
    }
    let statuses: Vec<u16> = attacks.join_all().await;
    let after = server.peak_rss_kib();
    let growth_mib = after.saturating_sub(before) / 1024;
    let busy = statuses.iter().filter(|s| **s == 503).count();
    eprintln!("peak RSS {before} KiB -> {after} KiB (+{growth_mib} MiB); {busy} of 200 answered 503");
    assert!(growth_mib < 256, "peak memory grew by {growth_mib} MiB");
    for status in &statuses {
        assert!(
            matches!(status, 400 | 401 | 429 | 503),
            "unexpected status {status}"
        );
    }
    assert!(busy > 0, "the hashing pool never pushed back: {statuses:?}");
}

#[tokio::test]
async fn one_budget_per_username_covers_the_login_form_and_the_password_grant() {
    let server = TestServer::start("memory", UNUSED);
    let base = server.base.clone();
    // Ten wrong passwords at the password grant lock alice ...
    for _ in 0..10 {
        assert_eq!(password_grant(&base, "alice", "guess").await.status(), 400);
    }
    let locked = password_grant(&base, "alice", "wonderland").await;
    assert_eq!(locked.status(), 429, "the right password while locked");
    assert!(locked.headers().contains_key("retry-after"));
    // ... on the login form too.
    let form = login_form(&server).await;
    assert_eq!(
        sign_in(base.clone(), form.clone(), "alice".into(), "wonderland").await,
        429
    );

    // And the other way round: ten failures on the form lock bob at the grant.
    for _ in 0..10 {
        assert_eq!(
            sign_in(base.clone(), form.clone(), "bob".into(), "guess").await,
            401
        );
    }
    assert_eq!(password_grant(&base, "bob", "builder").await.status(), 429);
}

#[tokio::test]
async fn one_address_cannot_lock_out_every_user() {
    let server = TestServer::start("memory", UNUSED);
    let base = server.base.clone();
    // Thirty failures from one address, over three usernames, lock the address ...
    for user in ["u1", "u2", "u3"] {
        for _ in 0..10 {
            assert_eq!(password_grant(&base, user, "guess").await.status(), 400);
        }
    }
    // ... so it cannot go on to lock alice: its guesses are no longer checked.
    for _ in 0..10 {
        assert_eq!(password_grant(&base, "alice", "guess").await.status(), 429);
    }
    // Alice, from her own address, still signs in.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let response = password_grant_from(&elsewhere, &base, "alice", "wonderland").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn cors_allows_public_clients_origins_only() {
    let server = TestServer::start("memory", UNUSED);
    let preflight = |path: &'static str, origin: &'static str| {
        http()
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    // `spa` is public with redirect URI http://127.0.0.1:9/cb.
    for path in [
        "/oauth/token",
        "/oauth/revoke",
        "/userinfo",
        "/jwks.json",
        "/.well-known/oauth-authorization-server",
    ] {
        let allowed = preflight(path, "http://127.0.0.1:9").await.expect("OPTIONS");
        assert!(allowed.status().is_success(), "{path}: {}", allowed.status());
        assert_eq!(
            allowed.headers()["access-control-allow-origin"],
            "http://127.0.0.1:9",
            "{path}"
        );
        let refused = preflight(path, "http://evil.example").await.expect("OPTIONS");
        assert!(
            !refused.headers().contains_key("access-control-allow-origin"),
            "{path} allowed another origin"
        );
    }
    // The actual request carries the header too.
    let metadata = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .header("origin", "http://127.0.0.1:9")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        metadata.headers()["access-control-allow-origin"],
        "http://127.0.0.1:9"
    );
    // Introspection is for resource servers, never browsers.
    let introspect = preflight("/oauth/introspect", "http://127.0.0.1:9")
        .await
        .expect("OPTIONS");
    assert!(!introspect.headers().contains_key("access-control-allow-origin"));
}
