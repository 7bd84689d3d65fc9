//! `refresh_token` is enabled, but the token model cannot hold refresh tokens.
use std::io::Error;

use granted::{ClientRecord, CodeRecord, TokenHash};

#[derive(granted::Token)]
struct Token {
    #[oauth(access_token)]
    access_token_hash: String,
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
}

struct Store;

#[granted::server(client = ClientRecord, token = Token, code = CodeRecord, grants(authorization_code, refresh_token))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: Token) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<Token>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn save_code(&self, _: CodeRecord) -> Result<(), Error> { todo!() }
    async fn take_code(&self, _: &TokenHash) -> Result<Option<CodeRecord>, Error> { todo!() }
    async fn refresh_token(&self, _: &TokenHash) -> Result<Option<Token>, Error> { todo!() }
    async fn rotate_refresh_token(&self, _: &TokenHash, _: Token) -> Result<bool, Error> { todo!() }
}

fn main() {}
