//! The model traits that users' own structs implement (through the derives of
//! `granted`), and the records the runtime reads from and writes into them.
//!
//! Clients are only read. Tokens and authorization codes are built by the
//! runtime and stored by the user, so their models convert both ways between
//! the user's struct and a [`TokenRecord`] / [`CodeRecord`].

use crate::{Scope, TokenHash};

mod field;

pub use field::{
    AuthMethodField, FlagField, ListField, ModelError, ModelField, OptionalTextField, StrIter, TextField,
};

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// How a client authenticates at the token endpoint (RFC 7591 §2 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: `client_id` only, no secret.
    None,
    /// A JWT signed with one of the client's registered keys (its `jwks`),
    /// sent as `client_assertion` (RFC 7523 §2.2, OpenID Connect Core §9).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The registered name, e.g. `"client_secret_basic"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Parses a registered name; `None` for a method granted does not support.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "none" => Some(Self::None),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            _ => None,
        }
    }
}

/// A registered client, as the runtime reads it.
///
/// Implement it with `#[derive(granted::Client)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an OAuth client model",
    label = "this type is used as the client model",
    note = "add `#[derive(granted::Client)]` to `{Self}` and mark its fields with `#[oauth(client_id)]`, `#[oauth(client_secret)]`, `#[oauth(redirect_uris)]`, `#[oauth(grant_types)]` and `#[oauth(scope)]`"
)]
pub trait ClientModel: Send + Sync {
    /// The client identifier.
    fn client_id(&self) -> &str;
    /// The stored secret hash ([`crate::hash_client_secret`]); `None` for a public client.
    fn secret_hash(&self) -> Option<&str>;
    /// The registered redirect URIs, compared by exact string match.
    fn redirect_uris(&self) -> StrIter<'_>;
    /// The grant types the client may use (`"authorization_code"`, ...).
    fn grant_types(&self) -> StrIter<'_>;
    /// The scope the client may be granted.
    fn scope(&self) -> StrIter<'_>;
    /// The registered token endpoint authentication method; `None` when the
    /// registration names a method granted does not support. By default
    /// `client_secret_basic` for clients with a secret and `none` without.
    fn auth_method(&self) -> Option<AuthMethod> {
        Some(if self.secret_hash().is_some() {
            AuthMethod::ClientSecretBasic
        } else {
            AuthMethod::None
        })
    }
    /// The client's public keys for `private_key_jwt`: a JWK Set (RFC 7517
    /// §5) as JSON text. `None` (the default) when none are registered.
    fn jwks(&self) -> Option<&str> {
        None
    }
    /// Whether the client registered `require_pushed_authorization_requests`
    /// (RFC 9126 §6): its authorization requests must be pushed first.
    fn requires_pushed_authorization_requests(&self) -> bool {
        false
    }
    /// Whether the client must use DPoP: its token requests without a proof
    /// are refused (RFC 9449 §5.2, `dpop_bound_access_tokens`). `false` by
    /// default.
    fn dpop_bound_access_tokens(&self) -> bool {
        false
    }
}

/// Helpers every [`ClientModel`] gets.
pub trait ClientModelExt: ClientModel {
    /// Whether the client may use `grant_type`.
    fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types().any(|g| g == grant_type)
    }

    /// The client's scope as a [`Scope`].
    fn allowed_scope(&self) -> Scope {
        Scope::from_tokens(self.scope())
    }

    /// Whether the client is public: it has no secret, and proves nothing
    /// else either (a `private_key_jwt` client has keys instead).
    fn is_public(&self) -> bool {
        self.secret_hash().is_none() && self.auth_method() != Some(AuthMethod::PrivateKeyJwt)
    }
}

impl<C: ClientModel + ?Sized> ClientModelExt for C {}

/// An issued token as storage keeps it: hashes only, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Key of the access token ([`TokenHash::of`]).
    pub access_token: TokenHash,
    /// Key of the refresh token ([`TokenHash::of`]), when one was issued.
    pub refresh_token: Option<TokenHash>,
    /// The client the token was issued to.
    pub client_id: String,
    /// The user's stable subject identifier; `None` for `client_credentials`.
    pub subject: Option<String>,
    /// The scope of the access token.
    pub scope: Scope,
    /// The scope of the refresh token when it differs from [`scope`](Self::scope):
    /// a refresh that narrows the scope narrows only the new access token,
    /// while the new refresh token keeps the scope of the one presented
    /// (RFC 6749 §6). `None` means the same as `scope`; see
    /// [`TokenRecord::refresh_token_scope`].
    pub refresh_scope: Option<Scope>,
    /// Tokens issued from one grant (one code, one login) share a family; a
    /// replayed code or a reused refresh token revokes the whole family.
    pub family: String,
    /// When the access token was issued.
    pub issued_at: UnixTime,
    /// When the access token expires.
    pub expires_at: UnixTime,
    /// When the refresh token expires.
    pub refresh_expires_at: Option<UnixTime>,
    /// Whether the refresh token was already exchanged for a new one.
    pub rotated: bool,
    /// The JWK SHA-256 thumbprint of the DPoP key the access token (and a
    /// public client's refresh token) is bound to (RFC 9449 §6, `cnf.jkt`);
    /// `None` for a bearer token.
    pub jkt: Option<String>,
}

