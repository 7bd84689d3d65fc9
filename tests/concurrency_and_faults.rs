//! Concurrency and storage faults through the whole runtime
//! (`Server::token`, the authorization endpoint, revocation), on the
//! in-memory store and on `granted::sql::SqlStore` (SQLite in memory and in a
//! file, and PostgreSQL with the `postgres` feature), each wrapped in a
//! `#[granted::server]` store as a user would write it, with faults injectable
//! per storage method.
//!
//! What a fault leaves behind (no partial state):
//!
//! | failing method | during | answer | state afterwards |
//! | --- | --- | --- | --- |
//! | `client` | token request, authorization request | `server_error` (500) / `500` error page | unchanged |
//! | `take_code` | code redemption | `server_error` | the code is still valid |
//! | `save_token` | code redemption | `server_error` | the code is consumed, no token issued |
//! | `revoke_token_family` | code replay | `server_error` | the code stays consumed |
//! | `refresh_token` | refresh | `server_error` | the refresh token is still valid |
//! | `rotate_refresh_token` | refresh | `server_error` | the refresh token is still valid, no token issued |
//! | `save_token` | client_credentials | `server_error` | no token issued |
//! | `save_code` | approval | `server_error` redirect to the registered URI | no code issued |
//! | `revoke_token_family` | revocation | `server_error` | the tokens stay active |
//!
//! A replayed code that arrives while the first redemption of that code is
//! still saving its tokens revokes the family first; the tokens saved after
//! that are never usable (the store remembers revoked families, see
//! `Storage::revoke_token_family`), though the first response carries them.
//!
//! A storage that times out — its error's source chain holds an
//! `std::io::Error` of kind `TimedOut` or a `granted::StorageUnavailable`,
//! as `SqlStore` reports a pool time-out or an unreachable database — answers
//! `temporarily_unavailable` (503, with `Retry-After`) instead of
//! `server_error` — at the authorization endpoint a `503` error page, at a
//! bearer check (`Server::authenticate_bearer`) a `503` — and leaves the
//! same state as the failure in the same row above: for instance a time-out
//! in `take_code` leaves the code valid, one in `save_token` after
//! `take_code` leaves it consumed with no token issued, one in
//! `rotate_refresh_token` leaves the refresh token valid. The axum
//! integration's `OAuthRoutes::time_limit` answers the same 503 to a
//! request whose storage never answers at all.

#![cfg(feature = "sqlite")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::sql::{SqlError, SqlStore};
use granted::storage::{CodeStorage as _, RefreshStorage as _, Storage as _};
use granted::{
    AuthorizeError, ClientRecord, CodeRecord, MemoryStore, MemoryStoreError, Request, Response, Server,
    TokenHash, TokenRecord, pkce,
};
use tokio::sync::{Barrier, Notify};

const REDIRECT_ENC: &str = "https%3A%2F%2Fclient.example%2Fcb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const SECRET: &str = "web-secret";
const RACERS: usize = 64;

enum Backend {
    Memory(Box<MemoryStore>),
    Sql(SqlStore),
}

/// A store over either backend whose methods fail on demand.
struct TestStore {
    backend: Backend,
    failing: Mutex<HashMap<&'static str, Fault>>,
    /// When set, the next `save_token` waits here before it stores.
    pause_save: Mutex<Option<Arc<Pause>>>,
}

/// A rendezvous in the middle of a storage call.
#[derive(Default)]
struct Pause {
    /// Notified when the paused call has arrived.
    reached: Notify,
    /// Notify to let it go on.
    release: Notify,
}

/// How an injected fault shows.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The method returns an error at once.
    Error,
    /// The method never answers; the store's own deadline gives up on it
    /// with a timed-out `io::Error`, as a database client would.
    Hang,
}

