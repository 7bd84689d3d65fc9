//! The derives and the policy attribute of [granted]; use them through the
//! `granted` crate, which re-exports them.
//!
//! - [`Client`], [`Token`], [`AuthorizationCode`] and [`User`] implement the
//!   runtime's model traits for your own structs, field by field, from
//!   `#[oauth(role)]` attributes.
//! - [`server`] declares the grants of your storage once, checks at compile
//!   time that its `impl` block has every storage method they need, and
//!   generates the glue to the runtime.
//!
//! Each macro works in three stages: parse the input into a typed model,
//! validate it (every mistake is reported, each at the token at fault), and
//! expand the valid model. Generated code names only paths under
//! `::granted::__private`.
//!
//! [granted]: https://docs.rs/granted

// A macro never panics: every failure is a spanned compile error.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod derive;
mod errors;
mod methods;
mod paths;
mod policy;
mod suggest;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `ClientModel` for a registered client.
///
/// Mark the fields with their roles; other fields are ignored. Roles:
/// `client_id`, `client_secret` (the hash from
/// `granted::hash_client_secret`; `None` marks a public client),
/// `redirect_uris`, `grant_types`, `scope`, and optionally
/// `token_endpoint_auth_method`, `jwks` (the public keys of a
/// `private_key_jwt` client, a JWK Set as JSON text) and
/// `require_pushed_authorization_requests`. The types each accepts are in the table
/// below, with those of the other derives.
///
/// ```ignore
/// #[derive(granted::Client)]
/// struct App {
///     #[oauth(client_id)]
///     id: String,
///     #[oauth(client_secret)]
///     secret_hash: Option<String>,
///     #[oauth(redirect_uris)]
///     redirect_uris: Vec<String>,
///     #[oauth(grant_types)]
///     grant_types: Vec<String>,
///     #[oauth(scope)]
///     scope: String,
/// }
/// ```
///
#[doc = include_str!("../docs/field-types.md")]
#[proc_macro_derive(Client, attributes(oauth))]
pub fn derive_client(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    // Never fails: on error, the errors come with a stand-in implementation.
    derive::or_stand_in(derive::client::derive(&input), &input, derive::client::stand_in).into()
}

/// Implements `TokenModel` for an issued token, which storage keeps by hash.
///
/// Required roles: `access_token` (its `TokenHash`, a digest, never the token itself),
/// `client_id`, `scope`, `family`, `issued_at` and `expires_at`.
///
/// Optional roles: `subject` (the user; needed by grants acting for a user,
/// and implements `SubjectToken`), and the four refresh fields together:
/// `refresh_token`, `refresh_expires_at`, `rotated` and `refresh_scope` (the
/// refresh token's scope when a refresh narrowed the access token's, RFC
/// 6749 §6; `None` when they are the same), which implement
/// `RefreshableToken`, and `jkt` (`Option<String>`: the DPoP key a token is
/// bound to; implements `DpopToken`, which `dpop` needs). Fields without a
/// role are set to `Default::default()`
/// when the runtime issues a token. The types each role accepts are in the
/// table below.
///
/// ```ignore
/// #[derive(granted::Token)]
/// struct Token {
///     #[oauth(access_token)]
///     access_token_hash: String,
///     #[oauth(refresh_token)]
///     refresh_token_hash: Option<String>,
///     #[oauth(client_id)]
///     client_id: String,
///     #[oauth(subject)]
///     subject: Option<String>,
///     #[oauth(scope)]
///     scope: String,
///     #[oauth(family)]
///     family: String,
///     #[oauth(issued_at)]
///     issued_at: i64,
///     #[oauth(expires_at)]
///     expires_at: i64,
///     #[oauth(refresh_expires_at)]
///     refresh_expires_at: Option<i64>,
///     #[oauth(rotated)]
///     rotated: bool,
///     #[oauth(refresh_scope)]
///     refresh_scope: Option<String>,
/// }
/// ```
///
#[doc = include_str!("../docs/field-types.md")]
#[proc_macro_derive(Token, attributes(oauth))]
pub fn derive_token(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    // Never fails: on error, the errors come with a stand-in implementation.
    derive::or_stand_in(derive::token::derive(&input), &input, derive::token::stand_in).into()
}

