//! The password grant without its opt-in.
use std::io::Error;

use granted::{ClientRecord, TokenHash, TokenRecord, UserRecord};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, user = UserRecord, grants(password))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn user_by_username(&self, _: &str) -> Result<Option<UserRecord>, Error> { todo!() }
}

fn main() {}
