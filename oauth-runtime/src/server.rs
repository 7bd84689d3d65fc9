//! The server: a storage, the grants it declares, and the policy in force.
//! Each endpoint lives in its own module under `endpoints`.

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::model::{TokenRecord, UnixTime};
use crate::oidc::KeyRing;
use crate::storage::Storage;
use crate::{GrantType, OAuthError, Params, Policy, TokenHash};

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `"Bearer"`.
    pub token_type: &'static str,
    /// The access token lifetime in seconds.
    pub expires_in: u64,
    /// The refresh token, when one was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scope, space-separated.
    pub scope: String,
    /// The OpenID Connect id_token, when `openid` was granted on the code flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Everything a grant needs to handle one token request from an
/// authenticated client that is allowed to use the grant.
#[derive(Debug)]
#[non_exhaustive]
pub struct GrantRequest<'a, C> {
    /// The form parameters.
    pub params: &'a Params<'a>,
    /// The authenticated client.
    pub client: &'a C,
    /// The server policy.
    pub policy: &'a Policy,
    /// The current time.
    pub now: UnixTime,
    /// The keys that sign id_tokens.
    pub keys: &'a KeyRing,
    /// The address the request came from, when known.
    pub peer: Option<std::net::IpAddr>,
}

/// The grants a storage type serves: `#[granted::server]` implements it with
/// the policy declared in the attribute and a dispatch to exactly the
/// enabled grants.
#[diagnostic::on_unimplemented(
    message = "`{Self}` declares no OAuth grants",
    label = "this type has no `#[granted::server(...)]` policy",
    note = "put `#[granted::server(client = ..., token = ..., grants(...))]` on an `impl` block of `{Self}`"
)]
pub trait Grants: Storage {
    /// The policy declared for this storage.
    fn policy(&self) -> Policy;

    /// Runs one enabled grant. Only grants listed in [`Grants::policy`] are
    /// ever passed in.
    fn exchange(
        &self,
        grant: GrantType,
        request: GrantRequest<'_, Self::Client>,
    ) -> impl Future<Output = Result<TokenResponse, OAuthError>> + Send;

    /// Finds a token by the hash of its access or refresh token, for
    /// revocation and introspection. The default looks up access tokens only;
    /// a storage that keeps refresh tokens overrides it with
    /// [`crate::lookup::access_or_refresh_token`].
    fn find_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<FoundToken>, OAuthError>> + Send {
        crate::lookup::access_token(self, hash)
    }
}

/// Which of a token record's tokens a presented value matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// The access token.
    Access,
    /// The refresh token.
    Refresh,
}

/// A token found by [`Grants::find_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FoundToken {
    /// The stored record.
    pub record: TokenRecord,
    /// Which token of the record was presented.
    pub kind: TokenKind,
}

impl FoundToken {
    /// A found token.
    pub fn new(record: TokenRecord, kind: TokenKind) -> Self {
        Self { record, kind }
    }

    /// Whether the presented token is usable at `now`: an access token not
    /// expired, or a refresh token neither expired nor rotated.
    pub fn is_active(&self, now: UnixTime) -> bool {
        match self.kind {
            TokenKind::Access => self.record.expires_at > now,
            TokenKind::Refresh => {
                !self.record.rotated && self.record.refresh_expires_at.is_some_and(|t| t > now)
            }
        }
    }
}

/// An authorization server: a storage with its grants, and the policy.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method, header};
/// use oauth_runtime::{ClientRecord, MemoryStore, Request, Server};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// store.add_client(
///     ClientRecord::confidential("svc", "s3cret")
///         .grant_types(["client_credentials"])
///         .scope("read"),
/// );
/// let server = Server::new(store);
///
/// let mut headers = HeaderMap::new();
/// headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
/// let body = b"grant_type=client_credentials&client_id=svc&client_secret=s3cret";
/// # let store = MemoryStore::new();
/// # store.add_client(oauth_runtime::ClientRecord::confidential("svc", "s3cret")
/// #     .grant_types(["client_credentials"]).scope("read").auth_method(oauth_runtime::AuthMethod::ClientSecretPost));
/// # let server = Server::new(store);
/// let response = server.token(Request::new(&Method::POST, &headers).with_body(body)).await;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.json()["token_type"], "Bearer");
/// # });
/// ```
#[derive(Debug)]
pub struct Server<S> {
    storage: S,
    policy: Policy,
    keys: KeyRing,
}

impl<S: Grants> Server<S> {
    /// A server with the storage's declared policy.
    pub fn new(storage: S) -> Self {
        Self {
            policy: storage.policy(),
            storage,
            keys: KeyRing::default(),
        }
    }

    /// Gives the server the keys that sign id_tokens (OpenID Connect). The
    /// ring is shared: rotating it rotates the server's keys.
    #[must_use]
    pub fn with_signing_keys(mut self, keys: KeyRing) -> Self {
        self.keys = keys;
        self
    }

    /// The signing keys.
    pub fn signing_keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Changes the settings that may differ per deployment (lifetimes,
    /// issuer) while the enabled grants and OpenID Connect stay as declared.
    #[must_use]
    pub fn configure(mut self, settings: impl FnOnce(Policy) -> Policy) -> Self {
        let grants = self.policy.grants().to_vec();
        let openid = self.policy.openid();
        self.policy = settings(self.policy).restrict_to(&grants, openid);
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }
}

/// The current Unix time in seconds.
pub fn now() -> UnixTime {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
