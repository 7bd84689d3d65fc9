//! A misspelt option of `dpop`.
use std::io::Error;

use granted::{ClientRecord, TokenHash, TokenRecord};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credentials), dpop(requird))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn use_dpop_proof(&self, _: &TokenHash, _: i64) -> Result<bool, Error> { todo!() }
}

fn main() {}
