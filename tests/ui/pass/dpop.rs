//! `dpop(required)` with a derived token model that records the bound key:
//! the replay store is one more method. Warning-free under `#![deny(warnings)]`.
#![deny(warnings)]

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Mutex;

use granted::TokenHash;
use granted::model::TokenModel as _;

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
    #[oauth(jkt)]
    jkt: Option<String>,
}

#[derive(Default)]
struct Store {
    clients: HashMap<String, granted::ClientRecord>,
    tokens: Mutex<Vec<Token>>,
    proofs: Mutex<HashSet<TokenHash>>,
}

#[granted::server(client = granted::ClientRecord, token = Token, grants(client_credentials), dpop(required))]
impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<granted::ClientRecord>, io::Error> {
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

    async fn use_dpop_proof(&self, key: &TokenHash, _until: i64) -> Result<bool, io::Error> {
        Ok(self.proofs.lock().map_err(|_| io::Error::other("poisoned"))?.insert(*key))
    }
}

fn main() {
    let server = Store::default().into_server();
    assert_eq!(server.policy().dpop(), granted::DpopPolicy::Required);
    let paths = granted::EndpointPaths::default();
    let metadata = server.metadata("https://as.example", &paths);
    assert_eq!(metadata.dpop_signing_alg_values_supported, ["RS256", "ES256", "EdDSA"]);
    // The derive keeps the bound key.
    let record = granted::TokenRecord {
        access_token: TokenHash::of("a"),
        refresh_token: None,
        client_id: "c".into(),
        subject: None,
        scope: granted::Scope::empty(),
        refresh_scope: None,
        family: "f".into(),
        issued_at: 0,
        expires_at: 1,
        refresh_expires_at: None,
        rotated: false,
        jkt: Some("thumbprint".into()),
    };
    let token = Token::from_record(record.clone());
    assert_eq!(token.jkt.as_deref(), Some("thumbprint"));
    assert_eq!(token.into_record().unwrap(), record);
}
