//! `granted::sql::SqlStore` against SQLite, in memory and in a file, with the
//! in-memory store as the reference for the semantics, and the same tests
//! against PostgreSQL (feature `postgres`), each in a database of its own on
//! the server `GRANTED_TEST_POSTGRES_URL` names (`./scripts/test` starts one).

#![cfg(feature = "sqlite")]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use granted::sql::{SqlError, SqlStore};
use granted::storage::{
    AssertionStorage, ClaimsStorage, CodeStorage, DeviceStorage, PushedRequestStorage, RefreshStorage,
    SessionStorage, Storage, UserStorage,
};
use granted::throttle::{AuthFailureLimit, FailureScope, FailureStore};
use granted::{
    AuthMethod, ClientModel as _, ClientRecord, CodeRecord, DeviceAuthorization, DeviceStatus, LoginSession,
    MemoryStore, NewToken, PkceMethod, PushedRequest, Scope, SigningAlg, SigningKey, TokenHash, TokenRecord,
    UserClaims, UserRecord,
};
use tokio::sync::Barrier;

const MEMORY: &str = "sqlite::memory:";
const NOW: i64 = 1_700_000_000;

/// A name no other test (or earlier run against a shared Postgres) uses.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A SQLite file in the temp directory, deleted (with its WAL) on drop.
struct TempDb {
    path: PathBuf,
}

