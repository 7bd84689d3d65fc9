//! OpenID Connect on top of the authorization code grant: signing keys and
//! their JWKS, the `id_token`, the standard claims a scope releases, and the
//! `prompt` / `max_age` parameters of the authorization request.
//!
//! Declared in the policy (`openid(signing = "RS256")` in
//! `#[granted::server]`, or [`crate::Policy::with_openid`]); the signing keys
//! and the issuer are given to the server at start-up, in an
//! [`OpenIdSetup`](crate::OpenIdSetup): `into_server(keys, issuer)` for a
//! storage declared with `#[granted::server(..., openid)]`, or
//! [`Server::with_setup`](crate::Server::with_setup).

mod claims;
pub(crate) mod id_token;
mod keys;
mod prompt;

pub use claims::{ClaimsError, UserClaims, claims_for_scope, standard_claims};
pub use id_token::{IdTokenClaims, access_token_hash};
pub use keys::{KeyError, KeyRing, SigningKey};
pub use prompt::{Prompt, PromptError};

/// An algorithm signing id_tokens, by its fully-specified JOSE name
/// (RFC 9864).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key: the algorithm
    /// every OpenID provider must offer (OpenID Connect Discovery §3).
    #[default]
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// EdDSA on Ed25519 (RFC 9864's name for what was `EdDSA`).
    Ed25519,
}

impl SigningAlg {
    /// Every algorithm granted signs with.
    pub const ALL: [SigningAlg; 3] = [Self::Rs256, Self::Es256, Self::Ed25519];

    /// The JOSE name, e.g. `"RS256"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// Parses a JOSE name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }
}

/// The scope value that turns a code flow into an OpenID Connect one.
pub const OPENID_SCOPE: &str = "openid";

#[cfg(test)]
mod tests;
