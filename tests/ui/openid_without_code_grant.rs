//! OpenID Connect logs users in through the code flow.
use std::io::Error;

use granted::{ClientRecord, TokenHash, TokenRecord, UserClaims};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credentials), openid)]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn user_claims(&self, _: &str) -> Result<Option<UserClaims>, Error> { todo!() }
}

fn main() {}
