//! Micro-benchmarks of the token endpoint through the public API, on the
//! in-memory store: request parsing and client authentication, then one
//! token issuance per grant.
//!
//! ```text
//! cargo bench --bench token_endpoint
//! cargo test --benches            # each benchmark runs once, as a check
//! ```

use std::hint::black_box;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::storage::Storage as _;
use granted::{
    ClientRecord, CodeRecord, MemoryStore, NewToken, PkceMethod, Request, Scope, Server, TokenHash,
    TokenRecord, authenticate, now, pkce,
};
use tokio::runtime::Runtime;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1:9000/cb";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a Tokio runtime")
}

fn server() -> Server<MemoryStore> {
    let store = MemoryStore::new();
    store.add_client(
        ClientRecord::confidential("bench", "bench-secret")
            .redirect_uris([REDIRECT])
            .grant_types(["authorization_code", "refresh_token", "client_credentials"])
            .scope("read write"),
    );
    Server::new(store)
}

/// Form headers with `Authorization: Basic bench:bench-secret`.
fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let basic = format!("Basic {}", STANDARD.encode("bench:bench-secret"));
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&basic).expect("ASCII"));
    headers
}

/// Posts `body` to the token endpoint; panics unless it answers 200.
async fn token(server: &Server<MemoryStore>, headers: &HeaderMap, body: &[u8]) -> serde_json::Value {
    let response = server
        .token(&Request::new(&Method::POST, headers).with_body(body))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.json());
    response.json()
}

fn parse_and_authenticate(c: &mut Criterion) {
    let rt = runtime();
    let server = server();
    let headers = headers();
    let body = b"grant_type=client_credentials&scope=read";
    c.bench_function("token/parse_and_authenticate", |b| {
        b.iter(|| {
            let request = Request::new(&Method::POST, &headers).with_body(black_box(body));
            let params = request.form().expect("a valid form");
            let client = rt
                .block_on(authenticate(&server, &request, &params))
                .expect("authenticated");
            black_box(client);
        });
    });
}

fn client_credentials(c: &mut Criterion) {
    let rt = runtime();
    let server = server();
    let headers = headers();
    c.bench_function("token/client_credentials", |b| {
        b.iter(|| {
            rt.block_on(token(
                &server,
                &headers,
                b"grant_type=client_credentials&scope=read",
            ))
        });
    });
}

fn authorization_code_pkce(c: &mut Criterion) {
    let rt = runtime();
    let server = server();
    let headers = headers();
    let challenge = pkce::s256_challenge(VERIFIER);
    c.bench_function("token/authorization_code_pkce_s256", |b| {
        b.iter_batched(
            || {
                // A fresh code per exchange, as the authorization endpoint stores it.
                let code = NewToken::generate().expect("randomness");
                server.storage().add_code(CodeRecord {
                    code: code.hash(),
                    client_id: "bench".into(),
                    redirect_uri: Some(REDIRECT.into()),
                    scope: Scope::parse("read").expect("a scope"),
                    subject: "user-1".into(),
                    code_challenge: Some(challenge.clone()),
                    code_challenge_method: Some(PkceMethod::S256),
                    nonce: None,
                    auth_time: None,
                    expires_at: now() + 60,
                });
                format!(
                    "grant_type=authorization_code&code={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcb&code_verifier={VERIFIER}",
                    code.value()
                )
            },
            |body| rt.block_on(token(&server, &headers, body.as_bytes())),
            BatchSize::SmallInput,
        );
    });
}

fn refresh_with_rotation(c: &mut Criterion) {
    let rt = runtime();
    let server = server();
    let headers = headers();
    c.bench_function("token/refresh_token_rotating", |b| {
        b.iter_batched(
            || {
                // A fresh token family per refresh, so that every exchange
                // rotates a live, unrotated refresh token.
                let refresh = NewToken::generate().expect("randomness");
                let access = TokenHash::of(refresh.value());
                let at = now();
                rt.block_on(server.storage().save_token(TokenRecord {
                    access_token: access,
                    refresh_token: Some(refresh.hash()),
                    client_id: "bench".into(),
                    subject: Some("user-1".into()),
                    scope: Scope::parse("read write").expect("a scope"),
                    family: access.to_string(),
                    issued_at: at,
                    expires_at: at + 3600,
                    refresh_expires_at: Some(at + 86_400),
                    rotated: false,
                    refresh_scope: None,
                    jkt: None,
                }))
                .expect("stored");
                format!("grant_type=refresh_token&refresh_token={}", refresh.value())
            },
            |body| {
                let answer = rt.block_on(token(&server, &headers, body.as_bytes()));
                assert!(answer["refresh_token"].is_string());
            },
            BatchSize::SmallInput,
        );
    });
    // The same through a chain of rotations: each refresh uses the last one's
    // new refresh token, as a client does.
    let first = rt.block_on(seed_refresh(&server));
    let current = Mutex::new(first);
    c.bench_function("token/refresh_token_rotation_chain", |b| {
        b.iter(|| {
            let mut current = current.lock().expect("not poisoned");
            let body = format!("grant_type=refresh_token&refresh_token={current}");
            let answer = rt.block_on(token(&server, &headers, body.as_bytes()));
            *current = answer["refresh_token"].as_str().expect("rotated").to_owned();
        });
    });
}

/// A live refresh token for the chain benchmark.
async fn seed_refresh(server: &Server<MemoryStore>) -> String {
    let refresh = NewToken::generate().expect("randomness");
    let access = TokenHash::of(refresh.value());
    let at = now();
    server
        .storage()
        .save_token(TokenRecord {
            access_token: access,
            refresh_token: Some(refresh.hash()),
            client_id: "bench".into(),
            subject: Some("user-1".into()),
            scope: Scope::parse("read").expect("a scope"),
            family: access.to_string(),
            issued_at: at,
            expires_at: at + 3600,
            refresh_expires_at: Some(at + 86_400),
            rotated: false,
            refresh_scope: None,
            jkt: None,
        })
        .await
        .expect("stored");
    refresh.into_value()
}

criterion_group!(
    benches,
    parse_and_authenticate,
    client_credentials,
    authorization_code_pkce,
    refresh_with_rotation
);
criterion_main!(benches);
