//! Shared set-up for the fuzz targets: a seeded in-memory server built fresh
//! for each input (so that state does not grow across runs), and a
//! `block_on` for the runtime's futures, which on `MemoryStore` never wait.

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use granted::{
    AuthMethod, ClientRecord, CodeRecord, GrantType, MemoryStore, PkceMethod, Policy, Scope, Server,
    TokenHash, UserRecord, now, pkce,
};

pub const ISSUER: &str = "https://as.example";
pub const REDIRECT: &str = "https://client.example/cb";
pub const OTHER_REDIRECT: &str = "https://client.example/other";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// A code stored for `web` in every fresh server (S256 challenge of [`VERIFIER`]).
pub const KNOWN_CODE: &str = "known-code-0123456789abcdef";
/// A code stored for the public `spa` in every fresh server.
pub const KNOWN_SPA_CODE: &str = "known-spa-code-0123456789abcdef";

/// Polls a future to completion; the memory store never returns `Pending`,
/// so this spins at most a few times.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

struct Seed {
    clients: Vec<ClientRecord>,
    user: UserRecord,
}

fn seed() -> &'static Seed {
    static SEED: OnceLock<Seed> = OnceLock::new();
    SEED.get_or_init(|| Seed {
        clients: vec![
            ClientRecord::confidential("web", "web-secret")
                .redirect_uris([REDIRECT, OTHER_REDIRECT])
                .grant_types(["authorization_code", "refresh_token", "password"])
                .scope("read write"),
            ClientRecord::confidential("post", "post-secret")
                .auth_method(AuthMethod::ClientSecretPost)
                .redirect_uris([REDIRECT])
                .grant_types(["authorization_code", "client_credentials", "refresh_token"])
                .scope("read write"),
            ClientRecord::public("spa")
                .redirect_uris([REDIRECT])
                .grant_types(["authorization_code", "refresh_token"])
                .scope("read"),
            ClientRecord::confidential("svc", "svc-secret")
                .grant_types(["client_credentials"])
                .scope("read"),
        ],
        user: UserRecord::new("user-1", "alice", "wonderland").expect("hash"),
    })
}

fn known_code(value: &str, client: &str) -> CodeRecord {
    CodeRecord {
        code: TokenHash::of(value),
        client_id: client.to_owned(),
        redirect_uri: Some(REDIRECT.to_owned()),
        scope: Scope::parse("read").expect("scope"),
        subject: "user-1".to_owned(),
        code_challenge: Some(pkce::s256_challenge(VERIFIER)),
        code_challenge_method: Some(PkceMethod::S256),
        nonce: None,
        auth_time: None,
        expires_at: now() + 600,
    }
}

/// A fresh server with every grant, an issuer, four clients, alice, and
/// [`KNOWN_CODE`] / [`KNOWN_SPA_CODE`].
pub fn server() -> Server<MemoryStore> {
    let seed = seed();
    let store = MemoryStore::with_policy(Policy::new(GrantType::ALL).with_issuer(ISSUER));
    for client in &seed.clients {
        store.add_client(client.clone());
    }
    store.add_user(seed.user.clone());
    store.add_code(known_code(KNOWN_CODE, "web"));
    store.add_code(known_code(KNOWN_SPA_CODE, "spa"));
    Server::new(store)
}

/// The invariants of every token-endpoint style answer: never a 5xx on the
/// memory store, always JSON with `no-store`, an RFC 6749 error on failure.
pub fn check_token_response(response: &granted::Response) {
    let status = response.status().as_u16();
    assert!(
        status == 200 || status == 400 || status == 401,
        "unexpected status {status}"
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    if status != 200 || !response.body().is_empty() {
        let json = response.json();
        if status != 200 {
            assert!(json["error"].is_string(), "error response without error: {json}");
        }
    }
}
