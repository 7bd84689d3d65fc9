//! The smallest server: `client_credentials` only, so only the four methods
//! every server needs. Warning-free under `#![deny(warnings)]`.
#![deny(warnings)]

use std::collections::HashMap;
use std::io;
use std::sync::Mutex;

use granted::TokenHash;

#[derive(granted::Client, Clone)]
struct App {
    #[oauth(client_id)]
    id: String,
    #[oauth(client_secret)]
    secret_hash: Option<String>,
    #[oauth(redirect_uris)]
    redirect_uris: Vec<String>,
    #[oauth(grant_types)]
    grant_types: Vec<String>,
    #[oauth(scope)]
    scope: String,
}

#[derive(granted::Token, Clone)]
struct Token {
    #[oauth(access_token)]
    hash: TokenHash,
    #[oauth(client_id)]
    client_id: String,
    #[oauth(scope)]
    scope: String,
    #[oauth(family)]
    family: String,
    #[oauth(issued_at)]
    issued_at: i64,
    #[oauth(expires_at)]
    expires_at: i64,
}

struct Store {
    clients: HashMap<String, App>,
    tokens: Mutex<Vec<Token>>,
}

#[granted::server(client = App, token = Token, grants(client_credentials))]
impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<App>, io::Error> {
        Ok(self.clients.get(client_id).cloned())
    }

    async fn save_token(&self, token: Token) -> Result<(), io::Error> {
        self.tokens.lock().map_err(|_| io::Error::other("poisoned"))?.push(token);
        Ok(())
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<Token>, io::Error> {
        let tokens = self.tokens.lock().map_err(|_| io::Error::other("poisoned"))?;
        Ok(tokens.iter().find(|t| t.hash == *hash).cloned())
    }

    async fn revoke_token_family(&self, family: &str) -> Result<(), io::Error> {
        self.tokens.lock().map_err(|_| io::Error::other("poisoned"))?.retain(|t| t.family != family);
        Ok(())
    }
}

fn main() {
    let server = Store {
        clients: HashMap::new(),
        tokens: Mutex::new(Vec::new()),
    }
    .into_server();
    assert!(server.policy().enables(granted::GrantType::ClientCredentials));
    assert!(!server.policy().enables(granted::GrantType::RefreshToken));
}
