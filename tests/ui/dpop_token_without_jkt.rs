//! `dpop` is declared, but the token model cannot record the bound key.
use std::io::Error;

use granted::{ClientRecord, TokenHash};

#[derive(granted::Token)]
struct Token {
    #[oauth(access_token)]
    access_token_hash: String,
    #[oauth(client_id)]
    client_id: String,
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

#[granted::server(client = ClientRecord, token = Token, grants(client_credentials), dpop)]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: Token) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<Token>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn use_dpop_proof(&self, _: &TokenHash, _: i64) -> Result<bool, Error> { todo!() }
}

fn main() {}
