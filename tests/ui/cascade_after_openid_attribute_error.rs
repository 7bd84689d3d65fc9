//! A mistake in an OpenID Connect server's attribute: `into_server(keys,
//! issuer)` and the authorization endpoint stay usable, one error.
use std::io::Error;

use granted::http::{HeaderMap, Method};
use granted::{ClientRecord, CodeRecord, KeyRing, Request, TokenHash, TokenRecord, UserClaims};

struct Store;

#[granted::server(
    client = ClientRecord, token = TokenRecord, code = CodeRecord,
    grants(authorization_code), openid, acess_token_ttl = "15m",
)]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn save_code(&self, _: CodeRecord) -> Result<(), Error> { todo!() }
    async fn take_code(&self, _: &TokenHash) -> Result<Option<CodeRecord>, Error> { todo!() }
    async fn user_claims(&self, _: &str) -> Result<Option<UserClaims>, Error> { todo!() }
}

async fn serve() {
    let server = Store.into_server(KeyRing::default(), "https://as.example");
    let headers = HeaderMap::new();
    let _ = server.authorize(&Request::new(&Method::GET, &headers)).await;
    let _ = server.userinfo(&Request::new(&Method::GET, &headers)).await;
}

fn main() {
    drop(serve());
}