/// Implements `CodeModel` for an authorization code, which storage keeps by
/// hash.
///
/// Required roles: `code` (its SHA-256), `client_id`, `subject`,
/// `redirect_uri`, `code_challenge`, `code_challenge_method`, `scope`,
/// `expires_at`. Optional: `nonce` and `auth_time`, both needed for OpenID
/// Connect. Fields without a role are set to `Default::default()`. The
/// types each role accepts are in the table below.
///
/// ```ignore
/// #[derive(granted::AuthorizationCode)]
/// struct Code {
///     #[oauth(code)]
///     code_hash: String,
///     #[oauth(client_id)]
///     client_id: String,
///     #[oauth(redirect_uri)]
///     redirect_uri: Option<String>,
///     #[oauth(scope)]
///     scope: String,
///     #[oauth(subject)]
///     subject: String,
///     #[oauth(code_challenge)]
///     code_challenge: Option<String>,
///     #[oauth(code_challenge_method)]
///     code_challenge_method: Option<String>,
///     #[oauth(expires_at)]
///     expires_at: i64,
/// }
/// ```
///
#[doc = include_str!("../docs/field-types.md")]
#[proc_macro_derive(AuthorizationCode, attributes(oauth))]
pub fn derive_authorization_code(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    // Never fails: on error, the errors come with a stand-in implementation.
    derive::or_stand_in(derive::code::derive(&input), &input, derive::code::stand_in).into()
}

/// Implements `UserModel` for a resource owner.
///
/// Roles: `subject` (the stable, opaque user id), `username`, and
/// `password_hash` (the argon2 PHC string from `granted::hash_password`).
/// The types each accepts are in the table below.
///
/// ```ignore
/// #[derive(granted::User)]
/// struct Account {
///     #[oauth(subject)]
///     id: String,
///     #[oauth(username)]
///     login: String,
///     #[oauth(password_hash)]
///     password_hash: String,
/// }
/// ```
///
#[doc = include_str!("../docs/field-types.md")]
#[proc_macro_derive(User, attributes(oauth))]
pub fn derive_user(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    // Never fails: on error, the errors come with a stand-in implementation.
    derive::or_stand_in(derive::user::derive(&input), &input, derive::user::stand_in).into()
}

