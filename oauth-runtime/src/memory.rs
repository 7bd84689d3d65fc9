//! An in-memory store implementing every storage trait, for tests, examples
//! and small single-process deployments. Locks are never held across an
//! `.await`.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::device::{DeviceAuthorization, DeviceStatus};
use crate::grants;
use crate::model::{
    AuthMethod, ClientModel, CodeModel, CodeRecord, ModelError, OpenIdCode, RefreshableToken, StrIter,
    SubjectToken, TokenModel, TokenRecord, UnixTime, UserModel,
};
use crate::oidc::UserClaims;
use crate::par::PushedRequest;
use crate::server::{FoundToken, GrantRequest, Grants, TokenResponse};
use crate::storage::{
    AssertionStorage, ClaimsStorage, CodeStorage, DeviceStorage, PushedRequestStorage,
    REVOKED_FAMILY_RETENTION_SECS, RefreshStorage, SessionStorage, Storage, UserStorage,
};
use crate::{
    GrantType, LoginSession, OAuthError, PasswordError, Policy, Scope, TokenHash, hash_client_secret,
    hash_password,
};

/// A registered client, for [`MemoryStore`] and for seeding other stores.
///
/// ```
/// use oauth_runtime::{ClientRecord, ClientModel};
///
/// let client = ClientRecord::public("spa")
///     .redirect_uris(["http://127.0.0.1:9000/cb"])
///     .grant_types(["authorization_code", "refresh_token"])
///     .scope("read");
/// assert!(client.secret_hash().is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    // Shared, so that the clone a lookup hands out for every request is one
    // reference count rather than a copy of every string.
    fields: Arc<ClientFields>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientFields {
    client_id: String,
    secret_hash: Option<String>,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    scope: Scope,
    auth_method: AuthMethod,
    /// The JWK Set for `private_key_jwt`, as JSON text.
    jwks: Option<String>,
    require_pushed_authorization_requests: bool,
    dpop_bound_access_tokens: bool,
}

impl ClientRecord {
    fn new(client_id: String, secret_hash: Option<String>, auth_method: AuthMethod) -> Self {
        Self {
            fields: Arc::new(ClientFields {
                client_id,
                secret_hash,
                redirect_uris: Vec::new(),
                grant_types: Vec::new(),
                scope: Scope::empty(),
                auth_method,
                jwks: None,
                require_pushed_authorization_requests: false,
                dpop_bound_access_tokens: false,
            }),
        }
    }

    /// A confidential client authenticating with `client_secret_basic`; the
    /// secret is stored hashed.
    pub fn confidential(client_id: impl Into<String>, secret: &str) -> Self {
        Self::confidential_hashed(client_id, hash_client_secret(secret))
    }

    /// A confidential client whose secret is already hashed (with
    /// [`hash_client_secret`] or argon2), e.g. when read back from a database.
    pub fn confidential_hashed(client_id: impl Into<String>, secret_hash: impl Into<String>) -> Self {
        Self::new(
            client_id.into(),
            Some(secret_hash.into()),
            AuthMethod::ClientSecretBasic,
        )
    }

    /// A public client (authentication method `none`).
    pub fn public(client_id: impl Into<String>) -> Self {
        Self::new(client_id.into(), None, AuthMethod::None)
    }

