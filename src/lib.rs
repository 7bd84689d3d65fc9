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
