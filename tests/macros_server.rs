//! A server built with the macros on the user's own types: the derives on
//! the models, `#[granted::server]` on a store of plain `HashMap`s, and every
//! grant driven through `into_server().token(...)`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use granted::http::header::CONTENT_TYPE;
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::{
    GrantType, KeyRing, NewToken, Params, PkcePolicy, Request, Server, SigningAlg, SigningKey, TokenHash,
    UserClaims, now, pkce,
};
use serde_json::Value;

#[derive(granted::Client, Clone, Debug)]
struct App {
    #[oauth(client_id)]
    id: String,
    #[oauth(client_secret)]
    secret_hash: Option<String>,
    #[oauth(redirect_uris)]
    redirect_uris: Vec<String>,
    #[oauth(grant_types)]
    grant_types: Vec<String>,
    #[oauth(scope)]
    scope: String,
    #[oauth(token_endpoint_auth_method)]
    auth_method: String,
    /// Not an OAuth field: ignored by the derive.
    display_name: String,
}

#[derive(granted::Token, Clone, Debug)]
struct Token {
    #[oauth(access_token)]
    access_token_hash: String,
    #[oauth(refresh_token)]
    refresh_token_hash: Option<String>,
    #[oauth(client_id)]
    client_id: String,
    #[oauth(subject)]
    subject: Option<String>,
    #[oauth(scope)]
    scope: Vec<String>,
    #[oauth(family)]
    family: String,
    #[oauth(issued_at)]
    issued_at: i64,
    #[oauth(expires_at)]
    expires_at: i64,
    #[oauth(refresh_expires_at)]
    refresh_expires_at: Option<i64>,
    #[oauth(rotated)]
    rotated: bool,
    #[oauth(refresh_scope)]
    refresh_scope: Option<String>,
    /// Not an OAuth field: `Default::default()` when the runtime issues a token.
    note: String,
}

#[derive(granted::AuthorizationCode, Clone, Debug)]
struct Code {
    #[oauth(code)]
    code_hash: TokenHash,
    #[oauth(client_id)]
    client_id: String,
    #[oauth(redirect_uri)]
    redirect_uri: Option<String>,
    #[oauth(scope)]
    scope: String,
    #[oauth(subject)]
    subject: String,
    #[oauth(code_challenge)]
    code_challenge: Option<String>,
    #[oauth(code_challenge_method)]
    code_challenge_method: Option<String>,
    #[oauth(nonce)]
    nonce: Option<String>,
    #[oauth(auth_time)]
    auth_time: Option<i64>,
    #[oauth(expires_at)]
    expires_at: i64,
}

#[derive(granted::User, Clone, Debug)]
struct Account {
    #[oauth(subject)]
    id: String,
    #[oauth(username)]
    login: String,
    #[oauth(password_hash)]
    password_hash: String,
}

#[derive(Debug)]
struct StoreError;

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the store is unusable after a panic")
    }
}

impl std::error::Error for StoreError {}

#[derive(Default)]
struct Tables {
    clients: HashMap<String, App>,
    /// By access token hash.
    tokens: HashMap<String, Token>,
    /// Revoked families: a token saved into one later is dropped.
    revoked_families: HashSet<String>,
    codes: HashMap<TokenHash, Code>,
    /// By login.
    users: HashMap<String, Account>,
    /// By subject.
    claims: HashMap<String, UserClaims>,
}

#[derive(Default)]
struct Store {
    tables: Mutex<Tables>,
}

impl Store {
    fn tables(&self) -> Result<MutexGuard<'_, Tables>, StoreError> {
        self.tables.lock().map_err(|_| StoreError)
    }
}