/// Declares the policy of an authorization server on the `impl` block of its
/// storage: which grants are enabled and with which options. Checks at
/// compile time that the block has every storage method the grants need, and
/// implements the runtime's storage traits and `Grants` by delegating to
/// them; adds `fn into_server(self) -> granted::Server<Self>` (with
/// `openid`: `into_server(self, keys, issuer)`, below).
///
/// ```ignore
/// #[granted::server(
///     client = App, token = Token, code = Code,
///     grants(authorization_code, refresh_token, client_credentials),
///     access_token_ttl = "15m",
///     scopes = "read write",
/// )]
/// impl Store {
///     async fn client(&self, client_id: &str) -> Result<Option<App>, StoreError> { ... }
///     // ... the methods listed below for the enabled grants
/// }
///
/// let server = Store::new().into_server();
/// ```
///
/// # Arguments
///
/// Each at most once, in any order.
///
/// | argument | meaning |
/// | --- | --- |
/// | `client = Type` | the client model (`#[derive(granted::Client)]`); required |
/// | `token = Type` | the token model (`#[derive(granted::Token)]`); required |
/// | `code = Type` | the authorization code model (`#[derive(granted::AuthorizationCode)]`); required by, and only allowed with, `authorization_code` |
/// | `user = Type` | the user model (`#[derive(granted::User)]`); required by `password` |
/// | `grants(...)` | the enabled grants, below; at least one |
/// | `access_token_ttl = "1h"`, `refresh_token_ttl = "30d"`, `code_ttl = "60s"` | lifetimes (these are the defaults): a positive whole number and a unit, `s`, `m`, `h` or `d` |
/// | `scopes = "read write"` | the declared scopes (`scopes_supported` in the metadata), separated by single spaces; each is visible ASCII without `"` or `\` (RFC 6749 §3.3), and commas are refused (`"read, write"` would declare `read,`) |
/// | `openid`, `openid(signing = "RS256")` | OpenID Connect on the code flow, below |
/// | `par`, `par(required)` | pushed authorization requests (RFC 9126), below |
/// | `client_auth(private_key_jwt)` | the opt-in client authentication methods, below |
/// | `dpop`, `dpop(required)` | DPoP (RFC 9449), below |
///
/// # Pushed authorization requests
///
/// `par` serves `POST /oauth/par` (RFC 9126): a client, authenticated as at
/// the token endpoint, pushes the parameters of an authorization request,
/// which are validated as at the authorization endpoint, and receives a
/// `request_uri` (`urn:ietf:params:oauth:request_uri:...`, valid 60 s) to
/// send the user agent to `/oauth/authorize?client_id=...&request_uri=...`
/// with; it is used once. With `par(required)` every authorization request
/// must be pushed; with `par`, only those of clients registered with
/// `require_pushed_authorization_requests`. It needs `authorization_code`
/// and the `save_pushed_request` and `take_pushed_request` storage methods.
///
/// # Device authorization grant
///
/// `device_code` in `grants(...)` serves `POST /oauth/device_authorization`
/// (RFC 8628 §3.1; clients authenticate as at the token endpoint, public
/// clients with `client_id`) and the token endpoint's
/// `urn:ietf:params:oauth:grant-type:device_code` grant. The device gets a
/// `device_code` and a `user_code` (`XXXX-XXXX`, 20 consonants; compared
/// without case, dashes or spaces) and polls every `interval` seconds
/// (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`);
/// the user enters the code on your verification page at `/device` of the
/// issuer, which calls `Server::find_device_authorization` (under a
/// per-source failure budget) and `Server::decide_device_authorization`.
/// Both codes are stored hashed; a decided authorization is taken once. It
/// needs an issuer (`Policy::with_issuer`) and the six device storage
/// methods below.
///
/// # Client authentication
///
/// `client_secret_basic`, `client_secret_post` and `none` are always
/// accepted, each from the clients registered with it.
/// `client_auth(private_key_jwt)` also accepts `private_key_jwt` (RFC 7523
/// §2.2, OpenID Connect Core §9) from clients registered with it and with
/// their public keys (`jwks`): a JWT signed with RS256, ES256 or EdDSA
/// (Ed25519), `iss` and `sub` the client id, `aud` the issuer or the
/// endpoint's URL, `exp` at most 5 minutes ahead, and a `jti` used once (kept
/// by the `record_assertion_jti` storage method). It works at every endpoint
/// that authenticates clients, and needs an issuer (`server.configure(|p|
/// p.with_issuer(...))`, or the one `openid` takes).
///
/// # OpenID Connect
///
/// `openid` adds an `id_token` to the code exchange when the user granted
/// the `openid` scope, the userinfo endpoint, and the discovery fields of the
/// metadata. It needs `authorization_code`, a code model with `nonce` and
/// `auth_time` fields, and the `user_claims` storage method.
///
/// An OpenID provider cannot run without its signing keys and its issuer, so
/// `into_server` then takes both, and is the only way to build its server
/// (`granted::Server::new` does not compile for it):
///
/// ```ignore
/// into_server(self, keys: granted::KeyRing, issuer: impl Into<String>) -> granted::Server<Self>
///
/// let keys = granted::KeyRing::new([granted::SigningKey::generate(granted::SigningAlg::Rs256)?]);
/// let server = store.into_server(keys, "https://auth.example.com");
/// ```
///
/// The issuer is the URL the provider is reached at (`https`, no query or
/// fragment): the `iss` of every id_token, of the metadata and of the
/// authorization responses. It belongs to the deployment, not to the policy,
/// so it is not an argument of the attribute. Generate the keys once, store
/// them, and load them on start (the example server keeps them in its
/// database).
/// `signing` is `"RS256"` (the default, which OpenID Connect Discovery §3
/// requires every provider to offer), `"ES256"` or `"Ed25519"` (RFC 9864's
/// fully-specified name; the deprecated `"EdDSA"` is refused, as are the
/// symmetric `HS*` and `none`). RSA is slow in an unoptimized build (an
/// RS256 id_token took 57 ms to sign in one debug build, 2.9 ms with the
/// overrides): add `opt-level = 3` for `[profile.dev.package.rsa]` and
/// `[profile.dev.package.num-bigint-dig]` to your `Cargo.toml`, as the
/// `granted` crate docs show.
///
/// # DPoP
///
/// `dpop` binds tokens to the client's key when a token request carries a
/// `DPoP` proof (RFC 9449): the answer's `token_type` is `DPoP`, the token
/// works only as `Authorization: DPoP <token>` with a fresh proof of that
/// key, and a public client's refresh token needs one too. Requests without
/// a proof get bearer tokens, unless the client's model says
/// `dpop_bound_access_tokens`; `dpop(required)` refuses them all. It needs
/// a token model with a `#[oauth(jkt)] jkt: Option<String>` field, the
/// `use_dpop_proof` storage method (each proof is accepted once), and an
/// issuer in the policy (proofs name the URL they were made for).
///
/// # Grants
///
/// | grant | options |
/// | --- | --- |
/// | `authorization_code` | `pkce = "S256"` (default: S256 required for public clients), `"required"` (S256 for every client), or `"plain"` (also allows the insecure `plain` method; needs `allow_insecure`) |
/// | `client_credentials` | none |
/// | `refresh_token` | `rotate = true` (default; RFC 9700 §4.14) or `rotate = false`; needs a grant that issues refresh tokens (`authorization_code`, `password` or `device_code`) |
/// | `password` | must be written `password(allow_insecure)`: the client sees the user's password (RFC 9700 §2.4) |
/// | `device_code` | none: the device authorization grant (RFC 8628), below |
///
/// The implicit grant is not implemented (RFC 9700 §2.1.2).
///
/// # Storage methods
///
/// The storage error type is read from the `Result` your `client` method
/// returns, and every method must return the same. With your own model and
/// error types in place of `MyClient`, `MyToken`, `MyCode`, `MyUser` and
/// `MyError` (`TokenHash` is `granted::TokenHash`):
///
/// Every server:
///
/// - `async fn client(&self, client_id: &str) -> Result<Option<MyClient>, MyError>`
/// - `async fn save_token(&self, token: MyToken) -> Result<(), MyError>`
/// - `async fn access_token(&self, hash: &TokenHash) -> Result<Option<MyToken>, MyError>`
/// - `async fn revoke_token_family(&self, family: &str) -> Result<(), MyError>`
///   (it also covers tokens saved into the family later: see
///   `granted::storage::Storage::revoke_token_family`)
///
/// `authorization_code`:
///
/// - `async fn save_code(&self, code: MyCode) -> Result<(), MyError>`
/// - `async fn take_code(&self, hash: &TokenHash) -> Result<Option<MyCode>, MyError>`
///
/// `refresh_token`:
///
/// - `async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<MyToken>, MyError>`
/// - `async fn rotate_refresh_token(&self, old: &TokenHash, new: MyToken) -> Result<bool, MyError>`
///
/// `password`:
///
/// - `async fn user_by_username(&self, username: &str) -> Result<Option<MyUser>, MyError>`
///
/// `openid` (`UserClaims` is `granted::UserClaims`):
///
/// - `async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, MyError>`
///
/// `par` (`PushedRequest` is `granted::PushedRequest`; `take_pushed_request`
/// is atomic and takes only a request pushed by `client_id`):
///
/// - `async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), MyError>`
/// - `async fn take_pushed_request(&self, request_uri: &TokenHash, client_id: &str) -> Result<Option<PushedRequest>, MyError>`
///
/// `client_auth(private_key_jwt)` (returns `false` for a `jti` already
/// recorded, atomically: store it under a unique key until `expires_at`):
///
/// - `async fn record_assertion_jti(&self, jti: &TokenHash, expires_at: i64) -> Result<bool, MyError>`
///
/// `dpop` (atomic: of two calls with one `key`, at most one returns `true`):
///
/// - `async fn use_dpop_proof(&self, key: &TokenHash, until: i64) -> Result<bool, MyError>`
///
/// `device_code` (`DeviceAuthorization` and `DeviceStatus` are
/// `granted::DeviceAuthorization` and `granted::DeviceStatus`;
/// `decide_device_authorization` changes only a pending authorization and
/// `take_device_authorization` takes only a decided one of `client_id`,
/// each atomically):
///
/// - `async fn save_device_authorization(&self, authorization: DeviceAuthorization) -> Result<(), MyError>`
/// - `async fn device_authorization(&self, device_code: &TokenHash) -> Result<Option<DeviceAuthorization>, MyError>`
/// - `async fn device_authorization_by_user_code(&self, user_code: &TokenHash) -> Result<Option<DeviceAuthorization>, MyError>`
/// - `async fn record_device_poll(&self, device_code: &TokenHash, polled_at: i64, interval: i64) -> Result<(), MyError>`
/// - `async fn decide_device_authorization(&self, user_code: &TokenHash, status: DeviceStatus) -> Result<bool, MyError>`
/// - `async fn take_device_authorization(&self, device_code: &TokenHash, client_id: &str) -> Result<Option<DeviceAuthorization>, MyError>`
///
/// Other methods of the block are left alone. Every future must be `Send`.
///
/// What the signatures cannot say (a revoked token family stays revoked,
/// `refresh_token` also finds rotated tokens, `take_code` and
/// `rotate_refresh_token` are atomic) is in the docs of the runtime's
/// storage traits, and checked by the storage conformance kit: with the
/// `testing` feature of `granted`, a test calling
/// `granted::testing::check_storage(|| async { Store::new() })` drives the
/// storage through the rules of every grant declared here.
#[proc_macro_attribute]
pub fn server(args: TokenStream, item: TokenStream) -> TokenStream {
    // Never fails: on error the user's `impl` block is kept beside the errors.
    policy::server(args.into(), item.into()).into()
}
