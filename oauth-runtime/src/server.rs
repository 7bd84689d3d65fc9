//! The server: a storage, the grants it declares, and the policy in force.
//! Each endpoint lives in its own module under `endpoints`.

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::device::{DeviceAuthorization, DeviceStatus};
use crate::model::{TokenRecord, UnixTime};
use crate::oidc::KeyRing;
use crate::par::PushedRequest;
use crate::storage::Storage;
use crate::{GrantType, OAuthError, Params, Policy, TokenHash};

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `"Bearer"`, or `"DPoP"` for an access token bound to a DPoP key.
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
    /// The JWK thumbprint of the request's verified DPoP proof: the tokens
    /// issued are bound to that key.
    pub dpop_jkt: Option<&'a str>,
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
    /// What a server of this storage needs at start besides the storage
    /// itself: `()` for OAuth 2.0 alone, [`OpenIdSetup`] (the id_token
    /// signing keys and the issuer) when the policy declares OpenID Connect.
    /// [`Server::new`] exists only for storages that need nothing more (or
    /// whose setup is optional); the others are built with
    /// [`Server::with_setup`], or the `into_server` that `#[granted::server]`
    /// generates.
    type Setup: ServerSetup;

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

    /// Stores a pushed authorization request (RFC 9126). `#[granted::server]`
    /// overrides it with `par` declared, delegating to
    /// [`PushedRequestStorage`](crate::storage::PushedRequestStorage)
    /// through [`crate::par::save`]; the default refuses, as the policy
    /// serves no pushed requests.
    fn save_pushed_request(
        &self,
        request: PushedRequest,
    ) -> impl Future<Output = Result<(), OAuthError>> + Send {
        let _ = request;
        std::future::ready(Err(crate::par::not_enabled()))
    }

    /// Takes the pushed request with this `request_uri` hash pushed by
    /// `client_id`, once. Overridden with `par` declared (through
    /// [`crate::par::take`]); the default finds nothing.
    fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<PushedRequest>, OAuthError>> + Send {
        let _ = (request_uri, client_id);
        std::future::ready(Ok(None))
    }

    /// Records a client assertion's id until `expires_at`; `false` when it
    /// was used before (a replay). Overridden with
    /// `client_auth(private_key_jwt)` declared, delegating to
    /// [`AssertionStorage`](crate::storage::AssertionStorage) through
    /// [`crate::assertion::record_jti`]; the default refuses every assertion.
    fn record_assertion_jti(
        &self,
        jti: &TokenHash,
        expires_at: UnixTime,
    ) -> impl Future<Output = Result<bool, OAuthError>> + Send {
        let _ = (jti, expires_at);
        std::future::ready(Ok(false))
    }
    /// Stores a new device authorization (RFC 8628). `#[granted::server]`
    /// overrides it with `grants(device_code)` declared, delegating to
    /// [`DeviceStorage`](crate::storage::DeviceStorage) through
    /// [`crate::device::save`]; the default refuses, as the policy serves no
    /// device grant.
    fn save_device_authorization(
        &self,
        authorization: DeviceAuthorization,
    ) -> impl Future<Output = Result<(), OAuthError>> + Send {
        let _ = authorization;
        std::future::ready(Err(crate::device::not_enabled()))
    }

    /// The device authorization of a user code hash, for the verification
    /// page. Overridden with `device_code` declared (through
    /// [`crate::device::by_user_code`]); the default finds nothing.
    fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> impl Future<Output = Result<Option<DeviceAuthorization>, OAuthError>> + Send {
        let _ = user_code;
        std::future::ready(Ok(None))
    }

    /// Records the user's decision on a pending device authorization;
    /// `false` when it was not pending. Overridden with `device_code`
    /// declared (through [`crate::device::decide`]); the default changes
    /// nothing.
    fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> impl Future<Output = Result<bool, OAuthError>> + Send {
        let _ = (user_code, status);
        std::future::ready(Ok(false))
    }

    /// Records the use of a DPoP proof (see
    /// [`DpopStorage::use_dpop_proof`](crate::storage::DpopStorage::use_dpop_proof)):
    /// `true` the first time. Only called when the policy enables DPoP;
    /// `#[granted::server(dpop)]` overrides it with the storage's method, and
    /// the default refuses every proof.
    fn use_dpop_proof(
        &self,
        key: &TokenHash,
        until: UnixTime,
    ) -> impl Future<Output = Result<bool, OAuthError>> + Send {
        let _ = (key, until);
        std::future::ready(Err(OAuthError::new(
            crate::ErrorCode::ServerError,
            "this storage keeps no DPoP proofs",
        )))
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

mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl Sealed for super::OpenIdSetup {}
    impl Sealed for Option<super::OpenIdSetup> {}
}

/// What a [`Server`] needs at start besides its storage: the
/// [`Grants::Setup`] of the storage. Implemented by `()` (nothing: OAuth 2.0
/// alone), [`OpenIdSetup`] (OpenID Connect: signing keys and issuer) and
/// `Option<OpenIdSetup>` (a storage whose policy is chosen at run time, such
/// as [`MemoryStore`](crate::MemoryStore)).
pub trait ServerSetup: sealed::Sealed + Send + Sync + 'static {
    /// Applies the setup to the storage's declared policy: the policy in
    /// force and the signing keys. OpenID Connect is served exactly when the
    /// setup carries its keys and issuer.
    #[doc(hidden)]
    fn apply(self, policy: Policy) -> (Policy, KeyRing);
}