impl TempDb {
    fn new() -> Self {
        Self {
            path: std::env::temp_dir().join(format!("{}.db", unique("granted-sql-test"))),
        }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    /// The database file and whatever WAL and shared-memory files exist.
    fn files(&self) -> Vec<PathBuf> {
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| PathBuf::from(format!("{}{suffix}", self.path.display())))
            .filter(|path| path.exists())
            .collect()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for path in self.files() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn read_all(paths: &[PathBuf]) -> Vec<u8> {
    paths
        .iter()
        .flat_map(|path| std::fs::read(path).unwrap())
        .collect()
}

/// A token of `family`, with a refresh token or not; also returns the values.
fn token(family: &str, client_id: &str, refresh: bool) -> (TokenRecord, String, Option<String>) {
    let access = NewToken::generate().unwrap();
    let refresh = refresh.then(|| NewToken::generate().unwrap());
    let record = TokenRecord {
        access_token: access.hash(),
        refresh_token: refresh.as_ref().map(NewToken::hash),
        client_id: client_id.to_owned(),
        subject: refresh.as_ref().map(|_| "subject-1".to_owned()),
        scope: Scope::parse("read write").unwrap(),
        family: family.to_owned(),
        issued_at: NOW,
        expires_at: NOW + 3600,
        refresh_expires_at: refresh.as_ref().map(|_| NOW + 86_400),
        rotated: false,
        refresh_scope: None,
        jkt: None,
    };
    (record, access.into_value(), refresh.map(NewToken::into_value))
}

fn code(client_id: &str, full: bool) -> (CodeRecord, String) {
    let value = NewToken::generate().unwrap();
    let record = CodeRecord {
        code: value.hash(),
        client_id: client_id.to_owned(),
        redirect_uri: full.then(|| "http://127.0.0.1:9000/cb".to_owned()),
        scope: Scope::parse(if full { "openid read" } else { "" }).unwrap(),
        subject: "subject-1".to_owned(),
        code_challenge: full.then(|| "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        code_challenge_method: full.then_some(PkceMethod::S256),
        nonce: full.then(|| "n-0S6_WzA2Mj".to_owned()),
        auth_time: full.then_some(NOW - 5),
        expires_at: NOW + 60,
    };
    (record, value.into_value())
}

/// What the scenario expects to find already stored.
struct Seeded {
    client: ClientRecord,
    public: ClientRecord,
    user: UserRecord,
}

fn seeds() -> Seeded {
    let client_id = unique("web");
    Seeded {
        client: ClientRecord::confidential(client_id, "s3cret")
            .redirect_uris(["http://127.0.0.1:9000/cb", "http://127.0.0.1:9000/other"])
            .grant_types(["authorization_code", "refresh_token"])
            .scope("read write")
            .auth_method(AuthMethod::ClientSecretPost),
        public: ClientRecord::public(unique("spa"))
            .redirect_uris(["http://127.0.0.1:9000/spa"])
            .grant_types(["authorization_code"])
            .scope("read"),
        user: UserRecord::from_hash(
            unique("subject"),
            unique("alice"),
            "$argon2id$v=19$m=19456,t=2,p=1$x$y",
        )
        .with_claims(
            UserClaims::from_json(serde_json::json!({"name": "Alice", "email_verified": true})).unwrap(),
        ),
    }
}

async fn seed_sql(store: &SqlStore) -> Seeded {
    let seeded = seeds();
    store.upsert_client(&seeded.client).await.unwrap();
    store.upsert_client(&seeded.public).await.unwrap();
    store.upsert_user(&seeded.user).await.unwrap();
    seeded
}

fn seed_memory(store: &MemoryStore) -> Seeded {
    let seeded = seeds();
    store.add_client(seeded.client.clone());
    store.add_client(seeded.public.clone());
    store.add_user(seeded.user.clone());
    seeded
}

/// Every trait method, with the in-memory store's semantics.
async fn every_trait_method<S>(store: &S, seeded: &Seeded)
where
    S: Storage<Client = ClientRecord, Token = TokenRecord>
        + CodeStorage<Code = CodeRecord>
        + RefreshStorage
        + UserStorage<User = UserRecord>
        + ClaimsStorage,
{
    use granted::ClientModel as _;
    use granted::UserModel as _;

    // Clients and users read back exactly as stored.
    for client in [&seeded.client, &seeded.public] {
        assert_eq!(
            store.client(client.client_id()).await.unwrap().as_ref(),
            Some(client)
        );
    }
    assert_eq!(store.client("no-such-client").await.unwrap(), None);
    assert_eq!(
        store.user_by_username(seeded.user.username()).await.unwrap(),
        Some(seeded.user.clone())
    );
    assert_eq!(store.user_by_username("no-such-user").await.unwrap(), None);
    assert_eq!(
        store.user_claims(seeded.user.subject()).await.unwrap().as_ref(),
        Some(seeded.user.claims())
    );
    assert_eq!(store.user_claims("no-such-subject").await.unwrap(), None);

    // Codes are taken once.
    let client_id = seeded.client.client_id();
    for full in [true, false] {
        let (code, _) = code(client_id, full);
        store.save_code(code.clone()).await.unwrap();
        assert_eq!(store.take_code(&code.code).await.unwrap(), Some(code.clone()));
        assert_eq!(store.take_code(&code.code).await.unwrap(), None);
    }
    assert_eq!(store.take_code(&TokenHash::of("unknown")).await.unwrap(), None);

    // Tokens: by access hash, by refresh hash; without refresh token or subject.
    let family = unique("family");
    let (first, _, _) = token(&family, client_id, true);
    store.save_token(first.clone()).await.unwrap();
    assert_eq!(
        store.access_token(&first.access_token).await.unwrap(),
        Some(first.clone())
    );
    let first_refresh = first.refresh_token.unwrap();
    assert_eq!(
        store.refresh_token(&first_refresh).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.access_token(&TokenHash::of("unknown")).await.unwrap(), None);
    assert_eq!(
        store.refresh_token(&TokenHash::of("unknown")).await.unwrap(),
        None
    );
    let (bare, _, _) = token(&unique("family"), client_id, false);
    store.save_token(bare.clone()).await.unwrap();
    assert_eq!(
        store.access_token(&bare.access_token).await.unwrap(),
        Some(bare.clone())
    );

    // A narrowed refresh: the refresh token keeps a wider scope than the
    // access token's (RFC 6749 §6), saved and rotated in alike.
    let narrow = |mut token: TokenRecord| {
        token.scope = Scope::parse("read").unwrap();
        token.refresh_scope = Some(Scope::parse("read write").unwrap());
        token
    };
    let narrowed = narrow(token(&unique("family"), client_id, true).0);
    store.save_token(narrowed.clone()).await.unwrap();
    assert_eq!(
        store
            .refresh_token(&narrowed.refresh_token.unwrap())
            .await
            .unwrap(),
        Some(narrowed.clone())
    );

    // Rotation: once; a rotated token is still found, marked rotated.
    let second = narrow(token(&family, client_id, true).0);
    assert!(
        store
            .rotate_refresh_token(&first_refresh, second.clone())
            .await
            .unwrap()
    );
    let rotated = store.refresh_token(&first_refresh).await.unwrap().unwrap();
    assert!(rotated.rotated);
    assert_eq!(rotated.access_token, first.access_token);
    assert_eq!(
        store.access_token(&second.access_token).await.unwrap(),
        Some(second.clone())
    );
    let (third, _, _) = token(&family, client_id, true);
    assert!(
        !store
            .rotate_refresh_token(&first_refresh, third.clone())
            .await
            .unwrap()
    );
    assert_eq!(store.access_token(&third.access_token).await.unwrap(), None);
    let (fourth, _, _) = token(&family, client_id, true);
    assert!(
        !store
            .rotate_refresh_token(&TokenHash::of("unknown"), fourth.clone())
            .await
            .unwrap()
    );
    assert_eq!(store.access_token(&fourth.access_token).await.unwrap(), None);

    // Revoking the family removes every token of it, and nothing else.
    store.revoke_token_family(&family).await.unwrap();
    for token in [&first, &second] {
        assert_eq!(store.access_token(&token.access_token).await.unwrap(), None);
        assert_eq!(
            store.refresh_token(&token.refresh_token.unwrap()).await.unwrap(),
            None
        );
    }
    assert_eq!(store.access_token(&bare.access_token).await.unwrap(), Some(bare));
    store.revoke_token_family("no-such-family").await.unwrap();
}

/// Login sessions through `one` and `other`, two stores on the same data
/// (the same store twice for the memory store): what one starts, the other
/// finds, with its consents; a new sign-in ends the browser's previous
/// session; expired sessions are not found.
async fn login_sessions<S: SessionStorage>(one: &S, other: &S)
where
    S::Error: std::fmt::Debug,
{
    let alice = TokenHash::of(&unique("cookie-alice"));
    let read = Scope::parse("read").unwrap();
    let read_write = Scope::parse("read write").unwrap();
    one.start_session(
        &alice,
        LoginSession::new("user-1", "alice", NOW, NOW + 3600),
        None,
    )
    .await
    .unwrap();
    one.add_consent(&alice, "web", &read_write).await.unwrap();
    let found = other
        .session(&alice, NOW + 10)
        .await
        .unwrap()
        .expect("the session");
    assert_eq!(
        (found.subject.as_str(), found.username.as_str()),
        ("user-1", "alice")
    );
    assert_eq!(found.auth_time, NOW);
    assert!(found.has_consented("web", &read));
    assert!(!found.has_consented("spa", &read));
    assert!(
        other.session(&alice, NOW + 3600).await.unwrap().is_none(),
        "expired"
    );

    // Signing in as bob in the same browser ends alice's session.
    let bob = TokenHash::of(&unique("cookie-bob"));
    other
        .start_session(
            &bob,
            LoginSession::new("user-2", "bob", NOW + 20, NOW + 3600),
            Some(&alice),
        )
        .await
        .unwrap();
    assert!(
        one.session(&alice, NOW + 30).await.unwrap().is_none(),
        "the previous session ended"
    );
    let bob_session = one.session(&bob, NOW + 30).await.unwrap().expect("bob's session");
    assert!(
        bob_session.consents.is_empty(),
        "alice's consents stay with alice"
    );
    // A consent for a session that is gone is not kept.
    one.add_consent(&alice, "web", &read).await.unwrap();
    one.end_session(&bob).await.unwrap();
    assert!(
        other.session(&bob, NOW + 30).await.unwrap().is_none(),
        "signed out"
    );
}

/// Pushed requests are taken once and only by their client, and assertion
/// ids are recorded once, also by two stores on one database (`one`,
/// `other`) racing each other.
async fn pushed_requests_and_assertion_ids<S>(one: &S, other: &S)
where
    S: PushedRequestStorage + AssertionStorage,
{
    let uri = TokenHash::of(&unique("urn:ietf:params:oauth:request_uri:"));
    let pushed = PushedRequest {
        request_uri: uri,
        client_id: "web".into(),
        params: "response_type=code&client_id=web&state=a%20b".into(),
        expires_at: granted::now() + 60,
    };
    one.save_pushed_request(pushed.clone()).await.unwrap();
    assert_eq!(
        other.take_pushed_request(&uri, "spa").await.unwrap(),
        None,
        "another client"
    );
    let (a, b) = tokio::join!(
        one.take_pushed_request(&uri, "web"),
        other.take_pushed_request(&uri, "web")
    );
    let winners: Vec<PushedRequest> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(winners, [pushed], "taken exactly once");
    assert_eq!(one.take_pushed_request(&uri, "web").await.unwrap(), None);

    let jti = TokenHash::of(&unique("jti"));
    let until = granted::now() + 300;
    let (a, b) = tokio::join!(
        one.record_assertion_jti(&jti, until),
        other.record_assertion_jti(&jti, until)
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()].iter().filter(|first| **first).count(),
        1,
        "recorded exactly once"
    );
    assert!(!one.record_assertion_jti(&jti, until).await.unwrap());
    assert!(
        other
            .record_assertion_jti(&TokenHash::of(&unique("jti")), until)
            .await
            .unwrap()
    );
}

/// A device authorization (RFC 8628) round-trips, is decided once while
/// pending, and once decided is taken exactly once and only by its client,
/// also by two stores on one database (`one`, `other`) racing each other.
async fn device_authorizations<S: DeviceStorage>(one: &S, other: &S) {
    let device_code = TokenHash::of(&unique("device-code"));
    let user_code = TokenHash::of(&unique("WDJBMJHT"));
    let device = DeviceAuthorization {
        device_code,
        user_code,
        client_id: "tv".into(),
        scope: Scope::parse("read write").unwrap(),
        expires_at: granted::now() + 600,
        interval: 5,
        last_polled_at: None,
        status: DeviceStatus::Pending,
    };
    one.save_device_authorization(device.clone()).await.unwrap();
    assert_eq!(
        other.device_authorization(&device_code).await.unwrap().as_ref(),
        Some(&device)
    );
    assert_eq!(
        other.device_authorization_by_user_code(&user_code).await.unwrap(),
        Some(device.clone())
    );
    other.record_device_poll(&device_code, 1234, 10).await.unwrap();
    let polled = one.device_authorization(&device_code).await.unwrap().unwrap();
    assert_eq!((polled.last_polled_at, polled.interval), (Some(1234), 10));
    // Pending: nobody takes it.
    assert_eq!(
        one.take_device_authorization(&device_code, "tv").await.unwrap(),
        None
    );

    let approved = DeviceStatus::Approved {
        subject: "user-1".into(),
        auth_time: 1200,
    };
    let (a, b) = tokio::join!(
        one.decide_device_authorization(&user_code, approved.clone()),
        other.decide_device_authorization(&user_code, DeviceStatus::Denied)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a ^ b, "decided exactly once");
    let status = if a { approved } else { DeviceStatus::Denied };
    assert_eq!(
        one.device_authorization(&device_code)
            .await
            .unwrap()
            .unwrap()
            .status,
        status
    );
    assert_eq!(
        other
            .take_device_authorization(&device_code, "another-client")
            .await
            .unwrap(),
        None,
        "another client"
    );
    let (a, b) = tokio::join!(
        one.take_device_authorization(&device_code, "tv"),
        other.take_device_authorization(&device_code, "tv")
    );
    let winners: Vec<DeviceAuthorization> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "taken exactly once");
    assert_eq!(winners[0].status, status);
    assert_eq!(winners[0].device_code, device_code);
    assert_eq!(one.device_authorization(&device_code).await.unwrap(), None);
    assert_eq!(
        other.device_authorization_by_user_code(&user_code).await.unwrap(),
        None
    );
    assert!(
        !one.decide_device_authorization(&user_code, DeviceStatus::Denied)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn device_authorizations_in_memory_and_on_sqlite() {
    let memory = MemoryStore::new();
    device_authorizations(&memory, &memory).await;
    let in_memory = SqlStore::connect(MEMORY).await.unwrap();
    device_authorizations(&in_memory, &in_memory).await;
    let db = TempDb::new();
    let one = SqlStore::connect(&db.url()).await.unwrap();
    let other = SqlStore::connect(&db.url()).await.unwrap();
    device_authorizations(&one, &other).await;
    one.close().await;
    other.close().await;
}

#[tokio::test]
async fn expired_device_authorizations_are_purged() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    let device = |name: &str, expires_at: i64| DeviceAuthorization {
        device_code: TokenHash::of(name),
        user_code: TokenHash::of(&format!("user {name}")),
        client_id: "tv".into(),
        scope: Scope::parse("read").unwrap(),
        expires_at,
        interval: 5,
        last_polled_at: None,
        status: DeviceStatus::Pending,
    };
    store
        .save_device_authorization(device("old", NOW - 1))
        .await
        .unwrap();
    store
        .save_device_authorization(device("live", NOW + 60))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(NOW).await.unwrap(), 1);
    assert_eq!(
        store.device_authorization(&TokenHash::of("old")).await.unwrap(),
        None
    );
    assert!(
        store
            .device_authorization(&TokenHash::of("live"))
            .await
            .unwrap()
            .is_some()
    );
}

/// The registration fields of the extensions survive the round trip.
async fn extension_fields_round_trip(store: &SqlStore) {
    let jwks =
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    let id = unique("jwt-client");
    let client = ClientRecord::private_key_jwt(&id, jwks)
        .grant_types(["client_credentials"])
        .require_pushed_authorization_requests(true);
    store.upsert_client(&client).await.unwrap();
    let read = store.client(&id).await.unwrap().unwrap();
    assert_eq!(read, client);
    assert_eq!(granted::ClientModel::jwks(&read), Some(jwks));
    assert!(read.requires_pushed_authorization_requests());
    assert_eq!(
        granted::ClientModel::auth_method(&read),
        Some(AuthMethod::PrivateKeyJwt)
    );
    // Not public: it has keys instead of a secret.
    assert!(
        !store
            .public_clients()
            .await
            .unwrap()
            .iter()
            .any(|c| c.client_id() == id)
    );
}

#[tokio::test]
async fn pushed_requests_and_assertion_ids_in_memory_and_on_sqlite() {
    let memory = MemoryStore::new();
    pushed_requests_and_assertion_ids(&memory, &memory).await;
    let in_memory = SqlStore::connect(MEMORY).await.unwrap();
    pushed_requests_and_assertion_ids(&in_memory, &in_memory).await;
    extension_fields_round_trip(&in_memory).await;
    let db = TempDb::new();
    let one = SqlStore::connect(&db.url()).await.unwrap();
    let other = SqlStore::connect(&db.url()).await.unwrap();
    pushed_requests_and_assertion_ids(&one, &other).await;
    one.close().await;
    other.close().await;
}

#[tokio::test]
async fn expired_pushed_requests_and_assertion_ids_are_purged() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    let uri = TokenHash::of("urn:ietf:params:oauth:request_uri:old");
    let old = PushedRequest {
        request_uri: uri,
        client_id: "web".into(),
        params: "client_id=web".into(),
        expires_at: NOW - 1,
    };
    store.save_pushed_request(old).await.unwrap();
    store
        .record_assertion_jti(&TokenHash::of("old"), NOW - 1)
        .await
        .unwrap();
    store
        .record_assertion_jti(&TokenHash::of("live"), NOW + 60)
        .await
        .unwrap();
    assert_eq!(store.purge_expired(NOW).await.unwrap(), 2);
    assert_eq!(store.take_pushed_request(&uri, "web").await.unwrap(), None);
    // The live one is still recorded, the purged one may be recorded again.
    assert!(
        !store
            .record_assertion_jti(&TokenHash::of("live"), NOW + 60)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_assertion_jti(&TokenHash::of("old"), NOW + 60)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn login_sessions_in_memory_and_on_sqlite() {
    let memory = MemoryStore::new();
    login_sessions(&memory, &memory).await;
    let in_memory = SqlStore::connect(MEMORY).await.unwrap();
    login_sessions(&in_memory, &in_memory).await;
    let db = TempDb::new();
    let one = SqlStore::connect(&db.url()).await.unwrap();
    let other = SqlStore::connect(&db.url()).await.unwrap();
    login_sessions(&one, &other).await;
    one.close().await;
    other.close().await;
}

#[tokio::test]
async fn expired_login_sessions_are_purged_with_their_consents() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    let id = TokenHash::of("cookie");
    store
        .start_session(&id, LoginSession::new("user-1", "alice", NOW, NOW + 10), None)
        .await
        .unwrap();
    store
        .add_consent(&id, "web", &Scope::parse("read").unwrap())
        .await
        .unwrap();
    assert_eq!(store.purge_expired(NOW + 5).await.unwrap(), 0);
    assert_eq!(
        store.purge_expired(NOW + 10).await.unwrap(),
        2,
        "the session and its consent"
    );
}

#[tokio::test]
async fn memory_store_is_the_reference() {
    let store = MemoryStore::new();
    let seeded = seed_memory(&store);
    every_trait_method(&store, &seeded).await;
}

#[tokio::test]
async fn every_trait_method_in_memory() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    let seeded = seed_sql(&store).await;
    every_trait_method(&store, &seeded).await;
}

