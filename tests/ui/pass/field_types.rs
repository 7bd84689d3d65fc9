//! Every field type the derives document (`oauth-macros/docs/field-types.md`)
//! besides the usual ones: each model round-trips its runtime record.
#![deny(warnings)]

use granted::model::{ClientModel, CodeModel, TokenModel, UserModel};
use granted::{AuthMethod, CodeRecord, PkceMethod, Scope, TokenHash, TokenRecord};

#[derive(granted::Client)]
struct BoxedClient {
    #[oauth(client_id)]
    id: Box<str>,
    #[oauth(client_secret)]
    secret_hash: Option<Box<str>>,
    #[oauth(redirect_uris)]
    redirect_uris: Box<[String]>,
    #[oauth(grant_types)]
    grant_types: String,
    #[oauth(scope)]
    scope: Scope,
    #[oauth(token_endpoint_auth_method)]
    auth_method: AuthMethod,
}

#[derive(granted::Client)]
struct StaticClient {
    #[oauth(client_id)]
    id: &'static str,
    #[oauth(client_secret)]
    secret_hash: Option<String>,
    #[oauth(redirect_uris)]
    redirect_uris: Vec<String>,
    #[oauth(grant_types)]
    grant_types: Vec<String>,
    #[oauth(scope)]
    scope: String,
    #[oauth(token_endpoint_auth_method)]
    auth_method: Option<String>,
}

#[derive(granted::Token)]
struct BytesToken {
    #[oauth(access_token)]
    access: Vec<u8>,
    #[oauth(refresh_token)]
    refresh: Option<Vec<u8>>,
    #[oauth(client_id)]
    client_id: Box<str>,
    #[oauth(subject)]
    subject: Option<Box<str>>,
    #[oauth(scope)]
    scope: Vec<String>,
    #[oauth(family)]
    family: Box<str>,
    #[oauth(issued_at)]
    issued_at: u64,
    #[oauth(expires_at)]
    expires_at: u64,
    #[oauth(refresh_expires_at)]
    refresh_expires_at: Option<u64>,
    #[oauth(rotated)]
    rotated: bool,
    #[oauth(refresh_scope)]
    refresh_scope: Option<Vec<String>>,
    note: String,
}

#[derive(granted::Token)]
struct HashToken {
    #[oauth(access_token)]
    access: TokenHash,
    #[oauth(refresh_token)]
    refresh: Option<TokenHash>,
    #[oauth(client_id)]
    client_id: String,
    #[oauth(scope)]
    scope: Scope,
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
    refresh_scope: Option<Scope>,
}

#[derive(granted::AuthorizationCode)]
struct Code {
    #[oauth(code)]
    code: TokenHash,
    #[oauth(client_id)]
    client_id: Box<str>,
    #[oauth(redirect_uri)]
    redirect_uri: Option<Box<str>>,
    #[oauth(scope)]
    scope: Scope,
    #[oauth(subject)]
    subject: Box<str>,
    #[oauth(code_challenge)]
    code_challenge: Option<String>,
    #[oauth(code_challenge_method)]
    code_challenge_method: Option<PkceMethod>,
    #[oauth(expires_at)]
    expires_at: u64,
    #[oauth(nonce)]
    nonce: Option<Box<str>>,
    #[oauth(auth_time)]
    auth_time: Option<u64>,
}

#[derive(granted::User)]
struct Account {
    #[oauth(subject)]
    id: Box<str>,
    #[oauth(username)]
    login: &'static str,
    #[oauth(password_hash)]
    password_hash: String,
}

fn token_record() -> TokenRecord {
    TokenRecord {
        access_token: TokenHash::of("access"),
        refresh_token: Some(TokenHash::of("refresh")),
        client_id: "web".into(),
        subject: Some("alice".into()),
        scope: Scope::parse("read write").unwrap(),
        refresh_scope: Some(Scope::parse("read write admin").unwrap()),
        jkt: None,
        family: "f".into(),
        issued_at: 1_700_000_000,
        expires_at: 1_700_003_600,
        refresh_expires_at: Some(1_702_592_000),
        rotated: true,
    }
}

fn main() {
    let client = BoxedClient {
        id: "web".into(),
        secret_hash: None,
        redirect_uris: vec!["https://a.example/cb".to_owned()].into_boxed_slice(),
        grant_types: "authorization_code refresh_token".into(),
        scope: Scope::parse("read").unwrap(),
        auth_method: AuthMethod::None,
    };
    assert_eq!(client.client_id(), "web");
    assert_eq!(client.grant_types().count(), 2);
    assert_eq!(client.auth_method(), Some(AuthMethod::None));
    let client = StaticClient {
        id: "svc",
        secret_hash: Some("hash".into()),
        redirect_uris: Vec::new(),
        grant_types: vec!["client_credentials".into()],
        scope: "read".into(),
        auth_method: Some("client_secret_post".into()),
    };
    assert_eq!(client.auth_method(), Some(AuthMethod::ClientSecretPost));

    let record = token_record();
    let bytes = BytesToken::from_record(record.clone());
    assert!(bytes.note.is_empty());
    assert_eq!(bytes.into_record().unwrap(), record);
    // Without a `subject` field, the token keeps no user.
    let without_subject = TokenRecord {
        subject: None,
        ..record.clone()
    };
    assert_eq!(HashToken::from_record(record).into_record().unwrap(), without_subject);

    let code = CodeRecord {
        code: TokenHash::of("code"),
        client_id: "web".into(),
        redirect_uri: Some("https://a.example/cb".into()),
        scope: Scope::parse("openid").unwrap(),
        subject: "alice".into(),
        code_challenge: Some("c".repeat(43)),
        code_challenge_method: Some(PkceMethod::S256),
        nonce: Some("n".into()),
        auth_time: Some(1_700_000_000),
        expires_at: 1_700_000_060,
    };
    assert_eq!(Code::from_record(code.clone()).into_record().unwrap(), code);

    let account = Account {
        id: "alice".into(),
        login: "alice",
        password_hash: "$argon2id$...".into(),
    };
    assert_eq!((account.subject(), account.username()), ("alice", "alice"));
    assert!(!account.password_hash().is_empty());
}
