//! One mistake in the attribute (a misspelt grant), one error: the rest of
//! the crate, which builds and uses the server, is not reported on top.
use std::io::Error;

use granted::http::{HeaderMap, Method};
use granted::{ClientRecord, Request, TokenHash, TokenRecord};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credential))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
}

async fn serve() {
    let server = Store.into_server();
    let headers = HeaderMap::new();
    let _ = server.token(&Request::new(&Method::POST, &headers)).await;
    let _ = server.policy().grants();
}

fn main() {
    drop(serve());
}
