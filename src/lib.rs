//! # granted
//!
//! OAuth 2.0 authorization servers whose security policy is declared once, in
//! one attribute, and checked by the compiler.
//!
//! - Derive the model traits for your own structs: [`Client`], [`Token`],
//!   [`AuthorizationCode`], [`User`].
//! - Put [`server`] on the `impl` block of your storage: it enables the
//!   grants you list, checks at compile time that you wrote every storage
//!   method they need, and builds a [`Server`] whose metadata comes from the
//!   same declaration.
//!
//! Everything else is re-exported from `oauth-runtime`: the request and
//! response types, the error model, the grants and the [`MemoryStore`].
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `axum` | yes | [`axum`]: the OAuth routes, request extraction and a hardened HTTP server |
//! | `sqlite` | yes | [`sql::SqlStore`] on SQLite (bundled: nothing to install) |
//! | `postgres` | no | [`sql::SqlStore`] on PostgreSQL |
//! | `testing` | no | `testing`: the storage conformance kit, for your tests |
//!
//! The derives, `#[granted::server]`, the [`Server`] and its endpoints, and
//! [`MemoryStore`] need no feature: a library that declares its server with
//! the DSL over its own storage and serves it through its own web framework
//! depends on granted without the defaults, and runs the conformance kit
//! in its tests:
//!
//! ```toml
//! [dependencies]
//! granted = { version = "0.1", default-features = false }
//!
//! [dev-dependencies]
//! granted = { version = "0.1", default-features = false, features = ["testing"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! # Debug builds: RSA and argon2 need optimizing
//!
//! RS256, the id_token algorithm every OpenID provider must offer (and the
//! default of `openid`), is big-integer arithmetic, and password hashing
//! (argon2) is deliberately costly: unoptimized, both crawl. Measured on one
//! machine in a debug build, an RS256 id_token took 57 ms to sign (ES256:
//! 10 ms) and an RSA key 3.3 s to generate; with the overrides below, 2.9 ms
//! and 62 ms. Add to your `Cargo.toml` the overrides granted's own
//! workspace uses (they change debug builds only, and only these crates):
//!
//! ```toml
//! # RSA (RS256 id_tokens, key generation): big-integer arithmetic.
//! [profile.dev.package.num-bigint-dig]
//! opt-level = 3
//!
//! [profile.dev.package.rsa]
//! opt-level = 3
//!
//! # Password hashing (the login page, the password grant).
//! [profile.dev.package.argon2]
//! opt-level = 3
//!
//! [profile.dev.package.blake2]
//! opt-level = 3
//! ```
//!
//! # The authorization code flow
//!
//! The endpoints take a [`Request`] borrowed from whatever web framework
//! received it ([`axum`] does this for you) and answer a [`Response`]. The
//! flow through the public API, from the authorization request to the
//! revocation, here on the [`MemoryStore`] (a storage declared with
//! `#[granted::server]` serves the same calls):
//!
//! ```
//! use granted::http::{HeaderMap, HeaderValue, Method, header};
//! use granted::{ClientRecord, MemoryStore, Request, Server, pkce};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // authorization_code (PKCE S256), refresh_token (rotating), client_credentials.
//! let store = MemoryStore::new();
//! store.add_client(
//!     ClientRecord::confidential("web", "s3cret")
//!         .redirect_uris(["https://app.example/cb"])
//!         .grant_types(["authorization_code", "refresh_token"])
//!         .scope("read write"),
//! );
//! let server = Server::new(store).configure(|policy| policy.with_issuer("https://auth.example.com"));
//!
//! // 1. The browser arrives at the authorization endpoint with the client's request.
//! let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
//! let query = format!(
//!     "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb\
//!      &scope=read&state=af0ifjsldkj&code_challenge={}&code_challenge_method=S256",
//!     pkce::s256_challenge(verifier),
//! );
//! let none = HeaderMap::new();
//! let pending = server
//!     .authorize(&Request::new(&Method::GET, &none).with_query(Some(&query)))
//!     .await
//!     .expect("a valid authorization request");
//!
//! // 2. Your login page signs the user in (`granted::sign_in`) and asks for
//! //    consent; on approval, the user agent is sent back with a code.
//! let approved = server.approve(&pending, "user-1", None).await.expect("a code");
//! assert_eq!(approved.param("state"), Some("af0ifjsldkj"));
//! assert_eq!(approved.param("iss"), Some("https://auth.example.com"));
//! let code = approved.param("code").expect("the code");
//!
//! // 3. The client exchanges the code at the token endpoint (client_secret_basic).
//! let mut client = HeaderMap::new();
//! client.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
//! client.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic d2ViOnMzY3JldA==")); // web:s3cret
//! let body = format!(
//!     "grant_type=authorization_code&code={code}\
//!      &redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={verifier}"
//! );
//! let response = server.token(&Request::new(&Method::POST, &client).with_body(body.as_bytes())).await;
//! assert_eq!(response.status(), 200);
//! let tokens = response.json();
//! assert_eq!(tokens["scope"], "read");
//!
//! // 4. Later, it refreshes: the refresh token rotates.
//! let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
//! let body = format!("grant_type=refresh_token&refresh_token={refresh}");
//! let response = server.token(&Request::new(&Method::POST, &client).with_body(body.as_bytes())).await;
//! assert_eq!(response.status(), 200);
//! let refreshed = response.json();
//! assert_ne!(refreshed["refresh_token"].as_str(), Some(refresh));
//!
//! // 5. And revokes: the whole grant is gone.
//! let access = refreshed["access_token"].as_str().expect("an access token");
//! let body = format!("token={access}");
//! let revoked = server.revoke(&Request::new(&Method::POST, &client).with_body(body.as_bytes())).await;
//! assert_eq!(revoked.status(), 200);
//! let introspected = server
//!     .introspect(&Request::new(&Method::POST, &client).with_body(body.as_bytes()))
//!     .await;
//! assert_eq!(introspected.json(), serde_json::json!({"active": false}));
//! # });
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
#[cfg(feature = "testing")]
pub mod testing;

pub use oauth_macros::{AuthorizationCode, Client, Token, User, server};
pub use oauth_runtime::*;

/// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Paths used by the code the macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use ::core;
    pub use ::std;
    pub use oauth_runtime as runtime;
}
