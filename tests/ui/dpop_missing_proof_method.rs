//! `dpop` is declared, but `use_dpop_proof` (the replay store) is missing.
use std::io::Error;

use granted::{ClientRecord, TokenHash, TokenRecord};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credentials), dpop)]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
}

fn main() {}
