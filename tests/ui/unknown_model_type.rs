//! A misspelt model type: one error, at the name, and none from the code
//! that builds the server.
use std::io::Error;

use granted::{ClientRecord, TokenHash, TokenRecord};

struct Store;

#[granted::server(client = ClientRecords, token = TokenRecord, grants(client_credentials))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
}

fn main() {
    let _server = Store.into_server();
}
