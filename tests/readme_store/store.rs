#[derive(granted::Client, Clone)]
struct App {
    #[oauth(client_id)] id: String,
    #[oauth(client_secret)] secret_hash: Option<String>,   // None => public client
    #[oauth(redirect_uris)] redirects: Vec<String>,
    #[oauth(grant_types)] grants: Vec<String>,
    #[oauth(scope)] scope: String,
}

#[derive(granted::Token, Clone)]
struct Token {
    #[oauth(access_token)] hash: TokenHash,              // a digest: never the token itself
    #[oauth(client_id)] client_id: String,
    #[oauth(scope)] scope: String,
    #[oauth(family)] family: String,
    #[oauth(issued_at)] issued_at: i64,
    #[oauth(expires_at)] expires_at: i64,
}

#[derive(Default)]
struct Tokens {
    issued: Vec<Token>,
    // Revoked families stay revoked: a token saved into one later is dropped
    // (a real store forgets them after `granted::storage::REVOKED_FAMILY_RETENTION_SECS`).
    revoked_families: HashSet<String>,
}

#[derive(Default)]
struct Store {
    clients: HashMap<String, App>,
    tokens: Mutex<Tokens>,
}

#[granted::server(client = App, token = Token, grants(client_credentials), access_token_ttl = "15m")]
impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<App>, io::Error> {
        Ok(self.clients.get(client_id).cloned())
    }
    async fn save_token(&self, token: Token) -> Result<(), io::Error> {
        let mut tokens = self.tokens()?;
        if !tokens.revoked_families.contains(&token.family) {
            tokens.issued.push(token);
        }
        Ok(())
    }
    async fn access_token(&self, hash: &TokenHash) -> Result<Option<Token>, io::Error> {
        Ok(self.tokens()?.issued.iter().find(|t| t.hash == *hash).cloned())
    }
    async fn revoke_token_family(&self, family: &str) -> Result<(), io::Error> {
        let mut tokens = self.tokens()?;
        tokens.issued.retain(|t| t.family != family);
        tokens.revoked_families.insert(family.to_owned());
        Ok(())
    }

    fn tokens(&self) -> Result<MutexGuard<'_, Tokens>, io::Error> {
        self.tokens.lock().map_err(|_| io::Error::other("poisoned"))
    }
}
