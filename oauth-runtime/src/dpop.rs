//! DPoP (RFC 9449): proofs of possession of a key, sent in the `DPoP`
//! header, that bind tokens to the key so that a stolen token is useless
//! without it.
//!
//! A proof is a JWT signed by the client's key with the public key in its
//! header. [`verify_proof`] checks every rule of RFC 9449 §4.3 that needs no
//! storage: `typ` is `dpop+jwt`; `alg` is asymmetric ([`ALGORITHMS`]:
//! never `none` or an HMAC); the `jwk` header holds a public key and no
//! private member; the signature verifies with it (jsonwebtoken, never
//! hand-written crypto); `htm` and `htu` name this request (`htu` without
//! query and fragment, scheme and host compared case-insensitively, default
//! ports dropped); `iat` lies within [`IAT_WINDOW_SECS`] of now; `ath` is the
//! hash of the access token at a resource; and a `nonce` the server issued
//! when it asks for one. What needs the storage (each `jti` used once) is
//! the caller's: [`Proof::replay_key`] is what to record, for
//! [`Proof::replay_until`].
//!
//! ```
//! use oauth_runtime::dpop::{Expected, DpopError, verify_proof};
//!
//! let expected = Expected::new("POST", "https://as.example/oauth/token", 1_700_000_000);
//! assert!(matches!(verify_proof("not.a.proof", &expected), Err(DpopError::Invalid(_))));
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::model::UnixTime;
use crate::{ErrorCode, OAuthError, TokenHash};

/// The proof signing algorithms accepted, as metadata lists them
/// (`dpop_signing_alg_values_supported`): asymmetric only.
pub const ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// How far, in seconds, a proof's `iat` may lie from the server's clock,
/// either way: a minute covers clock skew and network delay while keeping
/// the replay store small (a `jti` is remembered for twice this).
pub const IAT_WINDOW_SECS: i64 = 60;

/// The longest proof accepted, in bytes: an RSA-4096 key and a signature
/// fit with room to spare.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// The longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// How long a server nonce lives: it is valid in the window it was issued
/// in and the next one, so between one and two windows.
pub const NONCE_WINDOW_SECS: i64 = 300;

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The proof breaks a rule: `invalid_dpop_proof` with this description.
    #[error("{0}")]
    Invalid(&'static str),
    /// The proof lacks the server's current nonce: `use_dpop_nonce`, with a
    /// fresh nonce in the `DPoP-Nonce` header.
    #[error("the DPoP proof must carry the server's nonce")]
    UseNonce,
}

impl DpopError {
    /// The token endpoint's error for this refusal (RFC 9449 §5, §8).
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            Self::Invalid(why) => OAuthError::new(ErrorCode::InvalidDpopProof, *why),
            Self::UseNonce => OAuthError::new(ErrorCode::UseDpopNonce, self.to_string()),
        }
    }
}

/// What a proof must match: the request it came with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Expected<'a> {
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The request's URL (`htu`), compared without query and fragment.
    pub url: &'a str,
    /// The access token presented with the proof, at a resource (`ath`).
    pub access_token: Option<&'a str>,
    /// The server's nonce key, when the server requires nonces.
    pub nonces: Option<&'a NonceKey>,
    /// The server's clock.
    pub now: UnixTime,
}

impl<'a> Expected<'a> {
    /// A proof for `method` on `url` at `now`, without access token or nonce.
    pub fn new(method: &'a str, url: &'a str, now: UnixTime) -> Self {
        Self {
            method,
            url,
            access_token: None,
            nonces: None,
            now,
        }
    }

    /// Requires `ath` to be the hash of `token` (at a resource server).
    #[must_use]
    pub fn with_access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// Requires a nonce issued under `key`.
    #[must_use]
    pub fn with_nonces(mut self, key: Option<&'a NonceKey>) -> Self {
        self.nonces = key;
        self
    }
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Proof {
    /// The JWK SHA-256 thumbprint (RFC 7638) of the proof's key: what a
    /// bound token's `cnf.jkt` holds.
    pub jkt: String,
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: UnixTime,
}

impl Proof {
    /// The key under which the replay store records this proof: the hash of
    /// the key's thumbprint and the `jti`, so a `jti` is unique per key and
    /// the store holds a fixed-size value whatever the client sent.
    pub fn replay_key(&self) -> TokenHash {
        TokenHash::digest(&format!("{}.{}", self.jkt, self.jti))
    }

