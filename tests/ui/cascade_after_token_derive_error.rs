//! A token model whose derive fails (a misspelt role): one error, and the
//! grants that need its refresh fields are not reported on top.
use std::io::Error;

use granted::{ClientRecord, CodeRecord, TokenHash};

#[derive(granted::Token)]
struct Token {
    #[oauth(access_token)]
    hash: TokenHash,
    #[oauth(refresh_token)]
    refresh_hash: Option<TokenHash>,
    #[oauth(client_id)]
    client_id: String,
    #[oauth(subject)]
    subject: Option<String>,
    #[oauth(scope)]
    scope: String,
    #[oauth(familly)]
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

fn main() {
    let _server = Store.into_server();
}
