//! With `openid`, the code model must keep `nonce` and `auth_time`.
use std::io::Error;

use granted::{ClientRecord, TokenHash, TokenRecord, UserClaims};

#[derive(granted::AuthorizationCode)]
struct Code {
    #[oauth(code)]
    code: TokenHash,
    #[oauth(client_id)]
    client_id: String,
    #[oauth(redirect_uri)]
    redirect_uri: Option<String>,
    #[oauth(scope)]
    scope: String,
    #[oauth(subject)]
    subject: String,
    #[oauth(code_challenge)]
    code_challenge: Option<String>,
    #[oauth(code_challenge_method)]
    code_challenge_method: Option<String>,
    #[oauth(expires_at)]
    expires_at: i64,
}

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, code = Code, grants(authorization_code), openid)]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn save_code(&self, _: Code) -> Result<(), Error> { todo!() }
    async fn take_code(&self, _: &TokenHash) -> Result<Option<Code>, Error> { todo!() }
    async fn user_claims(&self, _: &str) -> Result<Option<UserClaims>, Error> { todo!() }
}

fn main() {}
