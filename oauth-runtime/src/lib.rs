//! The framework-agnostic core of [granted]: OAuth 2.0 requests, the RFC
//! error model, model and storage traits, the built-in grants, token
//! generation and hashing, and an in-memory store.
//!
//! Most users depend on the `granted` facade, whose derives and
//! `#[granted::server]` attribute implement the traits of this crate for
//! their own types.
//!
//! [granted]: https://docs.rs/granted

// Library code never panics on input; tests may.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod assertion;
mod client_auth;
pub mod device;
pub mod dpop;
pub mod endpoints;
mod error;
mod form;
pub mod grants;
pub mod lookup;
mod memory;
pub mod model;
mod offload;
pub mod oidc;
pub mod par;
pub mod pkce;
mod policy;
mod public_jwk;
mod request;
mod scope;
mod secret;
mod server;
mod session;
pub mod storage;
pub mod throttle;
mod token;

pub use client_auth::{AuthenticatedClient, authenticate, presented_client_id};
pub use device::{DeviceAuthorization, DeviceStatus};
pub use endpoints::authorize::{AuthorizationResponse, AuthorizeError, PendingAuthorization, ResponseMode};
pub use endpoints::bearer::{BearerError, BearerToken};
pub use endpoints::device::{DeviceAuthorizationResponse, DeviceLookupError, PendingDevice};
pub use endpoints::introspect::Introspection;
pub use endpoints::metadata::{EndpointPaths, Metadata};
pub use endpoints::par::PushedAuthorization;
pub use error::{ErrorCode, OAuthError, StorageUnavailable, is_description_char};
pub use form::{MAX_PARAMS, Params};
pub use grants::password::{SignIn, sign_in, verify_user_password};
pub use memory::{ClientRecord, MemoryStore, MemoryStoreError, UserRecord};
pub use model::{
    AuthMethod, ClientModel, ClientModelExt, CodeModel, CodeRecord, DpopToken, OpenIdCode, RefreshableToken,
    SubjectToken, TokenModel, TokenRecord, UnixTime, UserModel,
};
pub use offload::{BlockingJob, Offload, OffloadError};
pub use oidc::{KeyRing, SigningAlg, SigningKey, UserClaims};
pub use par::PushedRequest;
pub use pkce::PkceMethod;
pub use policy::{DpopPolicy, DurationError, GrantType, ParPolicy, PkcePolicy, Policy, parse_duration};
pub use request::{MAX_BODY_BYTES, Request, Response};
pub use scope::Scope;
pub use secret::{
    PasswordError, Secret, hash_client_secret, hash_password, verify_client_secret, verify_password,
    verify_password_of_unknown_user,
};
pub use server::{
    FoundToken, GrantRequest, Grants, OpenIdSetup, OptionalSetup, Server, ServerSetup, TokenKind,
    TokenResponse, now,
};
pub use session::LoginSession;
pub use storage::{
    AssertionStorage, ClaimsStorage, CodeStorage, DeviceStorage, DpopStorage, PushedRequestStorage,
    RefreshStorage, SessionStorage, Storage, UserStorage,
};
pub use token::{NewToken, ParseTokenHashError, TokenHash};

pub use http;