#[granted::server(
    client = App,
    token = Token,
    code = Code,
    user = Account,
    grants(
        authorization_code(pkce = "S256"),
        refresh_token(rotate = true),
        client_credentials,
        password(allow_insecure),
    ),
    access_token_ttl = "15m",
    refresh_token_ttl = "7d",
    code_ttl = "30s",
    scopes = "read write",
    openid(signing = "ES256"),
)]
impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        Ok(self.tables()?.clients.get(client_id).cloned())
    }

    async fn save_token(&self, token: Token) -> Result<(), StoreError> {
        let mut tables = self.tables()?;
        if !tables.revoked_families.contains(&token.family) {
            tables.tokens.insert(token.access_token_hash.clone(), token);
        }
        Ok(())
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> {
        Ok(self.tables()?.tokens.get(&hash.to_string()).cloned())
    }

    async fn revoke_token_family(&self, family: &str) -> Result<(), StoreError> {
        let mut tables = self.tables()?;
        tables.tokens.retain(|_, token| token.family != family);
        tables.revoked_families.insert(family.to_owned());
        Ok(())
    }

    async fn save_code(&self, code: Code) -> Result<(), StoreError> {
        self.tables()?.codes.insert(code.code_hash, code);
        Ok(())
    }

    async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, StoreError> {
        Ok(self.tables()?.codes.remove(hash))
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> {
        let hash = Some(hash.to_string());
        let tables = self.tables()?;
        Ok(tables
            .tokens
            .values()
            .find(|t| t.refresh_token_hash == hash)
            .cloned())
    }

    async fn rotate_refresh_token(&self, old: &TokenHash, new: Token) -> Result<bool, StoreError> {
        let old = Some(old.to_string());
        let mut tables = self.tables()?;
        match tables.tokens.values_mut().find(|t| t.refresh_token_hash == old) {
            Some(token) if !token.rotated => token.rotated = true,
            _ => return Ok(false),
        }
        tables.tokens.insert(new.access_token_hash.clone(), new);
        Ok(true)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.tables()?.users.get(username).cloned())
    }

    async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, StoreError> {
        Ok(self.tables()?.claims.get(subject).cloned())
    }

    /// Not a storage method: the attribute leaves it alone.
    fn live_tokens(&self) -> usize {
        self.tables().map_or(0, |t| t.tokens.len())
    }
}

const REDIRECT: &str = "http://127.0.0.1:9000/cb";
const VERIFIER: &str = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag";

fn client(id: &str, grant_types: &[&str]) -> App {
    App {
        id: id.to_owned(),
        secret_hash: Some(granted::hash_client_secret(&format!("{id}-secret"))),
        redirect_uris: vec![REDIRECT.to_owned()],
        grant_types: grant_types.iter().map(|g| (*g).to_owned()).collect(),
        scope: "read write".to_owned(),
        auth_method: "client_secret_post".to_owned(),
        display_name: format!("The {id} app"),
    }
}

fn server() -> Server<Store> {
    let store = Store::default();
    {
        let mut tables = store.tables().unwrap();
        tables
            .clients
            .insert("svc".into(), client("svc", &["client_credentials"]));
        tables.clients.insert(
            "web".into(),
            client("web", &["authorization_code", "refresh_token", "password"]),
        );
        tables.users.insert(
            "alice".into(),
            Account {
                id: "user-alice".into(),
                login: "alice".into(),
                password_hash: granted::hash_password("wonderland").unwrap(),
            },
        );
    }
    store.tables().unwrap().claims.insert(
        "user-alice".into(),
        UserClaims::from_json(serde_json::json!({"name": "Alice", "email": "alice@example.com"})).unwrap(),
    );
    store.into_server(
        KeyRing::new([SigningKey::generate(SigningAlg::Es256).unwrap()]),
        "https://as.example",
    )
}

/// Posts a token request for `client` (client_secret_post).
async fn post(server: &Server<Store>, client: &str, params: &str) -> (u16, Value) {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let body = format!("client_id={client}&client_secret={client}-secret&{params}");
    let response = server
        .token(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await;
    (response.status().as_u16(), response.json())
}

fn text<'a>(json: &'a Value, key: &str) -> &'a str {
    json[key].as_str().unwrap_or_default()
}

fn stored(server: &Server<Store>, access_token: &str) -> Option<Token> {
    let hash = TokenHash::of(access_token).to_string();
    server.storage().tables().unwrap().tokens.get(&hash).cloned()
}

#[test]
fn the_policy_is_the_declared_one() {
    let server = server();
    let policy = server.policy();
    assert_eq!(
        policy.grants(),
        [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
            GrantType::Password
        ]
    );
    assert_eq!(policy.pkce(), PkcePolicy::S256);
    assert!(policy.rotates_refresh_tokens());
    assert_eq!(policy.access_token_ttl(), Duration::from_secs(15 * 60));
    assert_eq!(policy.refresh_token_ttl(), Duration::from_secs(7 * 86_400));
    assert_eq!(policy.code_ttl(), Duration::from_secs(30));
    assert_eq!(policy.scopes_supported(), ["read", "write"]);
    assert_eq!(policy.openid(), Some(SigningAlg::Es256));
    let tables = server.storage().tables().unwrap();
    assert_eq!(tables.clients["svc"].display_name, "The svc app");
}