    /// Sets the registered redirect URIs.
    #[must_use]
    pub fn redirect_uris<I: IntoIterator<Item = T>, T: Into<String>>(mut self, uris: I) -> Self {
        Arc::make_mut(&mut self.fields).redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the grant types the client may use.
    #[must_use]
    pub fn grant_types<I: IntoIterator<Item = T>, T: Into<String>>(mut self, grants: I) -> Self {
        Arc::make_mut(&mut self.fields).grant_types = grants.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the client's scope (space-separated; invalid tokens are dropped).
    #[must_use]
    pub fn scope(mut self, scope: &str) -> Self {
        Arc::make_mut(&mut self.fields).scope = Scope::from_tokens(scope.split(' '));
        self
    }

    /// Sets the token endpoint authentication method.
    #[must_use]
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        Arc::make_mut(&mut self.fields).auth_method = method;
        self
    }

    /// A client authenticating with `private_key_jwt` (RFC 7523 §2.2) with
    /// the public keys of `jwks`, a JWK Set as JSON text.
    ///
    /// ```
    /// use oauth_runtime::{AuthMethod, ClientModel, ClientRecord};
    ///
    /// let client = ClientRecord::private_key_jwt("svc", r#"{"keys": []}"#);
    /// assert_eq!(ClientModel::auth_method(&client), Some(AuthMethod::PrivateKeyJwt));
    /// assert!(client.secret_hash().is_none());
    /// ```
    pub fn private_key_jwt(client_id: impl Into<String>, jwks: impl Into<String>) -> Self {
        Self::new(client_id.into(), None, AuthMethod::PrivateKeyJwt).jwks(Some(jwks.into()))
    }

    /// Sets the client's public keys (a JWK Set as JSON text), for
    /// `private_key_jwt`.
    #[must_use]
    pub fn jwks(mut self, jwks: Option<String>) -> Self {
        Arc::make_mut(&mut self.fields).jwks = jwks;
        self
    }

    /// Sets whether the client's authorization requests must be pushed
    /// (RFC 9126 §6).
    #[must_use]
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        Arc::make_mut(&mut self.fields).require_pushed_authorization_requests = required;
        self
    }
    /// Sets whether the client must use DPoP (RFC 9449 §5.2,
    /// `dpop_bound_access_tokens`): its token requests without a proof are
    /// refused.
    #[must_use]
    pub fn dpop_bound_access_tokens(mut self, required: bool) -> Self {
        Arc::make_mut(&mut self.fields).dpop_bound_access_tokens = required;
        self
    }
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields = &*self.fields;
        f.debug_struct("ClientRecord")
            .field("client_id", &fields.client_id)
            .field("secret_hash", &fields.secret_hash)
            .field("redirect_uris", &fields.redirect_uris)
            .field("grant_types", &fields.grant_types)
            .field("scope", &fields.scope)
            .field("auth_method", &fields.auth_method)
            .field("jwks", &fields.jwks)
            .field(
                "require_pushed_authorization_requests",
                &fields.require_pushed_authorization_requests,
            )
            .field("dpop_bound_access_tokens", &fields.dpop_bound_access_tokens)
            .finish()
    }
}

impl ClientModel for ClientRecord {
    fn client_id(&self) -> &str {
        &self.fields.client_id
    }
    fn secret_hash(&self) -> Option<&str> {
        self.fields.secret_hash.as_deref()
    }
    fn redirect_uris(&self) -> StrIter<'_> {
        StrIter::slice(&self.fields.redirect_uris)
    }
    fn grant_types(&self) -> StrIter<'_> {
        StrIter::slice(&self.fields.grant_types)
    }
    fn scope(&self) -> StrIter<'_> {
        StrIter::slice(self.fields.scope.tokens())
    }
    fn auth_method(&self) -> Option<AuthMethod> {
        Some(self.fields.auth_method)
    }
    fn jwks(&self) -> Option<&str> {
        self.fields.jwks.as_deref()
    }
    fn requires_pushed_authorization_requests(&self) -> bool {
        self.fields.require_pushed_authorization_requests
    }
    fn dpop_bound_access_tokens(&self) -> bool {
        self.fields.dpop_bound_access_tokens
    }
}

/// A user with an argon2id password hash, for [`MemoryStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    subject: String,
    username: String,
    password_hash: String,
    claims: UserClaims,
}

