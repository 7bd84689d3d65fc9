//! The seed file (contract §3): clients and users upserted on start.

use std::path::Path;

use granted::{AuthMethod, ClientRecord, GrantType, UserClaims, UserRecord, hash_client_secret};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub clients: Vec<SeedClient>,
    #[serde(default)]
    pub users: Vec<SeedUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
    #[serde(default)]
    pub scope: String,
    pub token_endpoint_auth_method: Option<String>,
    /// A JWK Set: the client's public keys for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// Whether the client's authorization requests must be pushed (RFC 9126).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: the client must use DPoP.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    pub password: String,
    /// OpenID Connect standard claims, released by userinfo per scope.
    #[serde(default)]
    pub claims: UserClaims,
}

impl Seed {
    /// Reads and checks a seed file; errors are one line.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("seed file {}: {e}", path.display()))?;
        let seed: Seed =
            serde_json::from_str(&text).map_err(|e| format!("seed file {}: {e}", path.display()))?;
        for client in &seed.clients {
            client
                .check()
                .map_err(|e| format!("seed file {}: client `{}`: {e}", path.display(), client.client_id))?;
        }
        Ok(seed)
    }
}

impl SeedClient {
    fn check(&self) -> Result<(), String> {
        if self.client_id.is_empty() {
            return Err("client_id is empty".into());
        }
        for grant in &self.grant_types {
            if GrantType::from_name(grant).is_none() {
                return Err(format!(
                    "grant type `{grant}` is not enabled on this server (authorization_code, refresh_token, client_credentials, password, urn:ietf:params:oauth:grant-type:device_code)"
                ));
            }
        }
        for response_type in &self.response_types {
            if response_type != "code" {
                return Err(format!(
                    "response type `{response_type}` is not supported (only `code`)"
                ));
            }
        }
        let method = self.auth_method()?;
        self.check_jwks(method)?;
        match (method, &self.client_secret) {
            (AuthMethod::None, Some(_)) => Err("a client with a secret cannot use `none`".into()),
            (AuthMethod::None, None) => Ok(()),
            (AuthMethod::PrivateKeyJwt, Some(_)) => {
                Err("a client using `private_key_jwt` has keys (`jwks`), not a client_secret".into())
            }
            (AuthMethod::PrivateKeyJwt, None) => Ok(()),
            (_, None) => Err("a client without a secret must use token_endpoint_auth_method `none`".into()),
            (_, Some(_)) => Ok(()),
        }
    }

    /// `jwks` goes with `private_key_jwt`, and holds public keys only.
    fn check_jwks(&self, method: AuthMethod) -> Result<(), String> {
        let Some(jwks) = &self.jwks else {
            return match method {
                AuthMethod::PrivateKeyJwt => Err("a client using `private_key_jwt` needs `jwks`".into()),
                _ => Ok(()),
            };
        };
        if method != AuthMethod::PrivateKeyJwt {
            return Err("`jwks` is only used with token_endpoint_auth_method `private_key_jwt`".into());
        }
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_value(jwks.clone()).map_err(|e| format!("`jwks` is not a JWK Set: {e}"))?;
        if set.keys.is_empty() {
            return Err("`jwks` holds no keys".into());
        }
        // A private or symmetric key has no place in a registration.
        let secret_members = ["d", "p", "q", "dp", "dq", "qi", "k"];
        let keys = jwks.get("keys").and_then(serde_json::Value::as_array);
        if keys.is_some_and(|keys| {
            keys.iter()
                .any(|k| secret_members.iter().any(|m| k.get(m).is_some()))
        }) {
            return Err("`jwks` must hold public keys only".into());
        }
        Ok(())
    }

    fn auth_method(&self) -> Result<AuthMethod, String> {
        match &self.token_endpoint_auth_method {
            None if self.client_secret.is_some() => Ok(AuthMethod::ClientSecretBasic),
            None => Ok(AuthMethod::None),
            Some(name) => AuthMethod::from_name(name).ok_or_else(|| {
                format!("token_endpoint_auth_method `{name}` is not supported (client_secret_basic, client_secret_post, none, private_key_jwt)")
            }),
        }
    }

    /// The client as stored: its secret hashed.
    pub fn record(&self) -> Result<ClientRecord, String> {
        let method = self.auth_method()?;
        let base = match &self.client_secret {
            Some(secret) => ClientRecord::confidential_hashed(&self.client_id, hash_client_secret(secret)),
            None => ClientRecord::public(&self.client_id),
        };
        Ok(base
            .redirect_uris(self.redirect_uris.iter().cloned())
            .grant_types(self.grant_types.iter().cloned())
            .scope(&self.scope)
            .auth_method(method)
            .jwks(self.jwks.as_ref().map(serde_json::Value::to_string))
            .require_pushed_authorization_requests(self.require_pushed_authorization_requests)
            .dpop_bound_access_tokens(self.dpop_bound_access_tokens))
    }
}

impl SeedUser {
    /// The user as stored: the password hashed with argon2id, the subject a
    /// stable opaque identifier derived from the username.
    pub fn record(&self) -> Result<UserRecord, String> {
        UserRecord::new(subject_of(&self.username), &self.username, &self.password)
            .map(|user| user.with_claims(self.claims.clone()))
            .map_err(|e| format!("user `{}`: {e}", self.username))
    }
}