impl TokenRecord {
    /// The scope of the refresh token: [`refresh_scope`](Self::refresh_scope)
    /// when set, the access token's [`scope`](Self::scope) otherwise.
    pub fn refresh_token_scope(&self) -> &Scope {
        self.refresh_scope.as_ref().unwrap_or(&self.scope)
    }
}

/// An authorization code as storage keeps it: hashed, bound to everything the
/// authorization request said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// Key of the code ([`TokenHash::of`]).
    pub code: TokenHash,
    /// The client the code was issued to.
    pub client_id: String,
    /// The `redirect_uri` of the authorization request, if it carried one.
    pub redirect_uri: Option<String>,
    /// The scope the user granted.
    pub scope: Scope,
    /// The user's stable subject identifier.
    pub subject: String,
    /// The PKCE challenge.
    pub code_challenge: Option<String>,
    /// The PKCE method of the challenge.
    pub code_challenge_method: Option<crate::PkceMethod>,
    /// The OpenID Connect `nonce` of the request.
    pub nonce: Option<String>,
    /// When the user authenticated (the id_token's `auth_time`).
    pub auth_time: Option<UnixTime>,
    /// When the code expires.
    pub expires_at: UnixTime,
}

/// A token model: the user's struct that storage reads and writes.
///
/// Implement it with `#[derive(granted::Token)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an OAuth token model",
    label = "this type is used as the token model",
    note = "add `#[derive(granted::Token)]` to `{Self}` and mark its fields with `#[oauth(access_token)]`, `#[oauth(client_id)]`, `#[oauth(scope)]`, `#[oauth(family)]`, `#[oauth(issued_at)]` and `#[oauth(expires_at)]`"
)]
pub trait TokenModel: Sized + Send + Sync {
    /// Builds the user's struct from a record the runtime issued.
    fn from_record(record: TokenRecord) -> Self;
    /// Reads the record back.
    ///
    /// # Errors
    ///
    /// [`ModelError`] when a stored field cannot be read (corrupt storage).
    fn into_record(self) -> Result<TokenRecord, ModelError>;
}

/// A token model that keeps refresh tokens: needed by the `refresh_token`
/// grant and by grants that issue refresh tokens.
#[diagnostic::on_unimplemented(
    message = "the token model `{Self}` cannot hold refresh tokens",
    label = "the `refresh_token` grant needs refresh tokens stored",
    note = "add fields marked `#[oauth(refresh_token)]` (Option<String>), `#[oauth(refresh_expires_at)]` (Option<i64>), `#[oauth(rotated)]` (bool) and `#[oauth(refresh_scope)]` (Option<String>) to `{Self}`"
)]
pub trait RefreshableToken: TokenModel {}

/// A token model that records the user a token was issued for: needed by
/// grants that act for a user (authorization_code, password).
#[diagnostic::on_unimplemented(
    message = "the token model `{Self}` cannot record the user a token belongs to",
    label = "this grant issues tokens for a user",
    note = "add a field marked `#[oauth(subject)]` (Option<String>) to `{Self}`"
)]
pub trait SubjectToken: TokenModel {}

/// A token model that records the DPoP key a token is bound to: needed by
/// `#[granted::server(dpop)]`, or bound tokens would be stored as bearer
/// tokens.
#[diagnostic::on_unimplemented(
    message = "the token model `{Self}` cannot record the DPoP key a token is bound to",
    label = "`dpop` binds tokens to keys",
    note = "add a field marked `#[oauth(jkt)]` (Option<String>) to `{Self}`"
)]
pub trait DpopToken: TokenModel {}

/// An authorization code model.
///
/// Implement it with `#[derive(granted::AuthorizationCode)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an OAuth authorization code model",
    label = "this type is used as the authorization code model",
    note = "add `#[derive(granted::AuthorizationCode)]` to `{Self}`"
)]
pub trait CodeModel: Sized + Send + Sync {
    /// Builds the user's struct from a record the runtime issued.
    fn from_record(record: CodeRecord) -> Self;
    /// Reads the record back.
    ///
    /// # Errors
    ///
    /// [`ModelError`] when a stored field cannot be read (corrupt storage).
    fn into_record(self) -> Result<CodeRecord, ModelError>;
}

/// An authorization code model that keeps what OpenID Connect needs: the
/// request's `nonce` and the login's `auth_time`, both echoed in the id_token.
#[diagnostic::on_unimplemented(
    message = "the authorization code model `{Self}` cannot keep OpenID Connect's `nonce` and `auth_time`",
    label = "`openid` puts both into the id_token",
    note = "add `#[oauth(nonce)] nonce: Option<String>` and `#[oauth(auth_time)] auth_time: Option<i64>` to `{Self}`"
)]
pub trait OpenIdCode: CodeModel {}

/// A user (resource owner), as the runtime reads it.
///
/// Implement it with `#[derive(granted::User)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an OAuth user model",
    label = "this type is used as the user model",
    note = "add `#[derive(granted::User)]` to `{Self}` and mark its fields with `#[oauth(subject)]`, `#[oauth(username)]` and `#[oauth(password_hash)]`"
)]
pub trait UserModel: Send + Sync {
    /// The stable, opaque subject identifier (`sub`).
    fn subject(&self) -> &str;
    /// The login name.
    fn username(&self) -> &str;
    /// The argon2 PHC hash of the password ([`crate::hash_password`]).
    fn password_hash(&self) -> &str;
}