impl UserRecord {
    /// A user whose password is hashed with argon2id.
    ///
    /// # Errors
    ///
    /// [`PasswordError`] when hashing fails.
    pub fn new(
        subject: impl Into<String>,
        username: impl Into<String>,
        password: &str,
    ) -> Result<Self, PasswordError> {
        Ok(Self {
            subject: subject.into(),
            username: username.into(),
            password_hash: hash_password(password)?,
            claims: UserClaims::new(),
        })
    }
}

impl UserRecord {
    /// A user whose password hash (argon2 PHC string) is already known, e.g.
    /// when read back from a database.
    pub fn from_hash(
        subject: impl Into<String>,
        username: impl Into<String>,
        password_hash: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            username: username.into(),
            password_hash: password_hash.into(),
            claims: UserClaims::new(),
        }
    }

    /// Sets the user's OpenID Connect standard claims.
    #[must_use]
    pub fn with_claims(mut self, claims: UserClaims) -> Self {
        self.claims = claims;
        self
    }

    /// The user's OpenID Connect standard claims.
    pub fn claims(&self) -> &UserClaims {
        &self.claims
    }
}

impl UserModel for UserRecord {
    fn subject(&self) -> &str {
        &self.subject
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn password_hash(&self) -> &str {
        &self.password_hash
    }
}

impl TokenModel for TokenRecord {
    fn from_record(record: TokenRecord) -> Self {
        record
    }
    fn into_record(self) -> Result<TokenRecord, ModelError> {
        Ok(self)
    }
}

impl RefreshableToken for TokenRecord {}
impl SubjectToken for TokenRecord {}
impl crate::model::DpopToken for TokenRecord {}

impl OpenIdCode for CodeRecord {}

impl CodeModel for CodeRecord {
    fn from_record(record: CodeRecord) -> Self {
        record
    }
    fn into_record(self) -> Result<CodeRecord, ModelError> {
        Ok(self)
    }
}

/// The memory store's only failure: a thread panicked while holding its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the in-memory store is unusable after a panic")]
pub struct MemoryStoreError;

#[derive(Debug, Default)]
struct Tables {
    clients: HashMap<String, ClientRecord>,
    users: HashMap<String, UserRecord>,
    codes: HashMap<TokenHash, CodeRecord>,
    /// Tokens by access token hash, boxed: when the map grows it moves
    /// pointers, not records (a resize happens under the store's lock).
    tokens: DigestMap<Box<TokenRecord>>,
    /// Refresh token hash → access token hash.
    refresh_index: DigestMap<TokenHash>,
    /// SHA-256 of the family name → the family's access token hashes.
    families: DigestMap<Vec<TokenHash>>,
    /// Revoked families (tombstones) → when they were revoked.
    revoked: HashMap<String, UnixTime>,
    /// The tombstones oldest first, to forget them in order.
    revoked_order: VecDeque<(UnixTime, String)>,
    /// Login sessions by the hash of their cookie.
    sessions: DigestMap<LoginSession>,
    /// Pushed authorization requests by the hash of their `request_uri`.
    pushed: DigestMap<PushedRequest>,
    /// Used client assertion ids → until when they are kept.
    assertion_jtis: DigestMap<UnixTime>,
    /// DPoP proofs seen (their replay keys) → until when they are kept.
    dpop_proofs: DigestMap<UnixTime>,
    /// Device authorizations by the hash of their device code.
    devices: DigestMap<DeviceAuthorization>,
    /// The hash of a user code → the hash of its device code.
    user_codes: DigestMap<TokenHash>,
}

/// A map keyed by SHA-256 digests ([`TokenHash`]).
type DigestMap<V> = HashMap<TokenHash, V, BuildHasherDefault<DigestHasher>>;

/// Hashes a [`TokenHash`] key by reading its last eight bytes: they are
/// SHA-256 output, uniformly spread already (and nobody can choose it), so
/// hashing them again, as the default SipHash would on every insert and on
/// every rehash while the map grows, buys nothing. (The first bytes of a
/// token's key are its issue time, shared by every token of a millisecond.)
#[derive(Debug, Default, Clone, Copy)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `TokenHash` writes its 32 bytes (after the slice's length).
        if let Some(last) = bytes.last_chunk::<8>() {
            self.0 ^= u64::from_ne_bytes(*last);
        }
    }

    fn write_usize(&mut self, _length: usize) {}
}