    /// Until when the replay store must remember the proof: past that,
    /// its `iat` is out of the window anyway.
    pub fn replay_until(&self) -> UnixTime {
        self.iat.saturating_add(IAT_WINDOW_SECS)
    }
}

/// The claims of a proof, before their checks.
#[derive(Debug, Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<serde_json::Number>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// The header of a proof, as far as the rules need it: parsed from the raw
/// JSON so that private key members, which `Jwk` would silently drop, are
/// seen.
#[derive(Debug)]
struct Header {
    alg: Algorithm,
    jwk: Jwk,
}

/// The members of a public JWK that make the key (RFC 7518 §6).
const KEY_MEMBERS: [&str; 6] = ["kty", "crv", "x", "y", "n", "e"];

/// The private members of a JWK (RFC 7518 §6): a proof's key must be public.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Parses the header of a proof and checks its rules (`typ`, `alg`, `jwk`):
/// the entry point the fuzz target drives. Returns the key's thumbprint.
///
/// # Errors
///
/// [`DpopError::Invalid`] saying which rule the proof breaks.
pub fn parse_header(proof: &str) -> Result<String, DpopError> {
    let header = header(proof)?;
    thumbprint(&header.jwk)
}

fn header(proof: &str) -> Result<Header, DpopError> {
    const MALFORMED: DpopError = DpopError::Invalid("the DPoP proof is not a well-formed JWT");
    if proof.len() > MAX_PROOF_BYTES {
        return Err(DpopError::Invalid("the DPoP proof is too long"));
    }
    let mut parts = proof.split('.');
    let (Some(encoded), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MALFORMED);
    };
    let json = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| MALFORMED)?;
    let value: serde_json::Value = serde_json::from_slice(&json).map_err(|_| MALFORMED)?;
    let object = value.as_object().ok_or(MALFORMED)?;
    let typ = object.get("typ").and_then(serde_json::Value::as_str);
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(DpopError::Invalid("the DPoP proof's typ must be dpop+jwt"));
    }
    let alg = object
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let alg = match alg {
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        _ => {
            return Err(DpopError::Invalid(
                "the DPoP proof's alg must be one of RS256 ES256 EdDSA (never none or a MAC)",
            ));
        }
    };
    let Some(jwk) = object.get("jwk").and_then(serde_json::Value::as_object) else {
        return Err(DpopError::Invalid(
            "the DPoP proof's header must carry its public key in jwk",
        ));
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(DpopError::Invalid("the DPoP proof's jwk must be a public key"));
    }
    // Only the key material: optional members (`alg`, `use`, `kid` ...)
    // say nothing the proof's own `alg` does not, and jsonwebtoken does not
    // know every value they may hold (`"alg": "Ed25519"`, RFC 9864).
    let material: serde_json::Map<String, serde_json::Value> = jwk
        .iter()
        .filter(|(name, _)| KEY_MEMBERS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let jwk: Jwk = serde_json::from_value(serde_json::Value::Object(material))
        .map_err(|_| DpopError::Invalid("the DPoP proof's jwk is not a usable key"))?;
    // The key must be of the algorithm's family: an RSA key cannot vouch
    // for an ES256 signature, and no symmetric key is ever accepted.
    // Its material must be of that key's curve and size (see `public_jwk`).
    if !crate::public_jwk::fits(&jwk, alg) {
        return Err(DpopError::Invalid("the DPoP proof's jwk does not fit its alg"));
    }
    Ok(Header { alg, jwk })
}

/// The JWK SHA-256 thumbprint of `jwk` (RFC 7638), base64url.
fn thumbprint(jwk: &Jwk) -> Result<String, DpopError> {
    jwk.thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| DpopError::Invalid("the DPoP proof's jwk is not a usable key"))
}