impl ServerSetup for () {
    fn apply(self, policy: Policy) -> (Policy, KeyRing) {
        (policy.without_openid(), KeyRing::default())
    }
}

impl ServerSetup for OpenIdSetup {
    fn apply(self, policy: Policy) -> (Policy, KeyRing) {
        let alg = policy.openid().unwrap_or_default();
        (policy.with_issuer(self.issuer).with_openid(alg), self.keys)
    }
}

impl ServerSetup for Option<OpenIdSetup> {
    fn apply(self, policy: Policy) -> (Policy, KeyRing) {
        match self {
            Some(setup) => setup.apply(policy),
            None => ().apply(policy),
        }
    }
}

/// A [`ServerSetup`] that may be left out: [`Server::new`] builds servers of
/// the storages whose setup implements it.
#[diagnostic::on_unimplemented(
    message = "this storage declares OpenID Connect: its server needs the signing keys and the issuer",
    label = "`Server::new` builds only servers that need nothing but their storage",
    note = "build it with the `into_server(keys, issuer)` that `#[granted::server(..., openid)]` generates, or with `Server::with_setup(storage, OpenIdSetup::new(keys, issuer))`"
)]
pub trait OptionalSetup: ServerSetup {
    /// The setup of a server built from its storage alone.
    fn none() -> Self;
}

impl OptionalSetup for () {
    fn none() -> Self {}
}

impl OptionalSetup for Option<OpenIdSetup> {
    fn none() -> Self {
        None
    }
}

/// What an OpenID provider needs at start: the keys that sign its id_tokens
/// and its issuer identifier, the `iss` of every id_token, of the metadata
/// and of the authorization responses (OpenID Connect Core §2, RFC 9207).
///
/// The issuer is the URL the provider is reached at, `https` in production
/// (e.g. `https://auth.example.com`), with no query or fragment. It belongs
/// to the deployment, not to the policy: give it at start-up (the example
/// server takes it from `--issuer`).
///
/// ```
/// use oauth_runtime::{KeyRing, OpenIdSetup, SigningAlg, SigningKey};
///
/// let keys = KeyRing::new([SigningKey::generate(SigningAlg::Es256).unwrap()]);
/// let setup = OpenIdSetup::new(keys, "https://auth.example.com");
/// assert_eq!(setup.issuer(), "https://auth.example.com");
/// ```
#[derive(Debug, Clone)]
pub struct OpenIdSetup {
    keys: KeyRing,
    issuer: String,
}

impl OpenIdSetup {
    /// The signing `keys` (generate them once with
    /// [`SigningKey::generate`](crate::SigningKey::generate), store them,
    /// and load them on start) and the `issuer`.
    pub fn new(keys: KeyRing, issuer: impl Into<String>) -> Self {
        Self {
            keys,
            issuer: issuer.into(),
        }
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signing keys.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
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
/// let response = server.token(&Request::new(&Method::POST, &headers).with_body(body)).await;
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
    /// A server with the storage's declared policy, for a storage that
    /// needs nothing more: one without OpenID Connect. A storage declaring
    /// `openid` does not compile here; build it with its `into_server(keys,
    /// issuer)` or [`Server::with_setup`].
    pub fn new(storage: S) -> Self
    where
        S::Setup: OptionalSetup,
    {
        Self::with_setup(storage, S::Setup::none())
    }

    /// A server with the storage's declared policy and what the policy
    /// needs at start: `()`, or an [`OpenIdSetup`] with the signing keys
    /// and the issuer when it declares OpenID Connect.
    ///
    /// ```
    /// use oauth_runtime::{
    ///     GrantType, KeyRing, MemoryStore, OpenIdSetup, Policy, Server, SigningAlg, SigningKey,
    /// };
    ///
    /// let store = MemoryStore::with_policy(Policy::new(GrantType::ALL).with_openid(SigningAlg::Es256));
    /// let keys = KeyRing::new([SigningKey::generate(SigningAlg::Es256).unwrap()]);
    /// let server = Server::with_setup(store, Some(OpenIdSetup::new(keys, "https://as.example")));
    /// assert_eq!(server.policy().issuer(), Some("https://as.example"));
    /// assert_eq!(server.policy().openid(), Some(SigningAlg::Es256));
    /// ```
    pub fn with_setup(storage: S, setup: S::Setup) -> Self {
        let (policy, keys) = setup.apply(storage.policy());
        Self {
            storage,
            policy,
            keys,
        }
    }

    /// The signing keys. The ring is shared: rotating it rotates the
    /// server's keys.
    pub fn signing_keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Changes the settings that may differ per deployment (lifetimes,
    /// issuer, offloading, budgets) while the enabled grants and OpenID
    /// Connect stay as declared. An OpenID provider keeps an issuer: a
    /// policy returned without one keeps the current issuer.
    #[must_use]
    pub fn configure(mut self, settings: impl FnOnce(Policy) -> Policy) -> Self {
        let grants = self.policy.grants().to_vec();
        let openid = self.policy.openid();
        let issuer = self.policy.issuer().map(str::to_owned);
        let declared = self.policy.clone();
        let mut policy = settings(self.policy)
            .restrict_to(&grants, openid)
            .keep_extensions_of(&declared);
        if let Some(issuer) = issuer.filter(|_| openid.is_some() && policy.issuer().is_none()) {
            policy = policy.with_issuer(issuer);
        }
        self.policy = policy;
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