/// The most tombstones kept: every replay of an unknown code leaves one, so
/// a flood of made-up codes must not grow memory without bound. The oldest
/// go first; they are the least likely to have a redemption in flight.
const MAX_TOMBSTONES: usize = 100_000;

impl Tables {
    fn insert_token(&mut self, token: TokenRecord) {
        if self.revoked.contains_key(&token.family) {
            // Saved after its family was revoked: dropped, never usable.
            return;
        }
        if let Some(refresh) = token.refresh_token {
            self.refresh_index.insert(refresh, token.access_token);
        }
        self.families
            .entry(TokenHash::digest(&token.family))
            .or_default()
            .push(token.access_token);
        self.tokens.insert(token.access_token, Box::new(token));
    }

    /// Removes a token from every table, its family's list included.
    fn remove_token(&mut self, access: &TokenHash) {
        let Some(token) = self.tokens.remove(access) else {
            return;
        };
        if let Some(refresh) = token.refresh_token {
            self.refresh_index.remove(&refresh);
        }
        let family = TokenHash::digest(&token.family);
        if let Some(members) = self.families.get_mut(&family) {
            members.retain(|m| m != access);
            if members.is_empty() {
                self.families.remove(&family);
            }
        }
    }

    fn tombstone(&mut self, family: &str, now: UnixTime) {
        self.revoked.insert(family.to_owned(), now);
        self.revoked_order.push_back((now, family.to_owned()));
        self.forget_tombstones(now - REVOKED_FAMILY_RETENTION_SECS, MAX_TOMBSTONES);
    }

    /// Forgets tombstones revoked at or before `until`, and the oldest ones
    /// beyond `max`.
    fn forget_tombstones(&mut self, until: UnixTime, max: usize) {
        while let Some((at, _)) = self.revoked_order.front() {
            if *at > until && self.revoked_order.len() <= max {
                break;
            }
            if let Some((at, family)) = self.revoked_order.pop_front()
                // A family revoked again later keeps its newer tombstone.
                && self.revoked.get(&family) == Some(&at)
            {
                self.revoked.remove(&family);
            }
        }
    }
}