/// Verifies `proof` against the request it came with (RFC 9449 §4.3),
/// everything but the single use of its `jti`.
///
/// # Errors
///
/// [`DpopError::Invalid`] saying which rule the proof breaks, or
/// [`DpopError::UseNonce`] when the server requires a nonce the proof lacks
/// (or holds an expired one).
pub fn verify_proof(proof: &str, expected: &Expected<'_>) -> Result<Proof, DpopError> {
    let header = header(proof)?;
    let key = DecodingKey::from_jwk(&header.jwk)
        .map_err(|_| DpopError::Invalid("the DPoP proof's jwk is not a usable key"))?;
    let mut validation = Validation::new(header.alg);
    // The proof's own claims are checked below; it has no exp, aud or iss.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Claims>(proof, &key, &validation)
        .map_err(|_| DpopError::Invalid("the DPoP proof's signature does not verify"))?
        .claims;
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or(DpopError::Invalid("the DPoP proof needs a jti"))?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(DpopError::Invalid(
            "the DPoP proof's htm is not this request's method",
        ));
    }
    let htu = claims.htu.as_deref().and_then(normalize_htu);
    if htu.is_none() || htu != normalize_htu(expected.url) {
        return Err(DpopError::Invalid(
            "the DPoP proof's htu is not this request's URL",
        ));
    }
    let iat = claims
        .iat
        .and_then(|n| n.as_i64())
        .ok_or(DpopError::Invalid("the DPoP proof needs an iat"))?;
    if iat.abs_diff(expected.now) > IAT_WINDOW_SECS.unsigned_abs() {
        return Err(DpopError::Invalid("the DPoP proof's iat is too far from now"));
    }
    if let Some(token) = expected.access_token {
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if claims.ath.as_deref() != Some(ath.as_str()) {
            return Err(DpopError::Invalid(
                "the DPoP proof's ath is not the hash of the access token",
            ));
        }
    }
    if let Some(nonces) = expected.nonces
        && !claims.nonce.is_some_and(|n| nonces.accepts(&n, expected.now))
    {
        return Err(DpopError::UseNonce);
    }
    Ok(Proof {
        jkt: thumbprint(&header.jwk)?,
        jti,
        iat,
    })
}

/// `url` as `htu` compares (RFC 9449 §4.3 step 9, RFC 3986 §6.2.2–6.2.3):
/// without query and fragment, scheme and host lowercased, the scheme's
/// default port dropped, an empty path as `/`. `None` for anything that is
/// not an absolute `http`/`https` URL.
pub fn normalize_htu(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next()?;
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let mut host = authority.to_ascii_lowercase();
    if host.ends_with(default_port) {
        host.truncate(host.len() - default_port.len());
    }
    Some(format!("{scheme}://{host}{path}"))
}

/// The key of server nonces (RFC 9449 §8): a nonce is the HMAC of its time
/// window, so any instance holding the key (shared through the store, like
/// the login form's CSRF key) issues and accepts the same nonces, and they
/// rotate every [`NONCE_WINDOW_SECS`] without any state.
#[derive(Clone)]
pub struct NonceKey(Hmac<Sha256>);

impl NonceKey {
    /// The shortest secret accepted, in bytes.
    pub const MIN_SECRET_BYTES: usize = 16;

    /// A key made from a high-entropy shared secret (every instance that
    /// must accept another's nonces uses the same one); `None` for a secret
    /// shorter than [`Self::MIN_SECRET_BYTES`].
    pub fn new(secret: &[u8]) -> Option<Self> {
        if secret.len() < Self::MIN_SECRET_BYTES {
            return None;
        }
        <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret)
            .ok()
            .map(Self)
    }

    /// The nonce to hand out at `now`.
    pub fn nonce(&self, now: UnixTime) -> String {
        self.of_window(now.div_euclid(NONCE_WINDOW_SECS))
    }

    /// Whether `nonce` is the nonce of this window or of the previous one
    /// (compared in constant time).
    pub fn accepts(&self, nonce: &str, now: UnixTime) -> bool {
        let window = now.div_euclid(NONCE_WINDOW_SECS);
        let Ok(given) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        [window, window - 1].into_iter().any(|w| {
            let mut mac = self.0.clone();
            mac.update(&w.to_be_bytes());
            mac.verify_slice(&given).is_ok()
        })
    }

    fn of_window(&self, window: i64) -> String {
        let mut mac = self.0.clone();
        mac.update(&window.to_be_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey([redacted])")
    }
}

impl PartialEq for NonceKey {
    fn eq(&self, other: &Self) -> bool {
        self.nonce(0) == other.nonce(0)
    }
}

impl Eq for NonceKey {}

/// The `DPoP` header of a request: `None` without one.
///
/// # Errors
///
/// `invalid_dpop_proof` when it is repeated or not text (RFC 9449 §4.3:
/// exactly one proof).
pub fn proof_header(headers: &http::HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "a request carries at most one DPoP proof",
        ));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof is not a JWT"))
}

#[cfg(test)]
mod tests;