/// The store's deadline for one storage call.
const STORE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
enum TestError {
    #[error("injected fault in {0}")]
    Injected(&'static str),
    #[error("injected time-out in {0}: {1}")]
    TimedOut(&'static str, #[source] std::io::Error),
    #[error(transparent)]
    Memory(#[from] MemoryStoreError),
    #[error(transparent)]
    Sql(#[from] SqlError),
}

macro_rules! delegate {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {{
        $self.check(stringify!($method)).await?;
        match &$self.backend {
            Backend::Memory(store) => store.$method($($arg),*).await.map_err(TestError::from),
            Backend::Sql(store) => store.$method($($arg),*).await.map_err(TestError::from),
        }
    }};
}

impl TestStore {
    async fn check(&self, method: &'static str) -> Result<(), TestError> {
        let fault = self.failing.lock().expect("lock").get(method).copied();
        match fault {
            None => Ok(()),
            Some(Fault::Error) => Err(TestError::Injected(method)),
            Some(Fault::Hang) => {
                let never = std::future::pending::<()>();
                match tokio::time::timeout(STORE_DEADLINE, never).await {
                    Ok(()) => Ok(()),
                    Err(elapsed) => Err(TestError::TimedOut(method, elapsed.into())),
                }
            }
        }
    }

    fn inject(&self, fault: Fault, methods: &[&'static str]) {
        *self.failing.lock().expect("lock") = methods.iter().map(|m| (*m, fault)).collect();
    }

    fn fail(&self, methods: &[&'static str]) {
        self.inject(Fault::Error, methods);
    }

    fn hang(&self, methods: &[&'static str]) {
        self.inject(Fault::Hang, methods);
    }

    fn heal(&self) {
        self.fail(&[]);
    }
}

#[granted::server(
    client = ClientRecord,
    token = TokenRecord,
    code = CodeRecord,
    grants(
        authorization_code(pkce = "S256"),
        refresh_token(rotate = true),
        client_credentials,
    ),
    access_token_ttl = "1h",
    refresh_token_ttl = "30d",
    code_ttl = "60s",
)]
impl TestStore {
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, TestError> {
        delegate!(self.client(client_id))
    }

    async fn save_token(&self, token: TokenRecord) -> Result<(), TestError> {
        let pause = self.pause_save.lock().expect("lock").take();
        if let Some(pause) = pause {
            pause.reached.notify_one();
            pause.release.notified().await;
        }
        delegate!(self.save_token(token))
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, TestError> {
        delegate!(self.access_token(hash))
    }

    async fn revoke_token_family(&self, family: &str) -> Result<(), TestError> {
        delegate!(self.revoke_token_family(family))
    }

    async fn save_code(&self, code: CodeRecord) -> Result<(), TestError> {
        delegate!(self.save_code(code))
    }

    async fn take_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, TestError> {
        delegate!(self.take_code(hash))
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, TestError> {
        delegate!(self.refresh_token(hash))
    }

    async fn rotate_refresh_token(&self, old: &TokenHash, new: TokenRecord) -> Result<bool, TestError> {
        delegate!(self.rotate_refresh_token(old, new))
    }
}

/// A SQLite file in the temp directory, deleted with its WAL on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "granted-concurrency-{}-{}.db",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Self(std::env::temp_dir().join(name))
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn web() -> ClientRecord {
    ClientRecord::confidential("web", SECRET)
        .redirect_uris(["https://client.example/cb"])
        .grant_types(["authorization_code", "refresh_token", "client_credentials"])
        .scope("read write")
}

async fn server(backend: &str) -> Server<TestStore> {
    let backend = if backend == "memory" {
        let store = MemoryStore::new();
        store.add_client(web());
        Backend::Memory(Box::new(store))
    } else {
        let store = SqlStore::connect(backend).await.expect("connect");
        store.upsert_client(&web()).await.expect("seed");
        Backend::Sql(store)
    };
    Server::new(TestStore {
        backend,
        failing: Mutex::new(HashMap::new()),
        pause_save: Mutex::new(None),
    })
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let basic = format!("Basic {}", STANDARD.encode(format!("web:{SECRET}")));
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&basic).expect("header"));
    headers
}

async fn token(server: &Server<TestStore>, body: &str) -> Response {
    let headers = headers();
    server
        .token(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await
}

async fn revoke(server: &Server<TestStore>, value: &str) -> Response {
    let headers = headers();
    let body = format!("token={value}");
    server
        .revoke(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await
}

async fn is_active(server: &Server<TestStore>, value: &str) -> bool {
    let headers = headers();
    let body = format!("token={value}");
    let response = server
        .introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await;
    assert_eq!(response.status(), 200, "{}", response.json());
    response.json()["active"] == true
}

fn error_of(response: &Response) -> String {
    response.json()["error"].as_str().unwrap_or_default().to_owned()
}

fn field(response: &Response, name: &str) -> String {
    assert_eq!(response.status(), 200, "{}", response.json());
    response.json()[name].as_str().expect(name).to_owned()
}

fn authorize_query() -> String {
    format!(
        "response_type=code&client_id=web&redirect_uri={REDIRECT_ENC}&state=s&code_challenge={}&code_challenge_method=S256",
        pkce::s256_challenge(VERIFIER)
    )
}

async fn code(server: &Server<TestStore>) -> String {
    let headers = HeaderMap::new();
    let query = authorize_query();
    let pending = server
        .authorize(&Request::new(&Method::GET, &headers).with_query(Some(&query)))
        .await
        .expect("valid request");
    let approved = server.approve(&pending, "user-1", None).await.expect("approved");
    approved.param("code").expect("code").to_owned()
}

fn redeem(code: &str) -> String {
    format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}&code_verifier={VERIFIER}")
}

fn refresh_body(value: &str) -> String {
    format!("grant_type=refresh_token&refresh_token={value}")
}

/// Runs `RACERS` copies of one token request at once; their responses.
async fn race(server: &Arc<Server<TestStore>>, body: String) -> Vec<Response> {
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (server, body, barrier) = (Arc::clone(server), body.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                token(&server, &body).await
            })
        })
        .collect();
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("task"));
    }
    responses
}

fn one_winner(responses: &[Response]) -> &Response {
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status() == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one success");
    for loser in responses.iter().filter(|r| r.status() != 200) {
        assert_eq!(loser.status(), 400, "{}", loser.json());
        assert_eq!(error_of(loser), "invalid_grant", "{}", loser.json());
    }
    winners[0]
}

async fn concurrent_redemptions(backend: &str) {
    let server = Arc::new(server(backend).await);
    let code = code(&server).await;
    let responses = race(&server, redeem(&code)).await;
    let winner = one_winner(&responses);
    let access = field(winner, "access_token");
    // Whatever the losers revoked, one more replay certainly revokes the
    // winner's tokens (RFC 6749 §4.1.2).
    let replay = token(&server, &redeem(&code)).await;
    assert_eq!(error_of(&replay), "invalid_grant");
    assert!(!is_active(&server, &access).await);
    assert!(!is_active(&server, &field(winner, "refresh_token")).await);
}

async fn concurrent_refreshes(backend: &str) {
    let server = Arc::new(server(backend).await);
    let code = code(&server).await;
    let first = token(&server, &redeem(&code)).await;
    let (access, refresh) = (field(&first, "access_token"), field(&first, "refresh_token"));
    let responses = race(&server, refresh_body(&refresh)).await;
    let winner = one_winner(&responses);
    // Every loser saw a rotated token: a reuse, so the whole family is
    // revoked, the winner's new pair included — the family is consistent.
    for value in [
        access,
        refresh.clone(),
        field(winner, "access_token"),
        field(winner, "refresh_token"),
    ] {
        assert!(!is_active(&server, &value).await, "{value} survived");
    }
    let again = token(&server, &refresh_body(&field(winner, "refresh_token"))).await;
    assert_eq!(error_of(&again), "invalid_grant");
}

/// A replay of a code that arrives while its first redemption is still
/// saving the tokens: the replay revokes the family before those tokens are
/// stored, and they must never become usable (`revoke_token_family` covers
/// tokens saved into the family later).
async fn replay_while_the_first_redemption_saves(backend: &str) {
    let server = Arc::new(server(backend).await);
    let code = code(&server).await;
    let pause = Arc::new(Pause::default());
    *server.storage().pause_save.lock().expect("lock") = Some(Arc::clone(&pause));
    let first = tokio::spawn({
        let (server, body) = (Arc::clone(&server), redeem(&code));
        async move { token(&server, &body).await }
    });
    // The first redemption has taken the code and waits to save its tokens.
    pause.reached.notified().await;
    let replay = token(&server, &redeem(&code)).await;
    assert_eq!(error_of(&replay), "invalid_grant");
    pause.release.notify_one();
    let first = first.await.expect("task");
    let (access, refresh) = (field(&first, "access_token"), field(&first, "refresh_token"));
    assert!(
        !is_active(&server, &access).await,
        "the access token survived the replay"
    );
    assert!(
        !is_active(&server, &refresh).await,
        "the refresh token survived the replay"
    );
    let refreshed = token(&server, &refresh_body(&refresh)).await;
    assert_eq!(error_of(&refreshed), "invalid_grant");
}

#[tokio::test]
async fn a_replay_during_the_first_redemption_revokes_its_tokens_in_memory() {
    replay_while_the_first_redemption_saves("memory").await;
}

#[tokio::test]
async fn a_replay_during_the_first_redemption_revokes_its_tokens_on_sqlite_memory() {
    replay_while_the_first_redemption_saves("sqlite::memory:").await;
}

#[tokio::test]
async fn a_replay_during_the_first_redemption_revokes_its_tokens_on_a_sqlite_file() {
    let db = TempDb::new();
    replay_while_the_first_redemption_saves(&db.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_code_redemptions_have_one_winner_in_memory() {
    concurrent_redemptions("memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_code_redemptions_have_one_winner_on_sqlite_memory() {
    concurrent_redemptions("sqlite::memory:").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_code_redemptions_have_one_winner_on_a_sqlite_file() {
    let db = TempDb::new();
    concurrent_redemptions(&db.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_have_one_winner_in_memory() {
    concurrent_refreshes("memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_have_one_winner_on_sqlite_memory() {
    concurrent_refreshes("sqlite::memory:").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_have_one_winner_on_a_sqlite_file() {
    let db = TempDb::new();
    concurrent_refreshes(&db.url()).await;
}

/// The races and the replay on PostgreSQL, each in a database of its own
/// (see `tests/shared/postgres.rs`): skipped without
/// `GRANTED_TEST_POSTGRES_URL`, failed without it in CI.
#[cfg(feature = "postgres")]
#[path = "shared/postgres.rs"]
mod pg;

#[cfg(feature = "postgres")]
mod postgres {
    use super::pg::TestDatabase;

    /// A fresh database, or return (skip) when there is no test server.
    macro_rules! database {
        () => {
            match TestDatabase::create().await {
                Some(db) => db,
                None => return,
            }
        };
    }

    #[tokio::test]
    async fn a_replay_during_the_first_redemption_revokes_its_tokens_on_postgres() {
        let db = database!();
        super::replay_while_the_first_redemption_saves(&db.url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_code_redemptions_have_one_winner_on_postgres() {
        let db = database!();
        super::concurrent_redemptions(&db.url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_refreshes_have_one_winner_on_postgres() {
        let db = database!();
        super::concurrent_refreshes(&db.url).await;
    }
}

fn assert_server_error(response: &Response) {
    assert_eq!(response.status(), 500, "{}", response.json());
    assert_eq!(error_of(response), "server_error");
    // The storage's message is logged, never answered.
    assert!(!String::from_utf8_lossy(response.body()).contains("injected"));
}

async fn token_count(server: &Server<TestStore>) -> usize {
    match &server.storage().backend {
        Backend::Memory(store) => store.token_count(),
        Backend::Sql(_) => unreachable!("fault tests run in memory"),
    }
}

impl Fault {
    /// The answer a fault gives: `server_error` for an error,
    /// `temporarily_unavailable` for a time-out.
    fn assert_answered(self, response: &Response) {
        match self {
            Fault::Error => assert_server_error(response),
            Fault::Hang => assert_unavailable(response),
        }
    }
}

/// A fault while taking the code: the code stays valid.
async fn take_code_fault_leaves_the_code_valid(fault: Fault) {
    let server = server("memory").await;
    let code = code(&server).await;
    server.storage().inject(fault, &["take_code"]);
    fault.assert_answered(&token(&server, &redeem(&code)).await);
    server.storage().heal();
    assert_eq!(token_count(&server).await, 0);
    field(&token(&server, &redeem(&code)).await, "access_token");
}

/// A fault while saving the tokens of a taken code: nothing is issued and
/// the code is spent.
async fn save_token_fault_consumes_the_code_and_issues_nothing(fault: Fault) {
    let server = server("memory").await;
    let code = code(&server).await;
    server.storage().inject(fault, &["save_token"]);
    fault.assert_answered(&token(&server, &redeem(&code)).await);
    server.storage().heal();
    assert_eq!(token_count(&server).await, 0, "no token issued");
    let retry = token(&server, &redeem(&code)).await;
    assert_eq!(error_of(&retry), "invalid_grant", "the code was consumed");
}

#[tokio::test]
async fn failing_take_code_leaves_the_code_valid() {
    take_code_fault_leaves_the_code_valid(Fault::Error).await;
}

#[tokio::test]
async fn failing_save_token_after_take_code_consumes_the_code_and_issues_nothing() {
    save_token_fault_consumes_the_code_and_issues_nothing(Fault::Error).await;
}

#[tokio::test]
async fn failing_revocation_on_a_code_replay_is_server_error() {
    let server = server("memory").await;
    let code = code(&server).await;
    let access = field(&token(&server, &redeem(&code)).await, "access_token");
    server.storage().fail(&["revoke_token_family"]);
    assert_server_error(&token(&server, &redeem(&code)).await);
    server.storage().heal();
    // The replay is detected again once storage works.
    assert_eq!(error_of(&token(&server, &redeem(&code)).await), "invalid_grant");
    assert!(!is_active(&server, &access).await);
}

/// A fault in `method` during a refresh: nothing is issued and the refresh
/// token (and its access token) stay valid.
async fn refresh_fault_leaves_the_refresh_token_valid(fault: Fault, method: &'static str) {
    let server = server("memory").await;
    let code = code(&server).await;
    let first = token(&server, &redeem(&code)).await;
    let (access, refresh) = (field(&first, "access_token"), field(&first, "refresh_token"));
    let before = token_count(&server).await;
    server.storage().inject(fault, &[method]);
    fault.assert_answered(&token(&server, &refresh_body(&refresh)).await);
    server.storage().heal();
    assert_eq!(token_count(&server).await, before, "{method}: no token issued");
    assert!(is_active(&server, &access).await, "{method}");
    assert!(is_active(&server, &refresh).await, "{method}");
    field(&token(&server, &refresh_body(&refresh)).await, "access_token");
}

#[tokio::test]
async fn failing_refresh_lookup_or_rotation_leaves_the_refresh_token_valid() {
    for method in ["refresh_token", "rotate_refresh_token"] {
        refresh_fault_leaves_the_refresh_token_valid(Fault::Error, method).await;
    }
}

#[tokio::test]
async fn failing_client_lookup_is_server_error_and_never_redirects() {
    let server = server("memory").await;
    server.storage().fail(&["client"]);
    assert_server_error(&token(&server, "grant_type=client_credentials").await);
    let headers = HeaderMap::new();
    let query = authorize_query();
    let result = server
        .authorize(&Request::new(&Method::GET, &headers).with_query(Some(&query)))
        .await;
    let Err(AuthorizeError::Display(error)) = result else {
        panic!("a storage failure before the client is known must not redirect");
    };
    assert_eq!(error.code().as_str(), "server_error");
}

#[tokio::test]
async fn failing_save_token_issues_no_client_credentials_token() {
    let server = server("memory").await;
    server.storage().fail(&["save_token"]);
    assert_server_error(&token(&server, "grant_type=client_credentials").await);
    server.storage().heal();
    assert_eq!(token_count(&server).await, 0);
}

#[tokio::test]
async fn failing_save_code_redirects_server_error_and_issues_no_code() {
    let server = server("memory").await;
    let headers = HeaderMap::new();
    let query = authorize_query();
    let pending = server
        .authorize(&Request::new(&Method::GET, &headers).with_query(Some(&query)))
        .await
        .expect("valid request");
    server.storage().fail(&["save_code"]);
    let Err(AuthorizeError::Redirect(redirect)) = server.approve(&pending, "user-1", None).await else {
        panic!("approval succeeded without storage");
    };
    assert_eq!(redirect.param("error"), Some("server_error"));
    assert!(redirect.param("code").is_none());
    assert!(
        redirect
            .location()
            .is_some_and(|l| l.starts_with("https://client.example/cb?"))
    );
}

#[tokio::test]
async fn failing_revocation_leaves_the_tokens_active() {
    let server = server("memory").await;
    let code = code(&server).await;
    let first = token(&server, &redeem(&code)).await;
    let access = field(&first, "access_token");
    server.storage().fail(&["revoke_token_family"]);
    assert_server_error(&revoke(&server, &access).await);
    server.storage().heal();
    assert!(is_active(&server, &access).await);
    assert_eq!(revoke(&server, &access).await.status(), 200);
    assert!(!is_active(&server, &access).await);
}

fn assert_unavailable(response: &Response) {
    assert_eq!(response.status(), 503, "{}", response.json());
    assert_eq!(error_of(response), "temporarily_unavailable");
    assert!(!String::from_utf8_lossy(response.body()).contains("injected"));
}

#[tokio::test]
async fn timed_out_take_code_is_temporarily_unavailable_and_leaves_the_code_valid() {
    take_code_fault_leaves_the_code_valid(Fault::Hang).await;
}

#[tokio::test]
async fn timed_out_save_token_after_take_code_consumes_the_code_and_issues_nothing() {
    save_token_fault_consumes_the_code_and_issues_nothing(Fault::Hang).await;
}

#[tokio::test]
async fn timed_out_rotation_is_temporarily_unavailable_and_leaves_the_refresh_token_valid() {
    refresh_fault_leaves_the_refresh_token_valid(Fault::Hang, "rotate_refresh_token").await;
}

#[tokio::test]
async fn timed_out_client_lookup_is_temporarily_unavailable() {
    let server = server("memory").await;
    server.storage().hang(&["client"]);
    assert_unavailable(&token(&server, "grant_type=client_credentials").await);
}

/// The authorization endpoint cannot even show its page without the client:
/// an unavailable storage is a `503` error page with `Retry-After` (never a
/// redirect, never a `400`), and a failing one a `500` page.
#[tokio::test]
async fn an_unavailable_storage_at_the_authorization_endpoint_is_a_503_page() {
    let server = server("memory").await;
    let headers = HeaderMap::new();
    let query = authorize_query();
    for (fault, status) in [(Fault::Hang, 503), (Fault::Error, 500)] {
        server.storage().inject(fault, &["client"]);
        let result = server
            .authorize(&Request::new(&Method::GET, &headers).with_query(Some(&query)))
            .await;
        let Err(error @ AuthorizeError::Display(_)) = result else {
            panic!("{fault:?}: a storage failure before the client is known must not redirect");
        };
        let page = error.into_response();
        assert_eq!(page.status(), status, "{fault:?}");
        assert_eq!(page.header("retry-after").is_some(), status == 503, "{fault:?}");
    }
}

/// A bearer check (`/api/me`, userinfo) on an unavailable storage answers
/// `503 temporarily_unavailable` with `Retry-After`, not `500`.
#[tokio::test]
async fn an_unavailable_storage_at_a_bearer_check_is_503() {
    use granted::{BearerError, Scope};

    let server = server("memory").await;
    let access = field(
        &token(&server, "grant_type=client_credentials").await,
        "access_token",
    );
    let mut headers = HeaderMap::new();
    let bearer = format!("Bearer {access}");
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&bearer).expect("header"));
    let check = || async {
        server
            .authenticate_bearer(&Request::new(&Method::GET, &headers), &Scope::empty())
            .await
    };
    server.storage().hang(&["access_token"]);
    assert_eq!(check().await.unwrap_err(), BearerError::Unavailable);
    let response = BearerError::Unavailable.into_response();
    assert_eq!(response.status(), 503);
    assert_eq!(error_of(&response), "temporarily_unavailable");
    assert_eq!(response.header("retry-after"), Some("1"));
    server.storage().fail(&["access_token"]);
    assert_eq!(check().await.unwrap_err(), BearerError::Storage);
    server.storage().heal();
    assert!(check().await.is_ok());
}

/// A storage that never answers at all, behind the axum integration's
/// `time_limit`: the request answers 503 once the limit passes.
#[tokio::test]
async fn a_request_outliving_the_time_limit_answers_503_temporarily_unavailable() {
    use granted::axum::OAuthRoutes;

    /// A store whose token lookups never finish.
    struct Stuck(MemoryStore);

    #[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credentials))]
    impl Stuck {
        async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, MemoryStoreError> {
            self.0.client(client_id).await
        }
        async fn save_token(&self, _token: TokenRecord) -> Result<(), MemoryStoreError> {
            std::future::pending().await
        }
        async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, MemoryStoreError> {
            self.0.access_token(hash).await
        }
        async fn revoke_token_family(&self, family: &str) -> Result<(), MemoryStoreError> {
            self.0.revoke_token_family(family).await
        }
    }

    let store = MemoryStore::new();
    store.add_client(web());
    let app = OAuthRoutes::new(Arc::new(Server::new(Stuck(store))))
        .time_limit(std::time::Duration::from_millis(50))
        .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/oauth/token"))
        .basic_auth("web", Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable");
}
