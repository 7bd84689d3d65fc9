//! An OpenID provider built without its issuer: `into_server` takes it.
use std::io::Error;

use granted::{ClientRecord, CodeRecord, KeyRing, TokenHash, TokenRecord, UserClaims};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, code = CodeRecord, grants(authorization_code), openid)]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn save_code(&self, _: CodeRecord) -> Result<(), Error> { todo!() }
    async fn take_code(&self, _: &TokenHash) -> Result<Option<CodeRecord>, Error> { todo!() }
    async fn user_claims(&self, _: &str) -> Result<Option<UserClaims>, Error> { todo!() }
}

fn main() {
    let _server = Store.into_server(KeyRing::default());
}