/// A stable, opaque subject for a username: the same on every start, and
/// different between users.
pub fn subject_of(username: &str) -> String {
    let digest = Sha256::digest(format!("granted-example-subject:{username}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Seed, String> {
        let dir = std::env::temp_dir().join(format!("granted-seed-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.json", granted::TokenHash::of(json)));
        std::fs::write(&path, json).unwrap();
        let result = Seed::load(&path);
        std::fs::remove_file(&path).unwrap();
        result
    }

    #[test]
    fn the_contract_example_loads() {
        let seed = parse(
            r#"{"clients": [{"client_id": "web", "client_secret": "s3cret",
                "redirect_uris": ["http://127.0.0.1:9000/cb"],
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                "scope": "read write", "token_endpoint_auth_method": "client_secret_basic"}],
               "users": [{"username": "alice", "password": "wonderland",
                "claims": {"name": "Alice Liddell", "email": "alice@example.com", "email_verified": true}}]}"#,
        )
        .unwrap();
        let client = seed.clients[0].record().unwrap();
        use granted::ClientModel as _;
        assert_ne!(client.secret_hash(), Some("s3cret"));
        assert_eq!(seed.users[0].claims.get("name").unwrap(), "Alice Liddell");
        assert_eq!(seed.users[0].record().unwrap().claims(), &seed.users[0].claims);
    }

    #[test]
    fn dpop_bound_access_tokens_is_read_and_off_by_default() {
        use granted::ClientModel;
        let seed = parse(
            r#"{"clients": [{"client_id": "a", "client_secret": "x", "dpop_bound_access_tokens": true},
                            {"client_id": "b", "client_secret": "y"}]}"#,
        )
        .unwrap();
        // The trait's reader: `ClientRecord` has a builder of that name.
        assert!(ClientModel::dpop_bound_access_tokens(
            &seed.clients[0].record().unwrap()
        ));
        assert!(!ClientModel::dpop_bound_access_tokens(
            &seed.clients[1].record().unwrap()
        ));
        let error =
            parse(r#"{"clients": [{"client_id": "a", "dpop_bound_access_tokens": "yes"}]}"#).unwrap_err();
        assert!(
            error.contains("dpop_bound_access_tokens") || error.contains("bool"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = parse(r#"{"clients": [], "userz": []}"#).unwrap_err();
        assert!(error.contains("userz"), "{error}");
        let error = parse(r#"{"clients": [{"client_id": "a", "colour": "red"}]}"#).unwrap_err();
        assert!(error.contains("colour"), "{error}");
    }

    #[test]
    fn inconsistent_clients_are_refused() {
        for bad in [
            r#"{"clients": [{"client_id": "a", "grant_types": ["implicit"]}]}"#,
            r#"{"clients": [{"client_id": "a", "client_secret": "x", "token_endpoint_auth_method": "none"}]}"#,
            r#"{"clients": [{"client_id": "a", "token_endpoint_auth_method": "client_secret_post"}]}"#,
            r#"{"clients": [{"client_id": "a", "response_types": ["token"]}]}"#,
            r#"{"users": [{"username": "u", "password": "p", "claims": {"sub": "x"}}]}"#,
            r#"{"users": [{"username": "u", "password": "p", "claims": {"emial": "x"}}]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extension_keys_are_read_and_checked() {
        let seed = parse(
            r#"{"clients": [{"client_id": "jwt", "token_endpoint_auth_method": "private_key_jwt",
                "grant_types": ["client_credentials"], "require_pushed_authorization_requests": true,
                "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519",
                                   "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}}]}"#,
        )
        .unwrap();
        let client = seed.clients[0].record().unwrap();
        use granted::ClientModel;
        assert_eq!(ClientModel::auth_method(&client), Some(AuthMethod::PrivateKeyJwt));
        assert!(client.requires_pushed_authorization_requests());
        assert!(ClientModel::jwks(&client).unwrap().contains("Ed25519"));
        assert!(client.secret_hash().is_none());
        for bad in [
            // private_key_jwt without keys, or with a secret.
            r#"{"clients": [{"client_id": "a", "token_endpoint_auth_method": "private_key_jwt"}]}"#,
            r#"{"clients": [{"client_id": "a", "client_secret": "x", "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}}]}"#,
            // Keys for a client that does not use them, no keys, a private key.
            r#"{"clients": [{"client_id": "a", "client_secret": "x", "jwks": {"keys": []}}]}"#,
            r#"{"clients": [{"client_id": "a", "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}}]}"#,
            r#"{"clients": [{"client_id": "a", "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                                   "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}}]}"#,
            r#"{"clients": [{"client_id": "a", "token_endpoint_auth_method": "private_key_jwt", "jwks": [1]}]}"#,
            r#"{"clients": [{"client_id": "a", "require_pushed_authorization_requests": "yes"}]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subjects_are_stable_and_distinct() {
        assert_eq!(subject_of("alice"), subject_of("alice"));
        assert_ne!(subject_of("alice"), subject_of("bob"));
        assert_eq!(subject_of("alice").len(), 32);
    }
}