#[tokio::test]
async fn every_trait_method_in_a_file() {
    let db = TempDb::new();
    let store = SqlStore::connect(&db.url()).await.unwrap();
    let seeded = seed_sql(&store).await;
    every_trait_method(&store, &seeded).await;
    store.close().await;
    assert!(db.path.exists());
}

#[tokio::test]
async fn in_memory_databases_are_private_to_their_store() {
    let one = SqlStore::connect(MEMORY).await.unwrap();
    let two = SqlStore::connect(MEMORY).await.unwrap();
    let (token, _, _) = token("f", "c", false);
    one.save_token(token.clone()).await.unwrap();
    assert!(one.access_token(&token.access_token).await.unwrap().is_some());
    assert!(two.access_token(&token.access_token).await.unwrap().is_none());
}

/// Many concurrent writers, each reading its write back at once through the
/// read pool (a different connection): committed means visible.
async fn reads_see_every_committed_write(url: &str) {
    let store = SqlStore::connect(url).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    let (token, _, _) = token(&unique("family"), "c", true);
                    store.save_token(token.clone()).await.unwrap();
                    assert_eq!(
                        store.access_token(&token.access_token).await.unwrap(),
                        Some(token.clone())
                    );
                    let refresh = token.refresh_token.unwrap();
                    assert!(store.refresh_token(&refresh).await.unwrap().is_some());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_see_every_committed_write_in_memory() {
    reads_see_every_committed_write(MEMORY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_see_every_committed_write_in_a_file() {
    let db = TempDb::new();
    reads_see_every_committed_write(&db.url()).await;
}

/// 64 concurrent redemptions of one code: exactly one gets it.
async fn one_code_one_winner(store: SqlStore) {
    let (code, _) = code("web", true);
    store.save_code(code.clone()).await.unwrap();
    let barrier = Arc::new(Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, barrier, hash) = (store.clone(), Arc::clone(&barrier), code.code);
            tokio::spawn(async move {
                barrier.wait().await;
                store.take_code(&hash).await.unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(winners, vec![code]);
}

/// 64 concurrent rotations of one refresh token: exactly one succeeds, and
/// exactly its new token is stored.
async fn one_rotation_one_winner(store: SqlStore) {
    let family = unique("family");
    let (old, _, _) = token(&family, "web", true);
    store.save_token(old.clone()).await.unwrap();
    let old_refresh = old.refresh_token.unwrap();
    let barrier = Arc::new(Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            let (new, _, _) = token(&family, "web", true);
            tokio::spawn(async move {
                barrier.wait().await;
                let won = store
                    .rotate_refresh_token(&old_refresh, new.clone())
                    .await
                    .unwrap();
                (won, new)
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        let (won, new) = task.await.unwrap();
        let stored = store.access_token(&new.access_token).await.unwrap();
        if won {
            winners += 1;
            assert_eq!(stored, Some(new));
        } else {
            assert_eq!(stored, None, "a losing rotation stored its token");
        }
    }
    assert_eq!(winners, 1);
    assert!(store.refresh_token(&old_refresh).await.unwrap().unwrap().rotated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_take_code_has_one_winner() {
    one_code_one_winner(SqlStore::connect(MEMORY).await.unwrap()).await;
    let db = TempDb::new();
    let store = SqlStore::connect(&db.url()).await.unwrap();
    one_code_one_winner(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_has_one_winner() {
    one_rotation_one_winner(SqlStore::connect(MEMORY).await.unwrap()).await;
    let db = TempDb::new();
    let store = SqlStore::connect(&db.url()).await.unwrap();
    one_rotation_one_winner(store.clone()).await;
    store.close().await;
}

/// A failing write (a duplicate hash) fails alone: the writes batched with
/// it (SQLite's writer, Postgres' token writer) still commit.
async fn a_failing_write_fails_alone(url: &str) {
    let store = SqlStore::connect(url).await.unwrap();
    let (duplicate, _, _) = token("f", "c", true);
    store.save_token(duplicate.clone()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        let (token, _, _) = token("f", "c", true);
        let token = if i % 8 == 0 { duplicate.clone() } else { token };
        tasks.push(tokio::spawn(async move {
            (store.save_token(token.clone()).await, token)
        }));
    }
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        let (result, token) = task.await.unwrap();
        if token == duplicate {
            assert!(matches!(result, Err(SqlError::Database(_))), "{result:?}");
            failed += 1;
        } else {
            result.unwrap();
            assert_eq!(
                store.access_token(&token.access_token).await.unwrap(),
                Some(token)
            );
            ok += 1;
        }
    }
    assert_eq!((ok, failed), (56, 8));
    // A rotation whose new token is a duplicate stores nothing and leaves the
    // old token unrotated.
    let (old, _, _) = token("g", "c", true);
    store.save_token(old.clone()).await.unwrap();
    let old_refresh = old.refresh_token.unwrap();
    assert!(
        store
            .rotate_refresh_token(&old_refresh, duplicate.clone())
            .await
            .is_err()
    );
    assert!(!store.refresh_token(&old_refresh).await.unwrap().unwrap().rotated);
    let (new, _, _) = token("g", "c", true);
    assert!(store.rotate_refresh_token(&old_refresh, new).await.unwrap());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_write_does_not_poison_its_batch() {
    a_failing_write_fails_alone(MEMORY).await;
}

async fn upserts_replace_and_a_username_belongs_to_one_subject(url: &str) {
    use granted::ClientModel as _;

    let store = SqlStore::connect(url).await.unwrap();
    let client = ClientRecord::confidential("web", "one").scope("read");
    store.upsert_client(&client).await.unwrap();
    let replaced = ClientRecord::public("web")
        .scope("read write")
        .grant_types(["authorization_code"]);
    store.upsert_client(&replaced).await.unwrap();
    let back = store.client("web").await.unwrap().unwrap();
    assert_eq!(back, replaced);
    assert!(back.secret_hash().is_none());

    let alice = UserRecord::from_hash("s-1", "alice", "hash-1");
    store.upsert_user(&alice).await.unwrap();
    let renamed = UserRecord::from_hash("s-1", "alice2", "hash-2");
    store.upsert_user(&renamed).await.unwrap();
    assert_eq!(store.user_by_username("alice").await.unwrap(), None);
    assert_eq!(store.user_by_username("alice2").await.unwrap(), Some(renamed));
    let thief = UserRecord::from_hash("s-2", "alice2", "hash-3");
    assert!(store.upsert_user(&thief).await.is_err());
    let back = store.user_by_username("alice2").await.unwrap().unwrap();
    assert_eq!(granted::UserModel::subject(&back), "s-1");
    store.close().await;
}

#[tokio::test]
async fn upserts_replace_and_a_username_belongs_to_one_subject_on_sqlite() {
    upserts_replace_and_a_username_belongs_to_one_subject(MEMORY).await;
}

/// Tokens and codes at every side of the expiry line; `now` is `NOW`.
async fn purge_removes_exactly_the_expired(store: &SqlStore) {
    let (mut live_code, _) = code("c", false);
    let (mut dead_code, _) = code("c", false);
    live_code.expires_at = NOW + 1;
    dead_code.expires_at = NOW;
    let make = |expires_at: i64, refresh_expires_at: Option<i64>| {
        let (mut token, _, _) = token(&unique("family"), "c", refresh_expires_at.is_some());
        token.expires_at = expires_at;
        token.refresh_expires_at = refresh_expires_at;
        token
    };
    let live = [
        make(NOW + 1, None),
        make(NOW - 10, Some(NOW + 1)),
        make(NOW + 1, Some(NOW - 1)),
    ];
    let dead = [make(NOW, None), make(NOW - 10, Some(NOW))];
    for token in live.iter().chain(&dead) {
        store.save_token(token.clone()).await.unwrap();
    }
    store.save_code(live_code.clone()).await.unwrap();
    store.save_code(dead_code.clone()).await.unwrap();

    assert_eq!(store.purge_expired(NOW).await.unwrap(), 3);
    for token in &live {
        assert!(store.access_token(&token.access_token).await.unwrap().is_some());
    }
    for token in &dead {
        assert!(store.access_token(&token.access_token).await.unwrap().is_none());
    }
    assert_eq!(store.take_code(&dead_code.code).await.unwrap(), None);
    assert_eq!(store.take_code(&live_code.code).await.unwrap(), Some(live_code));
    assert_eq!(store.purge_expired(NOW).await.unwrap(), 0);
}

#[tokio::test]
async fn purge_removes_exactly_the_expired_rows() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    purge_removes_exactly_the_expired(&store).await;
    let db = TempDb::new();
    let store = SqlStore::connect(&db.url()).await.unwrap();
    purge_removes_exactly_the_expired(&store).await;
    store.close().await;
}

async fn the_purge_task_purges_and_stops_with_the_store(url: &str) {
    let store = SqlStore::connect(url).await.unwrap();
    let (mut expired, _, _) = token("f", "c", false);
    expired.expires_at = NOW;
    store.save_token(expired.clone()).await.unwrap();
    let task = store.spawn_purge_task(Duration::from_millis(10));
    let mut purged = false;
    for _ in 0..200 {
        if store.access_token(&expired.access_token).await.unwrap().is_none() {
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(purged);
    drop(store);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_purge_task_purges_and_stops_with_the_store_on_sqlite() {
    the_purge_task_purges_and_stops_with_the_store(MEMORY).await;
}

/// What a store wrote is there after closing it and connecting again, and
/// so is every write that returned before the store was dropped unclosed.
async fn data_survives_reopening(url: &str) {
    let seeded;
    let (token, _, _) = token("f", "c", true);
    let (code, _) = code("c", true);
    {
        let store = SqlStore::connect(url).await.unwrap();
        seeded = seed_sql(&store).await;
        store.save_token(token.clone()).await.unwrap();
        store.save_code(code.clone()).await.unwrap();
        store.close().await;
    }
    let store = SqlStore::connect(url).await.unwrap();
    {
        use granted::ClientModel as _;
        use granted::UserModel as _;
        let client = store.client(seeded.client.client_id()).await.unwrap();
        assert_eq!(client, Some(seeded.client.clone()));
        let user = store.user_by_username(seeded.user.username()).await.unwrap();
        assert_eq!(user, Some(seeded.user.clone()));
    }
    assert_eq!(
        store.access_token(&token.access_token).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(store.take_code(&code.code).await.unwrap(), Some(code));

    // Dropped without `close`: every write that returned was committed.
    let (later, _, _) = self::token("f", "c", false);
    store.save_token(later.clone()).await.unwrap();
    drop(store);
    let store = SqlStore::connect(url).await.unwrap();
    assert_eq!(
        store.access_token(&later.access_token).await.unwrap(),
        Some(later)
    );
    store.close().await;
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let db = TempDb::new();
    data_survives_reopening(&db.url()).await;
}

#[tokio::test]
async fn only_hashes_reach_the_file() {
    let db = TempDb::new();
    let store = SqlStore::connect(&db.url()).await.unwrap();
    let (token, access, refresh) = token("f", "c", true);
    let refresh = refresh.unwrap();
    let (code, code_value) = code("c", true);
    store.save_token(token.clone()).await.unwrap();
    store.save_code(code.clone()).await.unwrap();
    // Read while the WAL holds the data, then again after the checkpoint
    // that closing the last connection runs.
    let mut snapshots = vec![read_all(&db.files())];
    store.close().await;
    snapshots.push(read_all(&db.files()));
    for bytes in snapshots {
        for value in [&access, &refresh, &code_value] {
            assert!(
                !contains(&bytes, value.as_bytes()),
                "a token value is stored in clear"
            );
        }
        // The hashes are there: the bytes searched are the right ones.
        assert!(contains(&bytes, token.access_token.as_bytes()));
        assert!(contains(&bytes, code.code.as_bytes()));
    }
}

async fn closed_stores_refuse_work(url: &str) {
    let store = SqlStore::connect(url).await.unwrap();
    let clone = store.clone();
    store.close().await;
    let (token, _, _) = token("f", "c", false);
    assert!(matches!(
        clone.save_token(token.clone()).await,
        Err(SqlError::Closed)
    ));
    assert!(matches!(
        clone.access_token(&token.access_token).await,
        Err(SqlError::Closed)
    ));
    store.close().await;
}

#[tokio::test]
async fn closed_stores_refuse_work_on_sqlite() {
    closed_stores_refuse_work(MEMORY).await;
}

#[tokio::test]
async fn bad_urls_are_named_errors() {
    let error = SqlStore::connect("mysql://localhost/db").await.unwrap_err();
    assert!(matches!(&error, SqlError::UnsupportedScheme(scheme) if scheme == "mysql"));
    assert!(error.to_string().contains("`mysql`"), "{error}");
    assert!(matches!(
        SqlStore::connect("granted.db").await.unwrap_err(),
        SqlError::UnsupportedScheme(_)
    ));
    let missing_dir = Path::new("/nonexistent-granted-dir/x.db");
    let error = SqlStore::connect(&format!("sqlite://{}", missing_dir.display()))
        .await
        .unwrap_err();
    assert!(matches!(error, SqlError::Database(_)), "{error:?}");
}

/// Settings of a failure budget: `max` failures in `window_s` seconds lock
/// for `lockout_s` seconds.
fn budget(max: u32, window_s: u64, lockout_s: u64) -> AuthFailureLimit {
    AuthFailureLimit::default()
        .with_max_failures(max)
        .with_window(Duration::from_secs(window_s))
        .with_lockout(Duration::from_secs(lockout_s))
}

/// Records one failure of `name`; the end of its lock-out when locked.
async fn fail(
    store: &SqlStore,
    scope: FailureScope,
    name: &str,
    limit: AuthFailureLimit,
    now_ms: i64,
) -> Option<i64> {
    FailureStore::record_failure(store, scope, TokenHash::of(name), limit, now_ms)
        .await
        .unwrap()
}

async fn locked_names(store: &SqlStore, scope: FailureScope, now_ms: i64) -> Vec<(TokenHash, i64)> {
    FailureStore::locked(store, scope, now_ms, 100).await.unwrap()
}

/// Failures recorded at once through two stores (two servers) on one
/// database each count: of ten, exactly the tenth gets the lock-out back;
/// nine leave the key unlocked.
async fn concurrent_failures_from_two_stores_lock_exactly_at_the_limit(url: &str) {
    let one = SqlStore::connect(url).await.unwrap();
    let two = SqlStore::connect(url).await.unwrap();
    let limit = budget(10, 60, 60);
    let now_ms = granted::throttle::unix_millis();
    let race = |name: String, failures: usize| {
        let barrier = Arc::new(Barrier::new(failures));
        let tasks: Vec<_> = (0..failures)
            .map(|i| {
                let store = if i % 2 == 0 { one.clone() } else { two.clone() };
                let (barrier, name) = (Arc::clone(&barrier), name.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    fail(&store, FailureScope::USERNAME, &name, limit, now_ms).await
                })
            })
            .collect();
        async move {
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.unwrap());
            }
            answers
        }
    };
    let victim = unique("victim");
    let answers = race(victim.clone(), 10).await;
    let lockouts: Vec<i64> = answers.iter().flatten().copied().collect();
    assert_eq!(
        lockouts,
        [now_ms + 60_000],
        "exactly the tenth locks: {answers:?}"
    );
    let spared = unique("spared");
    let answers = race(spared.clone(), 9).await;
    assert!(
        answers.iter().all(Option::is_none),
        "nine do not lock: {answers:?}"
    );

    for store in [&one, &two] {
        let locked = locked_names(store, FailureScope::USERNAME, now_ms).await;
        assert_eq!(locked, [(TokenHash::of(&victim), now_ms + 60_000)]);
        assert!(
            locked_names(store, FailureScope::CLIENT_ID, now_ms)
                .await
                .is_empty()
        );
    }
    // The eleventh, while locked: still locked, the lock-out not extended.
    let later = now_ms + 1_000;
    let again = fail(&two, FailureScope::USERNAME, &victim, limit, later).await;
    assert_eq!(again, Some(now_ms + 60_000));
    one.close().await;
    two.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_from_two_stores_lock_exactly_at_the_limit_on_a_sqlite_file() {
    let db = TempDb::new();
    concurrent_failures_from_two_stores_lock_exactly_at_the_limit(&db.url()).await;
}

/// The window, the lock-out and the scopes, at chosen times: a window that
/// passed starts again; the failure that reaches the limit locks for the
/// lock-out; failures while locked change nothing; once the lock-out has
/// passed the key is free and counts from one; scopes are apart.
async fn failure_windows_and_lockouts_end_on_time(store: &SqlStore) {
    const S: i64 = 1_000;
    let t0 = NOW * S;
    let limit = budget(3, 60, 120);
    let name = unique("web");
    let at = |seconds: i64| t0 + seconds * S;
    let scope = FailureScope::CLIENT_ID;
    assert_eq!(fail(store, scope, &name, limit, at(0)).await, None);
    assert_eq!(fail(store, scope, &name, limit, at(1)).await, None);
    // The window of those two has passed: this is the first of a new one.
    assert_eq!(fail(store, scope, &name, limit, at(60)).await, None);
    assert_eq!(fail(store, scope, &name, limit, at(61)).await, None);
    assert!(locked_names(store, scope, at(61)).await.is_empty());
    assert_eq!(fail(store, scope, &name, limit, at(62)).await, Some(at(182)));
    assert_eq!(
        locked_names(store, scope, at(62)).await,
        [(TokenHash::of(&name), at(182))]
    );
    // While locked, failures change nothing.
    assert_eq!(fail(store, scope, &name, limit, at(100)).await, Some(at(182)));
    assert_eq!(locked_names(store, scope, at(181)).await.len(), 1);
    // The lock-out has passed: free, and counting starts again.
    assert!(locked_names(store, scope, at(182)).await.is_empty());
    assert_eq!(fail(store, scope, &name, limit, at(182)).await, None);
    assert_eq!(fail(store, scope, &name, limit, at(183)).await, None);
    assert_eq!(fail(store, scope, &name, limit, at(184)).await, Some(at(304)));
    // The same name as a username is another budget.
    assert_eq!(
        fail(store, FailureScope::USERNAME, &name, limit, at(184)).await,
        None
    );
    assert!(
        locked_names(store, FailureScope::USERNAME, at(184))
            .await
            .is_empty()
    );
    // A budget of one failure locks at the first.
    let once = budget(1, 60, 30);
    assert_eq!(
        fail(store, FailureScope::SOURCE, &name, once, at(0)).await,
        Some(at(30))
    );
}

#[tokio::test]
async fn failure_windows_and_lockouts_end_on_time_on_sqlite() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    failure_windows_and_lockouts_end_on_time(&store).await;
}

/// `purge_expired` deletes the failure counts whose window or lock-out has
/// passed, and only those: a lock and a count still running survive it.
async fn purge_removes_failure_counts_whose_time_has_passed(store: &SqlStore) {
    const S: i64 = 1_000;
    let now_ms = NOW * S;
    let limit = budget(3, 60, 60);
    let scope = FailureScope::USERNAME;
    let (old, locked, running) = (unique("old"), unique("locked"), unique("running"));
    // Window ended 60 s ago.
    fail(store, scope, &old, limit, now_ms - 120 * S).await;
    // Locked 30 s ago for 60 s.
    for _ in 0..3 {
        fail(store, scope, &locked, limit, now_ms - 30 * S).await;
    }
    // One failure 10 s ago: its window runs 50 s more.
    fail(store, scope, &running, limit, now_ms - 10 * S).await;

    assert_eq!(store.purge_expired(NOW).await.unwrap(), 1);
    assert_eq!(
        locked_names(store, scope, now_ms).await,
        [(TokenHash::of(&locked), now_ms + 30 * S)]
    );
    // The running count kept its failure: two more lock.
    assert_eq!(fail(store, scope, &running, limit, now_ms).await, None);
    assert_eq!(
        fail(store, scope, &running, limit, now_ms).await,
        Some(now_ms + 60 * S)
    );
    assert_eq!(store.purge_expired(NOW).await.unwrap(), 0);
}

#[tokio::test]
async fn purge_removes_failure_counts_whose_time_has_passed_on_sqlite() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    purge_removes_failure_counts_whose_time_has_passed(&store).await;
    let db = TempDb::new();
    let store = SqlStore::connect(&db.url()).await.unwrap();
    purge_removes_failure_counts_whose_time_has_passed(&store).await;
    store.close().await;
}

/// The same tests on PostgreSQL, each in a database of its own (see
/// `tests/shared/postgres.rs`): skipped without `GRANTED_TEST_POSTGRES_URL`,
/// failed without it in CI.
#[cfg(feature = "postgres")]
#[path = "shared/postgres.rs"]
mod pg;

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

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

    /// Nothing listens on port 1: connecting fails as "unavailable" (the
    /// pool's acquire time-out, a few seconds), not as a failure, and the
    /// error never holds the password.
    #[tokio::test]
    async fn an_unreachable_postgres_is_unavailable() {
        let url = "postgres://granted:hunter2@127.0.0.1:1/granted";
        let error = SqlStore::connect(url).await.unwrap_err();
        assert!(matches!(error, SqlError::Unavailable(_)), "{error:?}");
        assert!(!format!("{error} {error:?}").contains("hunter2"), "{error:?}");
    }

    #[tokio::test]
    async fn every_trait_method_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        let seeded = seed_sql(&store).await;
        every_trait_method(&store, &seeded).await;
        // Connecting again finds the schema migrated already.
        let again = SqlStore::connect(&db.url).await.unwrap();
        assert!(again.client("no-such-client").await.unwrap().is_none());
        again.close().await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn device_authorizations_on_postgres() {
        let db = database!();
        let one = SqlStore::connect(&db.url).await.unwrap();
        let other = SqlStore::connect(&db.url).await.unwrap();
        device_authorizations(&one, &other).await;
        one.close().await;
        other.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn pushed_requests_and_assertion_ids_on_postgres() {
        let db = database!();
        let one = SqlStore::connect(&db.url).await.unwrap();
        let other = SqlStore::connect(&db.url).await.unwrap();
        pushed_requests_and_assertion_ids(&one, &other).await;
        extension_fields_round_trip(&one).await;
        one.close().await;
        other.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn reads_see_every_committed_write_on_postgres() {
        let db = database!();
        reads_see_every_committed_write(&db.url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_take_code_has_one_winner_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        one_code_one_winner(store.clone()).await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_rotation_has_one_winner_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        one_rotation_one_winner(store.clone()).await;
        store.close().await;
    }

    /// Two stores (two servers' pools) on one database race for one code
    /// and one refresh token: still exactly one winner each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn races_across_two_stores_on_one_database_have_one_winner() {
        let db = database!();
        let one = SqlStore::connect(&db.url).await.unwrap();
        let two = SqlStore::connect(&db.url).await.unwrap();
        let (code, _) = code("web", true);
        one.save_code(code.clone()).await.unwrap();
        let (first, second) = tokio::join!(two.take_code(&code.code), one.take_code(&code.code));
        let winners: Vec<CodeRecord> = [first.unwrap(), second.unwrap()].into_iter().flatten().collect();
        assert_eq!(winners, vec![code]);

        let family = unique("family");
        let (old, _, _) = token(&family, "web", true);
        one.save_token(old.clone()).await.unwrap();
        let old_refresh = old.refresh_token.unwrap();
        let (a, _, _) = token(&family, "web", true);
        let (b, _, _) = token(&family, "web", true);
        let (won_a, won_b) = tokio::join!(
            one.rotate_refresh_token(&old_refresh, a),
            two.rotate_refresh_token(&old_refresh, b)
        );
        assert!(won_a.unwrap() ^ won_b.unwrap(), "exactly one rotation wins");
        one.close().await;
        two.close().await;
    }

    /// Two instances seeding one database store the same users at the same
    /// moment: every upsert succeeds (`ON CONFLICT (subject)` alone would
    /// let the username's unique index refuse the later of two inserts).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_same_users_upserted_by_two_stores_at_once_on_postgres() {
        let db = database!();
        let one = SqlStore::connect(&db.url).await.unwrap();
        let two = SqlStore::connect(&db.url).await.unwrap();
        for n in 0..40 {
            let user = UserRecord::from_hash(format!("s-{n}"), format!("user-{n}"), "hash");
            let (a, b) = tokio::join!(one.upsert_user(&user), two.upsert_user(&user));
            a.unwrap();
            b.unwrap();
        }
        assert!(one.user_by_username("user-39").await.unwrap().is_some());
        one.close().await;
        two.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_write_fails_alone_on_postgres() {
        let db = database!();
        a_failing_write_fails_alone(&db.url).await;
    }

    #[tokio::test]
    async fn upserts_replace_and_a_username_belongs_to_one_subject_on_postgres() {
        let db = database!();
        upserts_replace_and_a_username_belongs_to_one_subject(&db.url).await;
    }

    #[tokio::test]
    async fn purge_removes_exactly_the_expired_rows_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        purge_removes_exactly_the_expired(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn the_purge_task_purges_and_stops_with_the_store_on_postgres() {
        let db = database!();
        the_purge_task_purges_and_stops_with_the_store(&db.url).await;
    }

    #[tokio::test]
    async fn data_survives_reopening_on_postgres() {
        let db = database!();
        data_survives_reopening(&db.url).await;
    }

    /// Every stored text and binary value, for searching what reached the
    /// database.
    async fn everything_stored(url: &str) -> Vec<u8> {
        use sqlx::Connection as _;
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        let mut bytes = Vec::new();
        for table in ["tokens", "codes", "clients", "users"] {
            let sql = format!("SELECT t::text FROM {table} t");
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut connection)
                .await
                .unwrap();
            for (row,) in rows {
                bytes.extend(row.into_bytes());
            }
        }
        connection.close().await.unwrap();
        bytes
    }

    #[tokio::test]
    async fn only_hashes_reach_the_database_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        seed_sql(&store).await;
        let (token, access, refresh) = token("f", "c", true);
        let (code, code_value) = code("c", true);
        store.save_token(token.clone()).await.unwrap();
        store.save_code(code.clone()).await.unwrap();
        let stored = everything_stored(&db.url).await;
        for value in [&access, &refresh.unwrap(), &code_value, &"s3cret".to_owned()] {
            assert!(
                !contains(&stored, value.as_bytes()),
                "a secret is stored in clear"
            );
        }
        // The hashes are there (bytea as hex text): the rows read are the right ones.
        let hex: String = token
            .access_token
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(contains(&stored, hex.as_bytes()));
        store.close().await;
    }

    #[tokio::test]
    async fn login_sessions_on_postgres() {
        let db = database!();
        let one = SqlStore::connect(&db.url).await.unwrap();
        let other = SqlStore::connect(&db.url).await.unwrap();
        login_sessions(&one, &other).await;
        one.close().await;
        other.close().await;
    }

    #[tokio::test]
    async fn closed_stores_refuse_work_on_postgres() {
        let db = database!();
        closed_stores_refuse_work(&db.url).await;
    }

    #[tokio::test]
    async fn signing_keys_are_generated_once_kept_rotated_and_retired_on_postgres() {
        let db = database!();
        signing_keys_are_generated_once_kept_rotated_and_retired(&db.url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn servers_starting_together_share_one_first_key_on_postgres() {
        let db = database!();
        servers_starting_together_share_one_first_key(&db.url).await;
    }

    /// The Postgres side of the first key: a server that finds no key waits
    /// for another server's transaction creating one (the advisory lock),
    /// then takes that key instead of storing its own, although the other
    /// key was not committed yet when it looked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_first_key_being_created_elsewhere_is_waited_for_and_taken() {
        use sqlx::Connection as _;

        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        let theirs = SigningKey::generate(SigningAlg::Es256).unwrap();
        let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let mut transaction = other.begin().await.unwrap();
        // The lock `SqlStore` takes (see `FIRST_SIGNING_KEY_LOCK`).
        sqlx::query("SELECT pg_advisory_xact_lock(7262736550110473203)")
            .execute(&mut *transaction)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_pem, created_at) VALUES ($1, 'ES256', $2, $3)",
        )
        .bind(theirs.kid())
        .bind(theirs.private_pem())
        .bind(granted::now())
        .execute(&mut *transaction)
        .await
        .unwrap();
        let starting = tokio::spawn({
            let store = store.clone();
            async move { store.load_or_generate_keys(SigningAlg::Es256).await.unwrap() }
        });
        // Let it find no key and reach the lock (if it is slower, it finds
        // the committed key: the test then proves less, but still holds).
        tokio::time::sleep(Duration::from_millis(300)).await;
        transaction.commit().await.unwrap();
        let ring = starting.await.unwrap();
        let kids: Vec<String> = ring.keys().iter().map(|k| k.kid().to_owned()).collect();
        assert_eq!(kids, [theirs.kid()]);
        assert_eq!(store.signing_keys().await.unwrap().len(), 1);
        other.close().await.unwrap();
        store.close().await;
    }

    #[tokio::test]
    async fn refreshed_rings_follow_the_database_on_postgres() {
        let db = database!();
        refreshed_rings_follow_the_database(&db.url).await;
    }

    #[tokio::test]
    async fn the_key_refresh_task_publishes_additions_and_stops_with_the_store_on_postgres() {
        let db = database!();
        the_key_refresh_task_publishes_additions_and_stops_with_the_store(&db.url).await;
    }

    #[tokio::test]
    async fn a_revoked_family_takes_no_new_tokens_until_its_tombstone_is_purged_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        a_revoked_family_takes_no_new_tokens(&store).await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_failures_from_two_stores_lock_exactly_at_the_limit_on_postgres() {
        let db = database!();
        concurrent_failures_from_two_stores_lock_exactly_at_the_limit(&db.url).await;
    }

    #[tokio::test]
    async fn failure_windows_and_lockouts_end_on_time_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        failure_windows_and_lockouts_end_on_time(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn purge_removes_failure_counts_whose_time_has_passed_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        purge_removes_failure_counts_whose_time_has_passed(&store).await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn saves_racing_a_revocation_leave_nothing_on_postgres() {
        let db = database!();
        let store = SqlStore::connect(&db.url).await.unwrap();
        saves_racing_a_revocation_leave_nothing(&store).await;
        store.close().await;
    }
}

async fn signing_keys_are_generated_once_kept_rotated_and_retired(url: &str) {
    let first = {
        let store = SqlStore::connect(url).await.unwrap();
        let ring = store.load_or_generate_keys(SigningAlg::Es256).await.unwrap();
        let keys = ring.keys();
        assert_eq!(keys.len(), 1);
        store.close().await;
        keys[0].clone()
    };
    let store = SqlStore::connect(url).await.unwrap();
    let again = store.load_or_generate_keys(SigningAlg::Es256).await.unwrap();
    assert_eq!(again.keys().len(), 1);
    assert_eq!(again.keys()[0].kid(), first.kid(), "loaded, not generated again");
    assert_eq!(again.keys()[0].private_pem(), first.private_pem());

    // Rotation: the newer key signs, both are published.
    let newer = SigningKey::generate(SigningAlg::Es256).unwrap();
    store.add_signing_key(&newer, granted::now() + 10).await.unwrap();
    store.add_signing_key(&newer, granted::now() + 10).await.unwrap();
    let ring = store.load_or_generate_keys(SigningAlg::Es256).await.unwrap();
    let kids: Vec<String> = ring.keys().iter().map(|k| k.kid().to_owned()).collect();
    assert_eq!(kids, [newer.kid(), first.kid()]);
    assert_eq!(ring.signing_key(SigningAlg::Es256).unwrap().kid(), newer.kid());

    // Another algorithm gets its own key; retiring unpublishes.
    let ring = store.load_or_generate_keys(SigningAlg::Ed25519).await.unwrap();
    assert_eq!(ring.keys().len(), 3);
    store.retire_signing_key(first.kid(), NOW + 20).await.unwrap();
    let left: Vec<String> = store
        .signing_keys()
        .await
        .unwrap()
        .iter()
        .map(|k| k.kid().to_owned())
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&first.kid().to_owned()));
    store.close().await;
}

#[tokio::test]
async fn signing_keys_are_generated_once_kept_rotated_and_retired_on_sqlite() {
    let db = TempDb::new();
    signing_keys_are_generated_once_kept_rotated_and_retired(&db.url()).await;
}

/// Servers starting together on an empty database (a store each, with
/// pools and writers of their own) end up with one key between them.
async fn servers_starting_together_share_one_first_key(url: &str) {
    let stores: Vec<SqlStore> = {
        let mut stores = Vec::new();
        for _ in 0..8 {
            stores.push(SqlStore::connect(url).await.unwrap());
        }
        stores
    };
    let barrier = Arc::new(Barrier::new(stores.len()));
    let tasks: Vec<_> = stores
        .iter()
        .cloned()
        .map(|store| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store.load_or_generate_keys(SigningAlg::Es256).await.unwrap()
            })
        })
        .collect();
    let mut kids = Vec::new();
    for task in tasks {
        let ring = task.await.unwrap();
        let keys = ring.keys();
        assert_eq!(keys.len(), 1, "each server has one key");
        kids.push(keys[0].kid().to_owned());
    }
    kids.dedup();
    assert_eq!(kids.len(), 1, "one key for all: {kids:?}");
    assert_eq!(stores[0].signing_keys().await.unwrap().len(), 1, "one key stored");
    for store in stores {
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_starting_together_share_one_first_key_on_sqlite() {
    let db = TempDb::new();
    servers_starting_together_share_one_first_key(&db.url()).await;
}

/// A ring refreshed from the database publishes a key another server added
/// and signs with it only once it is older than the publish delay, and
/// drops a key another server retired.
async fn refreshed_rings_follow_the_database(url: &str) {
    let delay = Duration::from_secs(60);
    let now = granted::now();
    let (here, there) = (
        SqlStore::connect(url).await.unwrap(),
        SqlStore::connect(url).await.unwrap(),
    );
    let first = SigningKey::generate(SigningAlg::Es256).unwrap();
    there.add_signing_key(&first, now - 3600).await.unwrap();
    let ring = here.load_or_generate_keys(SigningAlg::Es256).await.unwrap();
    let served = ring.clone();
    let kids =
        |ring: &granted::KeyRing| -> Vec<String> { ring.keys().iter().map(|k| k.kid().to_owned()).collect() };
    assert_eq!(kids(&ring), [first.kid()]);

    // Added elsewhere just now: published at once, not signing yet.
    let fresh = SigningKey::generate(SigningAlg::Es256).unwrap();
    there.add_signing_key(&fresh, now).await.unwrap();
    here.refresh_keys(&ring, delay).await.unwrap();
    assert_eq!(kids(&served), [fresh.kid(), first.kid()]);
    assert!(served.is_pending(fresh.kid()));
    assert_eq!(served.signing_key(SigningAlg::Es256).unwrap().kid(), first.kid());

    // Stored longer ago than the delay: it signs.
    let older = SigningKey::generate(SigningAlg::Es256).unwrap();
    there.add_signing_key(&older, now - 120).await.unwrap();
    here.refresh_keys(&ring, delay).await.unwrap();
    assert_eq!(kids(&served), [older.kid(), fresh.kid(), first.kid()]);
    assert_eq!(served.signing_key(SigningAlg::Es256).unwrap().kid(), older.kid());

    // Retired elsewhere: no longer published.
    there.retire_signing_key(first.kid(), now).await.unwrap();
    here.refresh_keys(&ring, delay).await.unwrap();
    assert_eq!(kids(&served), [older.kid(), fresh.kid()]);
    assert!(!served.jwks().to_string().contains(first.kid()));
    here.close().await;
    there.close().await;
}

#[tokio::test]
async fn refreshed_rings_follow_the_database_on_sqlite() {
    let db = TempDb::new();
    refreshed_rings_follow_the_database(&db.url()).await;
}

/// The refresh task publishes a key another server adds, and ends with its
/// store.
async fn the_key_refresh_task_publishes_additions_and_stops_with_the_store(url: &str) {
    let (here, there) = (
        SqlStore::connect(url).await.unwrap(),
        SqlStore::connect(url).await.unwrap(),
    );
    let ring = here.load_or_generate_keys(SigningAlg::Ed25519).await.unwrap();
    let task = here.spawn_key_refresh(ring.clone(), Duration::from_millis(20));
    let added = SigningKey::generate(SigningAlg::Ed25519).unwrap();
    there.add_signing_key(&added, granted::now()).await.unwrap();
    let mut published = false;
    for _ in 0..500 {
        if ring.keys().iter().any(|k| k.kid() == added.kid()) {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(published, "the added key was never published");
    drop(here);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    there.close().await;
}

#[tokio::test]
async fn the_key_refresh_task_publishes_additions_and_stops_with_the_store_on_sqlite() {
    let db = TempDb::new();
    the_key_refresh_task_publishes_additions_and_stops_with_the_store(&db.url()).await;
}

/// `revoke_token_family` covers tokens saved into the family later (single
/// and multi-row inserts alike), until the tombstone's retention has passed.
async fn a_revoked_family_takes_no_new_tokens(store: &SqlStore) {
    let family = unique("family");
    store.revoke_token_family(&family).await.unwrap();
    let late: Vec<TokenRecord> = (0..4).map(|_| token(&family, "c", true).0).collect();
    let (other, _, _) = token(&unique("family"), "c", false);
    // Queued together, so that the writer stores them with multi-row inserts.
    let (a, b, c, d, e) = tokio::join!(
        store.save_token(late[0].clone()),
        store.save_token(late[1].clone()),
        store.save_token(late[2].clone()),
        store.save_token(late[3].clone()),
        store.save_token(other.clone()),
    );
    for result in [a, b, c, d, e] {
        result.unwrap();
    }
    for token in &late {
        assert_eq!(store.access_token(&token.access_token).await.unwrap(), None);
        let refresh = token.refresh_token.as_ref().unwrap();
        assert_eq!(store.refresh_token(refresh).await.unwrap(), None);
    }
    assert!(store.access_token(&other.access_token).await.unwrap().is_some());
    // After the retention the tombstone is purged and the family is free.
    let later = granted::now() + granted::storage::REVOKED_FAMILY_RETENTION_SECS + 1;
    store.purge_expired(later).await.unwrap();
    store.save_token(late[0].clone()).await.unwrap();
    assert!(store.access_token(&late[0].access_token).await.unwrap().is_some());
}

#[tokio::test]
async fn a_revoked_family_takes_no_new_tokens_until_its_tombstone_is_purged() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    a_revoked_family_takes_no_new_tokens(&store).await;
    let db = TempDb::new();
    let store = SqlStore::connect(&db.url()).await.unwrap();
    a_revoked_family_takes_no_new_tokens(&store).await;
    store.close().await;
}

/// Saves into a family racing its revocation: once both are done, none of
/// the family's tokens is left, whichever ran first (a save either lands
/// before the deletion or meets the tombstone).
async fn saves_racing_a_revocation_leave_nothing(store: &SqlStore) {
    for round in 0..20 {
        let family = unique("racing");
        let tokens: Vec<TokenRecord> = (0..16).map(|_| token(&family, "c", false).0).collect();
        let saves: Vec<_> = tokens
            .iter()
            .cloned()
            .map(|token| {
                let store = store.clone();
                tokio::spawn(async move { store.save_token(token).await })
            })
            .collect();
        let revocation = {
            let (store, family) = (store.clone(), family.clone());
            tokio::spawn(async move { store.revoke_token_family(&family).await })
        };
        for save in saves {
            save.await.unwrap().unwrap();
        }
        revocation.await.unwrap().unwrap();
        for token in &tokens {
            assert_eq!(
                store.access_token(&token.access_token).await.unwrap(),
                None,
                "round {round}: a token outlived its family's revocation"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saves_racing_a_revocation_leave_nothing_on_sqlite() {
    let store = SqlStore::connect(MEMORY).await.unwrap();
    saves_racing_a_revocation_leave_nothing(&store).await;
    let db = TempDb::new();
    let store = SqlStore::connect(&db.url()).await.unwrap();
    saves_racing_a_revocation_leave_nothing(&store).await;
    store.close().await;
}

/// DPoP: a token's key and a client's `dpop_bound_access_tokens` survive
/// the round trip (single saves, group-committed saves and rotations), and
/// of concurrent uses of one proof on two stores sharing the database
/// exactly one wins, until the proof is purged.
async fn dpop_bindings_and_proofs(one: &SqlStore, other: &SqlStore) {
    use granted::ClientModel as _;
    use granted::storage::DpopStorage;

    let client = ClientRecord::confidential(unique("dpop"), "s3cret").dpop_bound_access_tokens(true);
    one.upsert_client(&client).await.unwrap();
    let read = other.client(client.client_id()).await.unwrap().unwrap();
    assert!(granted::ClientModel::dpop_bound_access_tokens(&read));
    let plain = seeds().client;
    one.upsert_client(&plain).await.unwrap();
    let read = other.client(plain.client_id()).await.unwrap().unwrap();
    assert!(!granted::ClientModel::dpop_bound_access_tokens(&read));

    let bound = |n: usize| {
        let (mut record, _, _) = token(&unique("dpop-family"), "c", true);
        record.jkt = Some(format!("thumbprint-{n}"));
        record
    };
    let saves: Vec<_> = (0..8)
        .map(|n| {
            let (store, record) = (one.clone(), bound(n));
            tokio::spawn(async move { store.save_token(record.clone()).await.map(|()| record) })
        })
        .collect();
    for save in saves {
        let record = save.await.unwrap().unwrap();
        let read = other.access_token(&record.access_token).await.unwrap().unwrap();
        assert_eq!(read.jkt, record.jkt);
    }
    let old = bound(100);
    one.save_token(old.clone()).await.unwrap();
    let mut new = bound(101);
    new.family = old.family.clone();
    assert!(
        one.rotate_refresh_token(old.refresh_token.as_ref().unwrap(), new.clone())
            .await
            .unwrap()
    );
    assert_eq!(
        other.access_token(&new.access_token).await.unwrap().unwrap().jkt,
        new.jkt
    );

    let key = TokenHash::of(&unique("proof"));
    let uses: Vec<_> = (0..16)
        .map(|n| {
            let store = if n % 2 == 0 { one.clone() } else { other.clone() };
            tokio::spawn(async move { store.use_dpop_proof(&key, NOW + 60).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for task in uses {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1, "a proof was accepted {winners} times");
    // Kept until its time, then forgotten (its iat is out of the window by then).
    one.purge_expired(NOW + 59).await.unwrap();
    assert!(!other.use_dpop_proof(&key, NOW + 60).await.unwrap());
    one.purge_expired(NOW + 60).await.unwrap();
    assert!(other.use_dpop_proof(&key, NOW + 60).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dpop_bindings_and_proofs_on_a_sqlite_file() {
    let db = TempDb::new();
    let one = SqlStore::connect(&db.url()).await.unwrap();
    let other = SqlStore::connect(&db.url()).await.unwrap();
    dpop_bindings_and_proofs(&one, &other).await;
    one.close().await;
    other.close().await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dpop_bindings_and_proofs_on_postgres() {
    let Some(db) = pg::TestDatabase::create().await else {
        return;
    };
    let one = SqlStore::connect(&db.url).await.unwrap();
    let other = SqlStore::connect(&db.url).await.unwrap();
    dpop_bindings_and_proofs(&one, &other).await;
    one.close().await;
    other.close().await;
}

/// `sqlite::memory:` (or `sqlite://:memory:`) is a database of the store's
/// own, shared by its connections only, that rolls a failed write back.
#[tokio::test]
async fn each_in_memory_store_is_a_database_of_its_own() {
    let one = SqlStore::connect(MEMORY).await.unwrap();
    let other = SqlStore::connect("sqlite://:memory:").await.unwrap();
    one.upsert_client(&ClientRecord::confidential("only-in-one", "s3cret"))
        .await
        .unwrap();
    assert!(one.client("only-in-one").await.unwrap().is_some());
    assert_eq!(other.client("only-in-one").await.unwrap(), None);
    let (token, _, _) = token(&unique("family"), "only-in-one", true);
    one.save_token(token.clone()).await.unwrap();
    assert!(one.save_token(token.clone()).await.is_err());
    assert_eq!(one.access_token(&token.access_token).await.unwrap(), Some(token));
    one.close().await;
    other.close().await;
}
