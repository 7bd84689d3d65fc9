//! All four grants on the user's own types, warning-free under
//! `#![deny(warnings)]` and `#![forbid(unsafe_code)]`; `main` runs one
//! `client_credentials` request through the generated server.
#![deny(warnings)]
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use granted::http::header::CONTENT_TYPE;
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::{Request, TokenHash};

#[derive(granted::Client, Clone)]
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
}

#[derive(granted::Token, Clone)]
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
    scope: String,
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
}

#[derive(granted::AuthorizationCode, Clone)]
struct Code {
    #[oauth(code)]
    code_hash: String,
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
    #[oauth(expires_at)]
    expires_at: i64,
}

#[derive(granted::User, Clone)]
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
        f.write_str("the store is poisoned")
    }
}

impl std::error::Error for StoreError {}

#[derive(Default)]
struct Tables {
    clients: HashMap<String, App>,
    tokens: Vec<Token>,
    codes: Vec<Code>,
    users: Vec<Account>,
}

#[derive(Default)]
struct Store(Mutex<Tables>);

impl Store {
    fn tables(&self) -> Result<MutexGuard<'_, Tables>, StoreError> {
        self.0.lock().map_err(|_| StoreError)
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
)]
impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        Ok(self.tables()?.clients.get(client_id).cloned())
    }

    async fn save_token(&self, token: Token) -> Result<(), StoreError> {
        self.tables()?.tokens.push(token);
        Ok(())
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> {
        let hash = hash.to_string();
        let tables = self.tables()?;
        Ok(tables.tokens.iter().find(|t| t.access_token_hash == hash).cloned())
    }

    async fn revoke_token_family(&self, family: &str) -> Result<(), StoreError> {
        self.tables()?.tokens.retain(|t| t.family != family);
        Ok(())
    }

    async fn save_code(&self, code: Code) -> Result<(), StoreError> {
        self.tables()?.codes.push(code);
        Ok(())
    }

    async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, StoreError> {
        let hash = hash.to_string();
        let mut tables = self.tables()?;
        let found = tables.codes.iter().position(|c| c.code_hash == hash);
        Ok(found.map(|i| tables.codes.remove(i)))
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> {
        let hash = Some(hash.to_string());
        let tables = self.tables()?;
        Ok(tables.tokens.iter().find(|t| t.refresh_token_hash == hash).cloned())
    }

    async fn rotate_refresh_token(&self, old: &TokenHash, new: Token) -> Result<bool, StoreError> {
        let old = Some(old.to_string());
        let mut tables = self.tables()?;
        match tables.tokens.iter_mut().find(|t| t.refresh_token_hash == old) {
            Some(token) if !token.rotated => token.rotated = true,
            _ => return Ok(false),
        }
        tables.tokens.push(new);
        Ok(true)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.tables()?.users.iter().find(|u| u.login == username).cloned())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::default();
    store.tables()?.clients.insert(
        "svc".to_owned(),
        App {
            id: "svc".to_owned(),
            secret_hash: Some(granted::hash_client_secret("s3cret")),
            redirect_uris: Vec::new(),
            grant_types: vec!["client_credentials".to_owned()],
            scope: "read write".to_owned(),
            auth_method: "client_secret_post".to_owned(),
        },
    );
    let server = store.into_server();
    assert_eq!(server.policy().grants().len(), 4);

    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let body = b"grant_type=client_credentials&client_id=svc&client_secret=s3cret&scope=read";
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let response = runtime.block_on(server.token(&Request::new(&Method::POST, &headers).with_body(body)));
    assert_eq!(response.status(), 200, "{}", response.json());
    let json = response.json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 900);
    assert_eq!(json["scope"], "read");
    assert!(json.get("refresh_token").is_none());
    assert_eq!(server.storage().tables()?.tokens.len(), 1);
    Ok(())
}
