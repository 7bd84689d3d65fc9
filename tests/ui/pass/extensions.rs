//! A derived client with the extensions' registration fields, and a server
//! declaring `par(required)` and `client_auth(private_key_jwt)`: the methods
//! they need, and the policy and metadata they give. Warning-free under
//! `#![deny(warnings)]`.
#![deny(warnings)]

use std::collections::HashMap;
use std::io;
use std::sync::Mutex;

use granted::model::ClientModel as _;
use granted::{AuthMethod, CodeRecord, EndpointPaths, ParPolicy, PushedRequest, TokenHash, TokenRecord};

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
    #[oauth(token_endpoint_auth_method)]
    auth_method: String,
    #[oauth(jwks)]
    jwks: Option<String>,
    #[oauth(require_pushed_authorization_requests)]
    require_par: bool,
}

#[derive(Default)]
struct Store {
    clients: HashMap<String, App>,
    pushed: Mutex<HashMap<TokenHash, PushedRequest>>,
    jtis: Mutex<HashMap<TokenHash, i64>>,
}

fn poisoned<T>(_: T) -> io::Error {
    io::Error::other("poisoned")
}

#[granted::server(
    client = App,
    token = TokenRecord,
    code = CodeRecord,
    grants(authorization_code),
    par(required),
    client_auth(private_key_jwt),
)]
impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<App>, io::Error> {
        Ok(self.clients.get(client_id).cloned())
    }
    async fn save_token(&self, _token: TokenRecord) -> Result<(), io::Error> {
        Ok(())
    }
    async fn access_token(&self, _hash: &TokenHash) -> Result<Option<TokenRecord>, io::Error> {
        Ok(None)
    }
    async fn revoke_token_family(&self, _family: &str) -> Result<(), io::Error> {
        Ok(())
    }
    async fn save_code(&self, _code: CodeRecord) -> Result<(), io::Error> {
        Ok(())
    }
    async fn take_code(&self, _hash: &TokenHash) -> Result<Option<CodeRecord>, io::Error> {
        Ok(None)
    }
    async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), io::Error> {
        self.pushed.lock().map_err(poisoned)?.insert(request.request_uri, request);
        Ok(())
    }
    async fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, io::Error> {
        let mut pushed = self.pushed.lock().map_err(poisoned)?;
        if pushed.get(request_uri).is_some_and(|p| p.client_id == client_id) {
            return Ok(pushed.remove(request_uri));
        }
        Ok(None)
    }
    async fn record_assertion_jti(&self, jti: &TokenHash, expires_at: i64) -> Result<bool, io::Error> {
        let mut jtis = self.jtis.lock().map_err(poisoned)?;
        Ok(jtis.insert(*jti, expires_at).is_none())
    }
}

fn main() {
    let app = App {
        id: "jwt".into(),
        secret_hash: None,
        redirect_uris: Vec::new(),
        grant_types: vec!["authorization_code".into()],
        scope: "read".into(),
        auth_method: "private_key_jwt".into(),
        jwks: Some(r#"{"keys": []}"#.into()),
        require_par: true,
    };
    assert_eq!(app.auth_method(), Some(AuthMethod::PrivateKeyJwt));
    assert_eq!(app.jwks(), Some(r#"{"keys": []}"#));
    assert!(app.requires_pushed_authorization_requests());

    let server = Store::default().into_server();
    assert_eq!(server.policy().par(), Some(ParPolicy::Required));
    assert!(server.policy().private_key_jwt());
    let metadata = server.metadata("https://as.example", &EndpointPaths::default());
    assert_eq!(
        metadata.pushed_authorization_request_endpoint.as_deref(),
        Some("https://as.example/oauth/par")
    );
    assert_eq!(metadata.require_pushed_authorization_requests, Some(true));
    assert!(metadata.token_endpoint_auth_methods_supported.contains(&"private_key_jwt"));
}
