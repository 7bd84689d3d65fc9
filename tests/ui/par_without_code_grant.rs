//! A pushed authorization request is an authorization request of the code flow.
use std::io::Error;

use granted::{ClientRecord, PushedRequest, TokenHash, TokenRecord};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credentials), par(required))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn save_pushed_request(&self, _: PushedRequest) -> Result<(), Error> { todo!() }
    async fn take_pushed_request(&self, _: &TokenHash, _: &str) -> Result<Option<PushedRequest>, Error> { todo!() }
}

fn main() {}
