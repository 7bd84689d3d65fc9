//! Async storage traits, split by capability: a server implements only what
//! its enabled grants need. `#[granted::server]` implements them by
//! delegating to the methods of the user's `impl` block.
//!
//! Every method returns a `Send` future so that servers run on multi-threaded
//! executors; write them as plain `async fn`.
//!
//! The rules no signature shows (a revoked family stays revoked,
//! `refresh_token` finds rotated tokens, `take_code` and
//! `rotate_refresh_token` are atomic, ...) are checked by the storage
//! conformance kit, `granted::testing::check_storage` (feature `testing` of
//! `granted`): run it in a test of your storage.

use std::future::Future;

use crate::device::{DeviceAuthorization, DeviceStatus};
use crate::model::{ClientModel, CodeModel, TokenModel, UnixTime, UserModel};
use crate::oidc::UserClaims;
use crate::par::PushedRequest;
use crate::{LoginSession, Scope, TokenHash};

/// How long, in seconds, a store remembers a revoked token family (see
/// [`Storage::revoke_token_family`]): ten minutes, far longer than any
/// request that was in flight at the revocation.
pub const REVOKED_FAMILY_RETENTION_SECS: i64 = 600;

/// What every server needs: clients and issued tokens.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an OAuth storage",
    label = "this type must store clients and tokens",
    note = "put `#[granted::server(...)]` on an `impl` block of `{Self}` that defines `client`, `save_token`, `access_token` and `revoke_token_family`"
)]
pub trait Storage: Sized + Send + Sync + 'static {
    /// The client model.
    type Client: ClientModel;
    /// The token model.
    type Token: TokenModel;
    /// The storage's error; it is logged and answered as `server_error`, or
    /// as `temporarily_unavailable` when its source chain holds a
    /// [`StorageUnavailable`](crate::StorageUnavailable) or a timed-out
    /// `std::io::Error` (see [`OAuthError::storage`](crate::OAuthError::storage)).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Looks a client up by its id.
    fn client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Self::Client>, Self::Error>> + Send;

    /// Stores a newly issued token.
    fn save_token(&self, token: Self::Token) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Looks a token up by the hash of its access token.
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<Self::Token>, Self::Error>> + Send;

    /// Revokes (deletes) every token of a family: on revocation, on a
    /// replayed code and on a reused refresh token.
    ///
    /// The revocation covers tokens saved into the family *later* too: a
    /// replayed code may arrive while the first redemption of that code is
    /// still saving its tokens, and those must never become usable. So the
    /// store remembers the revoked family (a tombstone) for at least
    /// [`REVOKED_FAMILY_RETENTION_SECS`], and [`save_token`](Self::save_token)
    /// of a token of a remembered family stores nothing (or stores it
    /// revoked): it never validates, introspects active or refreshes.
    /// Nothing else can add to a revoked family, since its refresh tokens
    /// are gone, so the tombstone only has to outlive requests in flight.
    fn revoke_token_family(&self, family: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Authorization codes, for the `authorization_code` grant.
pub trait CodeStorage: Storage {
    /// The authorization code model.
    type Code: CodeModel;

    /// Stores a newly issued code.
    fn save_code(&self, code: Self::Code) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Removes the code with this hash and returns it, atomically: of two
    /// concurrent calls with one hash at most one may return `Some`.
    fn take_code(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<Self::Code>, Self::Error>> + Send;
}

/// Refresh tokens, for the `refresh_token` grant.
pub trait RefreshStorage: Storage {
    /// Looks a token up by the hash of its refresh token, including one whose
    /// refresh token was already rotated (so that reuse can be detected).
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<Self::Token>, Self::Error>> + Send;

    /// Atomically marks the token holding refresh token `old` as rotated and
    /// stores `new`. Returns `false`, storing nothing, when `old` is unknown
    /// or already rotated: of two concurrent calls at most one returns `true`.
    fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        new: Self::Token,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// Users (resource owners), for the `password` grant and the login page.
pub trait UserStorage: Storage {
    /// The user model.
    type User: UserModel;

    /// Looks a user up by login name.
    fn user_by_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>> + Send;
}

/// The standard claims of users, for OpenID Connect's userinfo endpoint.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serve OpenID Connect user claims",
    label = "userinfo needs the user claims storage",
    note = "declare `openid` in `#[granted::server(...)]` and define `async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, Error>` in the `impl` block"
)]
pub trait ClaimsStorage: Storage {
    /// The claims of the user with subject identifier `subject`; `None` for
    /// an unknown user. Only the claims of the granted scopes are released.
    fn user_claims(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Option<UserClaims>, Self::Error>> + Send;
}

/// The DPoP proofs seen, for `#[granted::server(dpop)]`: each proof is
/// accepted once (RFC 9449 §11.1). A store shared by several instances
/// keeps them where all of them see them, so that a proof replayed to
/// another instance is refused too.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot remember DPoP proofs",
    label = "DPoP needs the proofs' replay store",
    note = "declare `dpop` in `#[granted::server(...)]` and define `async fn use_dpop_proof(&self, key: &TokenHash, until: i64) -> Result<bool, Error>` in the `impl` block"
)]
pub trait DpopStorage: Storage {
    /// Records the proof `key` (a hash of the proof's key and `jti`, see
    /// [`crate::dpop::Proof::replay_key`]) until `until`, atomically:
    /// returns `true` when it was not recorded yet, `false` when it was (a
    /// replay). Of two concurrent calls with one key at most one returns
    /// `true`. A record may be forgotten once `until` has passed.
    fn use_dpop_proof(
        &self,
        key: &TokenHash,
        until: UnixTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// Login sessions of an application's login page, kept by the storage so
/// that a user signed in on one instance is signed in on every instance
/// sharing it. Sessions are keyed by the SHA-256 of their cookie value:
/// the storage never sees the cookie itself.
pub trait SessionStorage: Storage {
    /// Stores a new session under `id`, first ending the browser's
    /// `previous` session if any (one browser, one session: signing in as
    /// another user leaves nothing of the first one usable).
    fn start_session(
        &self,
        id: &TokenHash,
        session: LoginSession,
        previous: Option<&TokenHash>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The session `id`, if it exists and is live at `now`.
    fn session(
        &self,
        id: &TokenHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<LoginSession>, Self::Error>> + Send;

    /// Records that the user of session `id` approved `scope` for `client_id`.
    fn add_consent(
        &self,
        id: &TokenHash,
        client_id: &str,
        scope: &Scope,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Ends the session `id` (signing out).
    fn end_session(&self, id: &TokenHash) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The storage traits besides [`Storage`] that a storage implements, told to
/// a [`StorageVisitor`]: how a tool generic over storages (the conformance
/// kit, `granted::testing::check_storage`) reaches each trait's methods
/// without being told which ones a storage has.
///
/// `#[granted::server]` implements it with the traits its grants need;
/// [`MemoryStore`](crate::MemoryStore) and `granted::sql::SqlStore`
/// implement it with every trait they have. A storage written by hand
/// implements it like this:
///
/// ```
/// use oauth_runtime::MemoryStore;
/// use oauth_runtime::storage::{DeclaredStorage, StorageVisitor};
///
/// struct Mine(MemoryStore);
/// # use oauth_runtime::{ClientRecord, CodeRecord, TokenHash, TokenRecord, MemoryStoreError};
/// # use oauth_runtime::storage::{CodeStorage, Storage};
/// # impl Storage for Mine {
/// #     type Client = ClientRecord;
/// #     type Token = TokenRecord;
/// #     type Error = MemoryStoreError;
/// #     async fn client(&self, id: &str) -> Result<Option<ClientRecord>, MemoryStoreError> { self.0.client(id).await }
/// #     async fn save_token(&self, t: TokenRecord) -> Result<(), MemoryStoreError> { self.0.save_token(t).await }
/// #     async fn access_token(&self, h: &TokenHash) -> Result<Option<TokenRecord>, MemoryStoreError> { self.0.access_token(h).await }
/// #     async fn revoke_token_family(&self, f: &str) -> Result<(), MemoryStoreError> { self.0.revoke_token_family(f).await }
/// # }
/// # impl CodeStorage for Mine {
/// #     type Code = CodeRecord;
/// #     async fn save_code(&self, c: CodeRecord) -> Result<(), MemoryStoreError> { self.0.save_code(c).await }
/// #     async fn take_code(&self, h: &TokenHash) -> Result<Option<CodeRecord>, MemoryStoreError> { self.0.take_code(h).await }
/// # }
///
/// // `Mine` implements `Storage` and `CodeStorage`.
/// impl DeclaredStorage for Mine {
///     fn declare<V: StorageVisitor<Self>>(visitor: &mut V) {
///         visitor.codes();
///     }
/// }
/// ```
pub trait DeclaredStorage: Storage {
    /// Calls the method of `visitor` for each storage trait besides
    /// [`Storage`] that `Self` implements.
    fn declare<V: StorageVisitor<Self>>(visitor: &mut V);
}

/// What [`DeclaredStorage::declare`] tells: one method per storage trait,
/// callable only when the storage implements it.
pub trait StorageVisitor<S: Storage> {
    /// `S` implements [`CodeStorage`].
    fn codes(&mut self)
    where
        S: CodeStorage;

    /// `S` implements [`RefreshStorage`].
    fn refresh_tokens(&mut self)
    where
        S: RefreshStorage;

    /// `S` implements [`SessionStorage`].
    fn sessions(&mut self)
    where
        S: SessionStorage;

    /// `S` implements [`PushedRequestStorage`].
    fn pushed_requests(&mut self)
    where
        S: PushedRequestStorage;

    /// `S` implements [`AssertionStorage`].
    fn assertion_ids(&mut self)
    where
        S: AssertionStorage;

    /// `S` implements [`DeviceStorage`].
    fn device_authorizations(&mut self)
    where
        S: DeviceStorage;

    /// `S` implements [`DpopStorage`].
    fn dpop_proofs(&mut self)
    where
        S: DpopStorage;
}

/// Pushed authorization requests (RFC 9126), for `par` in
/// `#[granted::server(...)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot keep pushed authorization requests",
    label = "`par` needs the pushed request storage",
    note = "declare `par` in `#[granted::server(...)]` and define `save_pushed_request` and `take_pushed_request` in the `impl` block"
)]
pub trait PushedRequestStorage: Storage {
    /// Stores a pushed request until it is taken or expires.
    fn save_pushed_request(
        &self,
        request: PushedRequest,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Removes the pushed request with this `request_uri` hash *pushed by
    /// `client_id`* and returns it, atomically: of two concurrent calls at
    /// most one returns `Some`, and a call naming another client neither
    /// returns nor removes it. An expired request may be returned (the
    /// runtime refuses it).
    fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<PushedRequest>, Self::Error>> + Send;
}

/// The ids (`jti`) of client assertions already used, for
/// `client_auth(private_key_jwt)` in `#[granted::server(...)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot remember used client assertions",
    label = "`private_key_jwt` needs the assertion id storage",
    note = "declare `client_auth(private_key_jwt)` in `#[granted::server(...)]` and define `record_assertion_jti` in the `impl` block"
)]
pub trait AssertionStorage: Storage {
    /// Records the hash of a client assertion's client id and `jti` until
    /// `expires_at` (the assertion's `exp`), under a unique key. Returns
    /// `false`, recording nothing, when it is already recorded (a replay):
    /// of two concurrent calls with one `jti` at most one returns `true`.
    fn record_assertion_jti(
        &self,
        jti: &TokenHash,
        expires_at: UnixTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// Device authorizations (RFC 8628), for `grants(device_code)` in
/// `#[granted::server(...)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot keep device authorizations",
    label = "`device_code` needs the device authorization storage",
    note = "declare `device_code` in `grants(...)` of `#[granted::server(...)]` and define `save_device_authorization`, `device_authorization`, `device_authorization_by_user_code`, `record_device_poll`, `decide_device_authorization` and `take_device_authorization` in the `impl` block"
)]
pub trait DeviceStorage: Storage {
    /// Stores a new device authorization until it is taken or expires.
    fn save_device_authorization(
        &self,
        authorization: DeviceAuthorization,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The device authorization with this device code hash, if any.
    fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> impl Future<Output = Result<Option<DeviceAuthorization>, Self::Error>> + Send;

    /// The device authorization with this (normalized) user code hash, if
    /// any.
    fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> impl Future<Output = Result<Option<DeviceAuthorization>, Self::Error>> + Send;

    /// Records that the device polled at `polled_at`, with the interval now
    /// in force (raised after a `slow_down`).
    fn record_device_poll(
        &self,
        device_code: &TokenHash,
        polled_at: UnixTime,
        interval: i64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Sets the status of the authorization with this user code hash to
    /// `status`, atomically and *only while it is pending*: `false`, changing
    /// nothing, when it is unknown or decided already (of two concurrent
    /// decisions at most one returns `true`).
    fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Removes the *decided* (approved or denied) authorization with this
    /// device code hash of `client_id` and returns it, atomically: of two
    /// concurrent calls at most one returns `Some`; a pending one, or one of
    /// another client, is neither returned nor removed.
    fn take_device_authorization(
        &self,
        device_code: &TokenHash,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<DeviceAuthorization>, Self::Error>> + Send;
}