/// An in-memory implementation of every storage trait.
///
/// It serves the policy it was built with: by default `authorization_code`
/// (PKCE S256), `client_credentials` and `refresh_token` (rotating). A policy
/// declaring OpenID Connect ([`Policy::with_openid`]) is served as such by a
/// server built with its keys and issuer:
/// `Server::with_setup(store, Some(OpenIdSetup::new(keys, issuer)))`.
#[derive(Debug)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    policy: Policy,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store with the default policy.
    pub fn new() -> Self {
        Self::with_policy(Policy::new([
            GrantType::AuthorizationCode,
            GrantType::ClientCredentials,
            GrantType::RefreshToken,
        ]))
    }

    /// An empty store serving `policy` (which may enable `password`).
    pub fn with_policy(policy: Policy) -> Self {
        Self {
            tables: Mutex::new(Tables::default()),
            policy,
        }
    }

    fn tables(&self) -> Result<MutexGuard<'_, Tables>, MemoryStoreError> {
        self.tables.lock().map_err(|_| MemoryStoreError)
    }

    /// Adds or replaces a client.
    pub fn add_client(&self, client: ClientRecord) {
        if let Ok(mut tables) = self.tables() {
            tables.clients.insert(client.fields.client_id.clone(), client);
        }
    }

    /// Every public client (no secret), e.g. for the CORS origins of their
    /// redirect URIs.
    pub fn public_clients(&self) -> Vec<ClientRecord> {
        self.tables()
            .map(|tables| {
                tables
                    .clients
                    .values()
                    .filter(|c| crate::model::ClientModelExt::is_public(*c))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Adds or replaces a user.
    pub fn add_user(&self, user: UserRecord) {
        if let Ok(mut tables) = self.tables() {
            tables.users.insert(user.username.clone(), user);
        }
    }

    /// Stores an authorization code directly (the authorization endpoint
    /// normally does this).
    pub fn add_code(&self, code: CodeRecord) {
        if let Ok(mut tables) = self.tables() {
            tables.codes.insert(code.code, code);
        }
    }

    #[cfg(test)]
    pub(crate) fn add_token_for_tests(&self, token: TokenRecord) {
        if let Ok(mut tables) = self.tables() {
            tables.insert_token(token);
        }
    }

    /// How many tokens are stored (live, rotated or expired).
    pub fn token_count(&self) -> usize {
        self.tables().map_or(0, |t| t.tokens.len())
    }

    /// Removes expired codes, tokens whose access and refresh tokens have
    /// both expired, and tombstones of families revoked more than
    /// [`REVOKED_FAMILY_RETENTION_SECS`] ago.
    pub fn purge_expired(&self, now: UnixTime) {
        let Ok(mut tables) = self.tables() else { return };
        tables.forget_tombstones(now - REVOKED_FAMILY_RETENTION_SECS, MAX_TOMBSTONES);
        tables.codes.retain(|_, code| code.expires_at > now);
        tables.sessions.retain(|_, session| session.is_live(now));
        tables.pushed.retain(|_, pushed| pushed.expires_at > now);
        tables.assertion_jtis.retain(|_, until| *until > now);
        tables.dpop_proofs.retain(|_, until| *until > now);
        tables.devices.retain(|_, device| device.expires_at > now);
        let Tables {
            devices, user_codes, ..
        } = &mut *tables;
        user_codes.retain(|_, device_code| devices.contains_key(device_code));
        let expired: Vec<TokenHash> = tables
            .tokens
            .values()
            .filter(|t| t.expires_at <= now && t.refresh_expires_at.is_none_or(|r| r <= now))
            .map(|t| t.access_token)
            .collect();
        for access in &expired {
            tables.remove_token(access);
        }
    }
}

impl Storage for MemoryStore {
    type Client = ClientRecord;
    type Token = TokenRecord;
    type Error = MemoryStoreError;

    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, MemoryStoreError> {
        Ok(self.tables()?.clients.get(client_id).cloned())
    }

    async fn save_token(&self, token: TokenRecord) -> Result<(), MemoryStoreError> {
        self.tables()?.insert_token(token);
        Ok(())
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, MemoryStoreError> {
        Ok(self.tables()?.tokens.get(hash).map(|t| TokenRecord::clone(t)))
    }

    async fn revoke_token_family(&self, family: &str) -> Result<(), MemoryStoreError> {
        let mut tables = self.tables()?;
        let members = tables
            .families
            .remove(&TokenHash::digest(family))
            .unwrap_or_default();
        for access in members {
            tables.remove_token(&access);
        }
        tables.tombstone(family, crate::now());
        Ok(())
    }
}

impl CodeStorage for MemoryStore {
    type Code = CodeRecord;

    async fn save_code(&self, code: CodeRecord) -> Result<(), MemoryStoreError> {
        self.tables()?.codes.insert(code.code, code);
        Ok(())
    }

    async fn take_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, MemoryStoreError> {
        Ok(self.tables()?.codes.remove(hash))
    }
}

impl RefreshStorage for MemoryStore {
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, MemoryStoreError> {
        let tables = self.tables()?;
        Ok(tables
            .refresh_index
            .get(hash)
            .and_then(|access| tables.tokens.get(access))
            .map(|t| TokenRecord::clone(t)))
    }

    async fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        new: TokenRecord,
    ) -> Result<bool, MemoryStoreError> {
        let mut tables = self.tables()?;
        let Some(access) = tables.refresh_index.get(old).copied() else {
            return Ok(false);
        };
        match tables.tokens.get_mut(&access) {
            Some(token) if !token.rotated => token.rotated = true,
            _ => return Ok(false),
        }
        tables.insert_token(new);
        Ok(true)
    }
}

impl UserStorage for MemoryStore {
    type User = UserRecord;

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, MemoryStoreError> {
        Ok(self.tables()?.users.get(username).cloned())
    }
}

impl SessionStorage for MemoryStore {
    async fn start_session(
        &self,
        id: &TokenHash,
        session: LoginSession,
        previous: Option<&TokenHash>,
    ) -> Result<(), MemoryStoreError> {
        let mut tables = self.tables()?;
        if let Some(previous) = previous {
            tables.sessions.remove(previous);
        }
        tables.sessions.insert(*id, session);
        Ok(())
    }

    async fn session(&self, id: &TokenHash, now: UnixTime) -> Result<Option<LoginSession>, MemoryStoreError> {
        Ok(self
            .tables()?
            .sessions
            .get(id)
            .filter(|session| session.is_live(now))
            .cloned())
    }

    async fn add_consent(
        &self,
        id: &TokenHash,
        client_id: &str,
        scope: &Scope,
    ) -> Result<(), MemoryStoreError> {
        if let Some(session) = self.tables()?.sessions.get_mut(id) {
            session.consents.push((client_id.to_owned(), scope.clone()));
        }
        Ok(())
    }

    async fn end_session(&self, id: &TokenHash) -> Result<(), MemoryStoreError> {
        self.tables()?.sessions.remove(id);
        Ok(())
    }
}

impl ClaimsStorage for MemoryStore {
    async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, MemoryStoreError> {
        // A scan: the memory store is for tests and small deployments.
        Ok(self
            .tables()?
            .users
            .values()
            .find(|u| u.subject == subject)
            .map(|u| u.claims.clone()))
    }
}

impl PushedRequestStorage for MemoryStore {
    async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), MemoryStoreError> {
        self.tables()?.pushed.insert(request.request_uri, request);
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, MemoryStoreError> {
        let mut tables = self.tables()?;
        // Another client's attempt leaves the request where it is.
        if tables
            .pushed
            .get(request_uri)
            .is_none_or(|p| p.client_id != client_id)
        {
            return Ok(None);
        }
        Ok(tables.pushed.remove(request_uri))
    }
}

impl DeviceStorage for MemoryStore {
    async fn save_device_authorization(
        &self,
        authorization: DeviceAuthorization,
    ) -> Result<(), MemoryStoreError> {
        let mut tables = self.tables()?;
        tables
            .user_codes
            .insert(authorization.user_code, authorization.device_code);
        tables.devices.insert(authorization.device_code, authorization);
        Ok(())
    }

    async fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, MemoryStoreError> {
        Ok(self.tables()?.devices.get(device_code).cloned())
    }

    async fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, MemoryStoreError> {
        let tables = self.tables()?;
        Ok(tables
            .user_codes
            .get(user_code)
            .and_then(|device_code| tables.devices.get(device_code))
            .cloned())
    }

    async fn record_device_poll(
        &self,
        device_code: &TokenHash,
        polled_at: UnixTime,
        interval: i64,
    ) -> Result<(), MemoryStoreError> {
        if let Some(device) = self.tables()?.devices.get_mut(device_code) {
            device.last_polled_at = Some(polled_at);
            device.interval = interval;
        }
        Ok(())
    }

    async fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> Result<bool, MemoryStoreError> {
        let mut tables = self.tables()?;
        let Some(device_code) = tables.user_codes.get(user_code).copied() else {
            return Ok(false);
        };
        match tables.devices.get_mut(&device_code) {
            Some(device) if device.status == DeviceStatus::Pending => {
                device.status = status;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn take_device_authorization(
        &self,
        device_code: &TokenHash,
        client_id: &str,
    ) -> Result<Option<DeviceAuthorization>, MemoryStoreError> {
        let mut tables = self.tables()?;
        // A pending one, or another client's, stays where it is.
        if tables
            .devices
            .get(device_code)
            .is_none_or(|d| d.client_id != client_id || d.status == DeviceStatus::Pending)
        {
            return Ok(None);
        }
        let taken = tables.devices.remove(device_code);
        if let Some(taken) = &taken {
            tables.user_codes.remove(&taken.user_code);
        }
        Ok(taken)
    }
}

impl AssertionStorage for MemoryStore {
    async fn record_assertion_jti(
        &self,
        jti: &TokenHash,
        expires_at: UnixTime,
    ) -> Result<bool, MemoryStoreError> {
        let mut tables = self.tables()?;
        if tables.assertion_jtis.contains_key(jti) {
            return Ok(false);
        }
        tables.assertion_jtis.insert(*jti, expires_at);
        Ok(true)
    }
}
/// The most DPoP proofs remembered before the expired ones are dropped on
/// insert: proofs live two minutes, so a flood cannot grow memory between
/// two purges without bound.
const MAX_DPOP_PROOFS: usize = 100_000;

impl crate::storage::DpopStorage for MemoryStore {
    async fn use_dpop_proof(&self, key: &TokenHash, until: UnixTime) -> Result<bool, MemoryStoreError> {
        let mut tables = self.tables()?;
        if tables.dpop_proofs.len() >= MAX_DPOP_PROOFS {
            let now = crate::now();
            tables.dpop_proofs.retain(|_, kept| *kept > now);
        }
        if tables.dpop_proofs.contains_key(key) {
            return Ok(false);
        }
        tables.dpop_proofs.insert(*key, until);
        Ok(true)
    }
}

impl crate::storage::DeclaredStorage for MemoryStore {
    fn declare<V: crate::storage::StorageVisitor<Self>>(visitor: &mut V) {
        visitor.codes();
        visitor.refresh_tokens();
        visitor.sessions();
        visitor.pushed_requests();
        visitor.assertion_ids();
        visitor.dpop_proofs();
        visitor.device_authorizations();
    }
}

impl Grants for MemoryStore {
    /// The policy is chosen at run time: [`Server::new`](crate::Server::new)
    /// serves OAuth 2.0, [`Server::with_setup`](crate::Server::with_setup)
    /// with an [`OpenIdSetup`](crate::OpenIdSetup) also OpenID Connect when the
    /// policy declares it.
    type Setup = Option<crate::OpenIdSetup>;

    fn policy(&self) -> Policy {
        self.policy.clone()
    }

    async fn exchange(
        &self,
        grant: GrantType,
        request: GrantRequest<'_, ClientRecord>,
    ) -> Result<TokenResponse, OAuthError> {
        match grant {
            GrantType::AuthorizationCode => grants::authorization_code::exchange(self, request).await,
            GrantType::ClientCredentials => grants::client_credentials::exchange(self, request).await,
            GrantType::Password => grants::password::exchange(self, request).await,
            GrantType::RefreshToken => grants::refresh_token::exchange(self, request).await,
            GrantType::DeviceCode => grants::device_code::exchange(self, request).await,
        }
    }

    async fn find_token(&self, hash: &TokenHash) -> Result<Option<FoundToken>, OAuthError> {
        crate::lookup::access_or_refresh_token(self, hash).await
    }

    async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), OAuthError> {
        crate::par::save(self, request).await
    }

    async fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, OAuthError> {
        crate::par::take(self, request_uri, client_id).await
    }

    async fn record_assertion_jti(&self, jti: &TokenHash, expires_at: UnixTime) -> Result<bool, OAuthError> {
        crate::assertion::record_jti(self, jti, expires_at).await
    }

    async fn save_device_authorization(&self, authorization: DeviceAuthorization) -> Result<(), OAuthError> {
        crate::device::save(self, authorization).await
    }

    async fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, OAuthError> {
        crate::device::by_user_code(self, user_code).await
    }

    async fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> Result<bool, OAuthError> {
        crate::device::decide(self, user_code, status).await
    }
    async fn use_dpop_proof(&self, key: &TokenHash, until: UnixTime) -> Result<bool, OAuthError> {
        crate::storage::DpopStorage::use_dpop_proof(self, key, until)
            .await
            .map_err(|e| OAuthError::storage(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: u8, family: &str) -> TokenRecord {
        TokenRecord {
            access_token: TokenHash::from_bytes([n; 32]),
            refresh_token: Some(TokenHash::from_bytes([n.wrapping_add(100); 32])),
            client_id: "c".into(),
            subject: None,
            scope: Scope::empty(),
            family: family.into(),
            issued_at: 0,
            expires_at: i64::MAX,
            refresh_expires_at: None,
            rotated: false,
            refresh_scope: None,
            jkt: None,
        }
    }

    #[tokio::test]
    async fn a_token_saved_into_a_revoked_family_is_never_stored() {
        let store = MemoryStore::new();
        store.save_token(token(1, "f")).await.unwrap();
        store.revoke_token_family("f").await.unwrap();
        store.save_token(token(2, "f")).await.unwrap();
        assert!(
            store
                .access_token(&TokenHash::from_bytes([2; 32]))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .refresh_token(&TokenHash::from_bytes([102; 32]))
                .await
                .unwrap()
                .is_none()
        );
        // Other families are not affected.
        store.save_token(token(3, "g")).await.unwrap();
        assert_eq!(store.token_count(), 1);
    }

    #[tokio::test]
    async fn tombstones_are_forgotten_after_the_retention_and_beyond_the_cap() {
        let store = MemoryStore::new();
        store.revoke_token_family("f").await.unwrap();
        store.purge_expired(crate::now() + REVOKED_FAMILY_RETENTION_SECS + 1);
        store.save_token(token(1, "f")).await.unwrap();
        assert_eq!(store.token_count(), 1, "the tombstone was forgotten");

        let mut tables = Tables::default();
        for n in 0..10 {
            tables.tombstone(&format!("f{n}"), 1000);
        }
        tables.tombstone("f0", 1001);
        tables.forget_tombstones(0, 5);
        assert_eq!(tables.revoked_order.len(), 5);
        // f0 was revoked again later: its newer tombstone survives the older one.
        assert!(tables.revoked.contains_key("f0"));
        assert!(!tables.revoked.contains_key("f1"));
    }

    #[tokio::test]
    async fn purging_and_revoking_leave_no_family_entries_behind() {
        let store = MemoryStore::new();
        let mut expired = token(1, "f");
        expired.expires_at = 10;
        store.save_token(expired).await.unwrap();
        store.save_token(token(2, "f")).await.unwrap();
        store.save_token(token(3, "g")).await.unwrap();
        store.purge_expired(20);
        assert_eq!(store.token_count(), 2);
        store.revoke_token_family("f").await.unwrap();
        let tables = store.tables().unwrap();
        assert_eq!(tables.tokens.len(), 1);
        assert_eq!(tables.families.len(), 1, "only `g` is left");
        assert_eq!(tables.refresh_index.len(), 1);
    }

    #[test]
    fn digest_keys_hash_to_their_last_eight_bytes() {
        use std::hash::BuildHasher as _;
        let build = BuildHasherDefault::<DigestHasher>::default();
        let key = crate::NewToken::generate().unwrap().hash();
        let last: [u8; 8] = key.as_bytes()[24..].try_into().unwrap();
        assert_eq!(build.hash_one(key), u64::from_ne_bytes(last));
        // Two tokens of the same millisecond share their first bytes only.
        let other = crate::NewToken::generate().unwrap().hash();
        assert_ne!(build.hash_one(other), build.hash_one(key));
    }
}
