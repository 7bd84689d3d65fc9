//! Micro-benchmarks of what a resource server asks of granted, through the
//! public API on the in-memory store: bearer validation (of a plain bearer
//! token, and of a DPoP-bound one with its proof: an ES256 signature check
//! and a replay-store insert on top) and introspection, each against a
//! store holding many live tokens.
//!
//! ```text
//! cargo bench --bench resource
//! ```

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::{ClientRecord, DpopPolicy, GrantType, MemoryStore, Policy, Request, Scope, Server};
use tokio::runtime::Runtime;

#[path = "../tests/shared/dpop.rs"]
mod dpop_client;

use dpop_client::DpopKey;

const ISSUER: &str = "https://as.example";

/// Live tokens in the store besides the one looked up.
const OTHER_TOKENS: usize = 10_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a Tokio runtime")
}

/// A server holding `OTHER_TOKENS + 1` tokens; returns the last one.
fn server_with_tokens(rt: &Runtime) -> (Server<MemoryStore>, String) {
    server_with_tokens_in(rt, MemoryStore::new(), None)
}

/// As [`server_with_tokens`], with the last token bound to `key` when given.
fn server_with_tokens_in(
    rt: &Runtime,
    store: MemoryStore,
    key: Option<&DpopKey>,
) -> (Server<MemoryStore>, String) {
    store.add_client(
        ClientRecord::confidential("bench", "bench-secret")
            .grant_types(["client_credentials"])
            .scope("read write"),
    );
    let server = Server::new(store);
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(AUTHORIZATION, basic());
    let mut last = String::new();
    for n in 0..=OTHER_TOKENS {
        let mut headers = headers.clone();
        if let Some(key) = key.filter(|_| n == OTHER_TOKENS) {
            let proof = key.proof("POST", &format!("{ISSUER}/oauth/token"), None, None);
            headers.insert("dpop", HeaderValue::from_str(&proof).expect("ASCII"));
        }
        let response = rt.block_on(
            server.token(
                &Request::new(&Method::POST, &headers)
                    .with_path("/oauth/token")
                    .with_body(b"grant_type=client_credentials&scope=read"),
            ),
        );
        assert_eq!(response.status(), 200);
        last = response.json()["access_token"]
            .as_str()
            .expect("a token")
            .to_owned();
    }
    (server, last)
}

fn basic() -> HeaderValue {
    HeaderValue::from_str(&format!("Basic {}", STANDARD.encode("bench:bench-secret"))).expect("ASCII")
}

fn bearer_validation(c: &mut Criterion) {
    let rt = runtime();
    let (server, token) = server_with_tokens(&rt);
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).expect("ASCII"),
    );
    let required = Scope::parse("read").expect("a scope");
    c.bench_function("resource/bearer_validation", |b| {
        b.iter(|| {
            let request = Request::new(&Method::GET, &headers);
            let bearer = rt
                .block_on(server.authenticate_bearer(&request, &required))
                .expect("a valid token");
            black_box(bearer);
        });
    });
}

/// The same check for a DPoP-bound token: `Authorization: DPoP` and a fresh
/// ES256 proof each time (made outside the measurement, as a client makes it).
fn dpop_validation(c: &mut Criterion) {
    let rt = runtime();
    let key = DpopKey::es256();
    let store = MemoryStore::with_policy(
        Policy::new([GrantType::ClientCredentials])
            .with_issuer(ISSUER)
            .with_dpop(DpopPolicy::Optional),
    );
    let (server, token) = server_with_tokens_in(&rt, store, Some(&key));
    let required = Scope::parse("read").expect("a scope");
    let url = format!("{ISSUER}/api/me");
    c.bench_function("resource/dpop_validation", |b| {
        b.iter_batched(
            || {
                let mut headers = HeaderMap::new();
                headers.insert(
                    AUTHORIZATION,
                    HeaderValue::from_str(&format!("DPoP {token}")).expect("ASCII"),
                );
                let proof = key.proof("GET", &url, Some(&token), None);
                headers.insert("dpop", HeaderValue::from_str(&proof).expect("ASCII"));
                headers
            },
            |headers| {
                let request = Request::new(&Method::GET, &headers).with_path("/api/me");
                let bound = rt
                    .block_on(server.authenticate_bearer(&request, &required))
                    .expect("a valid bound token and proof");
                black_box(bound);
            },
            BatchSize::SmallInput,
        );
    });
}

fn introspection(c: &mut Criterion) {
    let rt = runtime();
    let (server, token) = server_with_tokens(&rt);
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(AUTHORIZATION, basic());
    let body = format!("token={token}");
    c.bench_function("resource/introspection", |b| {
        b.iter(|| {
            let response = rt.block_on(
                server.introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes())),
            );
            assert_eq!(response.status(), 200);
            black_box(response);
        });
    });
}

criterion_group!(benches, bearer_validation, dpop_validation, introspection);
criterion_main!(benches);
