//! `refresh_token` without a grant that issues refresh tokens.
use std::io::Error;

use granted::{ClientRecord, TokenHash, TokenRecord};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credentials, refresh_token))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn refresh_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn rotate_refresh_token(&self, _: &TokenHash, _: TokenRecord) -> Result<bool, Error> { todo!() }
}

fn main() {}