#[tokio::test]
async fn client_credentials_issues_an_access_token_only() {
    let server = server();
    let (status, json) = post(&server, "svc", "grant_type=client_credentials&scope=read").await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 900);
    assert_eq!(json["scope"], "read");
    assert!(json.get("refresh_token").is_none());

    let token = stored(&server, text(&json, "access_token")).unwrap();
    assert_eq!(token.client_id, "svc");
    assert_eq!(token.subject, None);
    assert_eq!(token.scope, ["read"]);
    assert_eq!(token.expires_at - token.issued_at, 900);
    assert_eq!(token.refresh_token_hash, None);
    assert_eq!(token.note, "");

    let (status, json) = post(&server, "svc", "grant_type=password&username=alice&password=x").await;
    assert_eq!(status, 400);
    assert_eq!(json["error"], "unauthorized_client");
}

#[tokio::test]
async fn password_issues_tokens_for_the_user() {
    let server = server();
    let (status, json) = post(
        &server,
        "web",
        "grant_type=password&username=alice&password=wonderland&scope=read+write",
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["scope"], "read write");
    assert_eq!(json["expires_in"], 900);
    assert!(json["refresh_token"].is_string());

    let token = stored(&server, text(&json, "access_token")).unwrap();
    assert_eq!(token.subject.as_deref(), Some("user-alice"));
    assert_eq!(token.scope, ["read", "write"]);
    assert_eq!(
        token.refresh_expires_at.map(|t| t - token.issued_at),
        Some(7 * 86_400)
    );
    assert_eq!(
        token.refresh_token_hash,
        Some(TokenHash::of(text(&json, "refresh_token")).to_string())
    );

    let (status, wrong) = post(&server, "web", "grant_type=password&username=alice&password=nope").await;
    let (_, unknown) = post(&server, "web", "grant_type=password&username=bob&password=nope").await;
    assert_eq!(status, 400);
    assert_eq!(wrong["error"], "invalid_grant");
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let server = server();
    let (_, first) = post(
        &server,
        "web",
        "grant_type=password&username=alice&password=wonderland",
    )
    .await;
    let first_refresh = text(&first, "refresh_token").to_owned();

    let (status, second) = post(
        &server,
        "web",
        &format!("grant_type=refresh_token&refresh_token={first_refresh}"),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(text(&second, "refresh_token"), first_refresh);
    assert_eq!(second["scope"], "read write");
    assert!(stored(&server, text(&first, "access_token")).is_some_and(|t| t.rotated));
    assert_eq!(server.storage().live_tokens(), 2);

    // Reuse of the rotated token: refused, and the whole family is revoked.
    let (status, reuse) = post(
        &server,
        "web",
        &format!("grant_type=refresh_token&refresh_token={first_refresh}"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(reuse["error"], "invalid_grant");
    assert_eq!(server.storage().live_tokens(), 0);
    let (_, newest) = post(
        &server,
        "web",
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            text(&second, "refresh_token")
        ),
    )
    .await;
    assert_eq!(newest["error"], "invalid_grant");
}

/// A narrowing refresh stores the refresh token's own scope in the user's
/// `#[oauth(refresh_scope)]` field, and the next refresh reads it back.
#[tokio::test]
async fn a_narrowing_refresh_keeps_the_refresh_scope_in_the_users_field() {
    let server = server();
    let (_, first) = post(
        &server,
        "web",
        "grant_type=password&username=alice&password=wonderland",
    )
    .await;
    let (status, narrowed) = post(
        &server,
        "web",
        &format!(
            "grant_type=refresh_token&refresh_token={}&scope=read",
            text(&first, "refresh_token")
        ),
    )
    .await;
    assert_eq!(status, 200, "{narrowed}");
    assert_eq!(narrowed["scope"], "read");
    let token = stored(&server, text(&narrowed, "access_token")).unwrap();
    assert_eq!(token.scope, ["read"]);
    assert_eq!(token.refresh_scope.as_deref(), Some("read write"));
    let (status, restored) = post(
        &server,
        "web",
        &format!(
            "grant_type=refresh_token&refresh_token={}&scope=read+write",
            text(&narrowed, "refresh_token")
        ),
    )
    .await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["scope"], "read write");
    assert_eq!(
        stored(&server, text(&restored, "access_token"))
            .unwrap()
            .refresh_scope,
        None
    );
}

/// Stores a code as the authorization endpoint will, through the user's
/// own `save_code`, and returns its value.
async fn issue_code(server: &Server<Store>, challenge: &str) -> String {
    let code = NewToken::generate().unwrap();
    server
        .storage()
        .save_code(Code {
            code_hash: code.hash(),
            client_id: "web".into(),
            redirect_uri: Some(REDIRECT.into()),
            scope: "read".into(),
            subject: "user-alice".into(),
            code_challenge: Some(challenge.to_owned()),
            code_challenge_method: Some("S256".into()),
            nonce: None,
            auth_time: None,
            expires_at: now() + 30,
        })
        .await
        .unwrap();
    code.into_value()
}

#[tokio::test]
async fn an_authorization_code_is_redeemed_once_with_pkce() {
    let server = server();
    let code = issue_code(&server, &pkce::s256_challenge(VERIFIER)).await;
    let redeem = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcb&code_verifier={VERIFIER}"
    );
    let (status, json) = post(&server, "web", &redeem).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["scope"], "read");
    assert_eq!(json["token_type"], "Bearer");
    assert!(json["refresh_token"].is_string());
    let issued = stored(&server, text(&json, "access_token")).unwrap();
    assert_eq!(issued.subject.as_deref(), Some("user-alice"));

    // A replay is refused and revokes what the code issued.
    let (status, replay) = post(&server, "web", &redeem).await;
    assert_eq!(status, 400);
    assert_eq!(replay["error"], "invalid_grant");
    assert!(stored(&server, text(&json, "access_token")).is_none());
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_invalid_grant() {
    let server = server();
    let code = issue_code(&server, &pkce::s256_challenge(VERIFIER)).await;
    let wrong = "x".repeat(43);
    let (status, json) = post(
        &server,
        "web",
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcb&code_verifier={wrong}"
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(json["error"], "invalid_grant");
    assert_eq!(server.storage().live_tokens(), 0);
}

#[tokio::test]
async fn openid_issues_an_id_token_and_serves_userinfo() {
    let server = server();
    server
        .storage()
        .tables()
        .unwrap()
        .clients
        .get_mut("web")
        .unwrap()
        .scope = "openid email read".into();
    let query = format!(
        "response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcb&scope=openid%20email\
         &nonce=n-1&code_challenge={}&code_challenge_method=S256",
        pkce::s256_challenge(VERIFIER)
    );
    let pending = server
        .validate_authorization(&Params::parse(query.as_bytes()).unwrap())
        .await
        .unwrap();
    let code = server.approve(&pending, "user-alice", None).await.unwrap();
    // The issuer given to `into_server` is the `iss` of the authorization
    // response and of the id_token.
    assert_eq!(code.param("iss"), Some("https://as.example"));
    let redeem = format!(
        "grant_type=authorization_code&code={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcb&code_verifier={VERIFIER}",
        code.param("code").unwrap()
    );
    let (status, json) = post(&server, "web", &redeem).await;
    assert_eq!(status, 200, "{json}");
    let id_token = text(&json, "id_token");
    let part = |n: usize| -> Value {
        let part = id_token.split('.').nth(n).unwrap();
        serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part).unwrap(),
        )
        .unwrap()
    };
    let header = part(0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(part(1)["iss"], "https://as.example");
    let kids: Vec<Value> = server.signing_keys().jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert_eq!(kids, [header["kid"].clone()]);

    let mut headers = HeaderMap::new();
    let bearer = format!("Bearer {}", text(&json, "access_token"));
    headers.insert(
        granted::http::header::AUTHORIZATION,
        HeaderValue::from_str(&bearer).unwrap(),
    );
    let userinfo = server.userinfo(&Request::new(&Method::GET, &headers)).await;
    assert_eq!(
        userinfo.json(),
        serde_json::json!({"sub": "user-alice", "email": "alice@example.com"})
    );
    let metadata = serde_json::to_value(server.metadata("https://as.example", &Default::default())).unwrap();
    assert_eq!(
        metadata["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
}

/// The store follows the storage rules of every trait its grants made it
/// implement (`#[granted::server]` declares them to the kit: codes and
/// refresh tokens here).
#[cfg(feature = "testing")]
#[tokio::test(flavor = "multi_thread")]
async fn the_store_follows_the_storage_rules_its_grants_declare() {
    use granted::testing::{Rule, check_storage};
    let report = check_storage(|| async { Store::default() }).await;
    report.assert_passed();
    for rule in [Rule::TakeCodeIsAtomic, Rule::RotateRefreshTokenIsAtomic] {
        assert!(report.held().contains(&rule), "{rule} did not run: {report}");
    }
    assert!(!report.held().contains(&Rule::SessionsLiveUntilTheyEnd));
}
