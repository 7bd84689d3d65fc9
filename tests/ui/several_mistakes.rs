//! Three mistakes, three errors: a misspelt grant, a zero TTL, and a missing method.
use std::io::Error;

use granted::{ClientRecord, TokenHash, TokenRecord};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credentials, refresh), code_ttl = "0s")]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
}

fn main() {}
