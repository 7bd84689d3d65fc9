//! One mistake in a model derive (the client's secret field is not marked),
//! one error: the server using the model is not reported on top.
use std::io::Error;

use granted::{TokenHash, TokenRecord};

#[derive(granted::Client)]
struct App {
    #[oauth(client_id)]
    id: String,
    secret_hash: Option<String>,
    #[oauth(redirect_uris)]
    redirect_uris: Vec<String>,
    #[oauth(grant_types)]
    grant_types: Vec<String>,
    #[oauth(scope)]
    scope: String,
}

struct Store;

#[granted::server(client = App, token = TokenRecord, grants(client_credentials))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<App>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
}

fn main() {
    let _server = Store.into_server();
}
