//! Client assertions: `private_key_jwt` client authentication (RFC 7523
//! §2.2, OpenID Connect Core §9). The client signs a short-lived JWT with
//! one of the keys it registered (`jwks`); the server checks the signature
//! with jsonwebtoken against those keys only, with an allow-list of
//! asymmetric algorithms (never `none`, never HMAC: a public key used as an
//! HMAC secret must not verify), and remembers each `jti` until the
//! assertion expires so that it is used once.
//!
//! Parsing ([`parse`]) reads, without trusting it, what is needed to find
//! the client and its key; [`verify`] then decides.
//!
//! Ed25519 assertions carry `"alg": "EdDSA"` in their header (jsonwebtoken
//! 11 does not read RFC 9864's `Ed25519` there); a registered key may name
//! itself either way.

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::storage::AssertionStorage;
use crate::{OAuthError, TokenHash, UnixTime};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far ahead an assertion's `exp` may be, in seconds: a client
/// assertion is made for one request, so a long-lived one is refused.
pub const MAX_LIFETIME_SECS: i64 = 300;

/// The clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: i64 = 30;

/// The signing algorithms accepted, as the metadata lists them
/// (`token_endpoint_auth_signing_alg_values_supported`).
pub const SIGNING_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// The longest assertion read: far above any real one (an RS256 JWT with
/// a 4096-bit key is under 1 KiB), far below the body limit.
const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// The longest `jti` accepted.
const MAX_JTI_CHARS: usize = 256;

/// Why a client assertion was refused. The endpoint answers every one as
/// `invalid_client` without saying which, to tell an attacker nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Not a JWS compact serialization with a readable header and claims.
    #[error("the client assertion is not a readable JWT")]
    Malformed,
    /// Signed with `none`, an HMAC or another algorithm not accepted here.
    #[error("the client assertion's algorithm is not accepted")]
    Algorithm,
    /// No `sub` (the client id) to look the client up by.
    #[error("the client assertion has no subject")]
    NoSubject,
    /// The client registered no usable keys, or none for this `kid` and algorithm.
    #[error("no registered key of the client can verify the assertion")]
    NoKey,
    /// The signature, `iss`, `sub`, `aud`, `exp` or `nbf` did not verify.
    #[error("the client assertion did not verify")]
    Invalid,
    /// `exp` is more than [`MAX_LIFETIME_SECS`] ahead.
    #[error("the client assertion expires too far in the future")]
    TooLongLived,
    /// No usable `jti`.
    #[error("the client assertion has no usable jti")]
    NoJti,
}

/// What an assertion claims before it is verified: enough to find the
/// client and its key. Never trust it on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnverifiedAssertion {
    /// The header's algorithm, one of [`SIGNING_ALGS`].
    pub alg: Algorithm,
    /// The header's key id.
    pub kid: Option<String>,
    /// The `sub` claim: the client id it claims to come from.
    pub subject: String,
}

/// An assertion that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedAssertion {
    /// The assertion's `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: UnixTime,
}

#[derive(Deserialize)]
struct Subject {
    sub: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    jti: Option<String>,
}

/// Reads a client assertion without verifying it.
///
/// ```
/// use oauth_runtime::assertion::{AssertionError, parse};
///
/// // `{"alg":"none"}.{"sub":"web"}.`: unsigned, never accepted.
/// assert_eq!(parse("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3ZWIifQ."), Err(AssertionError::Malformed));
/// assert_eq!(parse("not a jwt"), Err(AssertionError::Malformed));
/// ```
///
/// # Errors
///
/// [`AssertionError::Malformed`] for anything but a three-part JWS with a
/// readable header and claims, [`AssertionError::Algorithm`] for an
/// algorithm outside [`SIGNING_ALGS`], [`AssertionError::NoSubject`]
/// without a `sub`.
pub fn parse(token: &str) -> Result<UnverifiedAssertion, AssertionError> {
    if token.len() > MAX_ASSERTION_BYTES || token.split('.').count() != 3 {
        return Err(AssertionError::Malformed);
    }
    // `none` and unknown names fail here: jsonwebtoken has no such algorithm.
    let header = jsonwebtoken::decode_header(token).map_err(|_| AssertionError::Malformed)?;
    if !accepted(header.alg) {
        return Err(AssertionError::Algorithm);
    }
    let claims: Subject =
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| AssertionError::Malformed)?;
    let subject = claims
        .sub
        .filter(|s| !s.is_empty())
        .ok_or(AssertionError::NoSubject)?;
    Ok(UnverifiedAssertion {
        alg: header.alg,
        kid: header.kid,
        subject,
    })
}

fn accepted(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA)
}

/// Verifies `token`, read by [`parse`] into `parsed`, as an assertion of
/// `client_id` with the client's registered keys `jwks` (a JWK Set as JSON
/// text), for one of `audiences`, at `now`.
///
/// # Errors
///
/// The [`AssertionError`] saying why it is refused.
pub fn verify(
    token: &str,
    parsed: &UnverifiedAssertion,
    client_id: &str,
    jwks: &str,
    audiences: &[String],
    now: UnixTime,
) -> Result<VerifiedAssertion, AssertionError> {
    if !accepted(parsed.alg) {
        return Err(AssertionError::Algorithm);
    }
    let keys = registered_keys(jwks)?;
    let mut validation = Validation::new(parsed.alg);
    validation.leeway = LEEWAY_SECS.unsigned_abs();
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_audience(audiences);

    let mut candidates = keys
        .iter()
        .filter(|jwk| parsed.kid.is_none() || jwk.common.key_id == parsed.kid)
        .filter_map(|jwk| decoding_key(jwk, parsed.alg))
        .peekable();
    if candidates.peek().is_none() {
        return Err(AssertionError::NoKey);
    }
    let claims = candidates
        .find_map(|key| jsonwebtoken::decode::<Claims>(token, &key, &validation).ok())
        .ok_or(AssertionError::Invalid)?
        .claims;
    if claims.exp > now.saturating_add(MAX_LIFETIME_SECS + LEEWAY_SECS) {
        return Err(AssertionError::TooLongLived);
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.chars().count() <= MAX_JTI_CHARS)
        .ok_or(AssertionError::NoJti)?;
    Ok(VerifiedAssertion {
        jti,
        expires_at: claims.exp,
    })
}

/// The keys of a JWK Set (JSON text). Each key is read on its own, so that
/// one key of a type jsonwebtoken does not know leaves the others usable;
/// RFC 9864's `Ed25519` is read as the `EdDSA` it is a fully-specified
/// name of.
fn registered_keys(jwks: &str) -> Result<Vec<Jwk>, AssertionError> {
    let set: serde_json::Value = serde_json::from_str(jwks).map_err(|_| AssertionError::NoKey)?;
    let keys = set
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or(AssertionError::NoKey)?;
    Ok(keys
        .iter()
        .filter_map(|key| {
            let mut key = key.clone();
            if key.get("alg").and_then(serde_json::Value::as_str) == Some("Ed25519")
                && let Some(fields) = key.as_object_mut()
            {
                fields.insert("alg".into(), "EdDSA".into());
            }
            serde_json::from_value(key).ok()
        })
        .collect())
}

/// The key of `jwk` for `alg`, when it is a public signing key of the
/// algorithm's family and curve (and of this algorithm, if it names one).
fn decoding_key(jwk: &Jwk, alg: Algorithm) -> Option<DecodingKey> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let named = match alg {
        Algorithm::RS256 => KeyAlgorithm::RS256,
        Algorithm::ES256 => KeyAlgorithm::ES256,
        Algorithm::EdDSA => KeyAlgorithm::EdDSA,
        _ => return None,
    };
    if jwk.common.key_algorithm.is_some_and(|a| a != named) {
        return None;
    }
    // Family, curve and key size; symmetric keys (`oct`) never.
    if !crate::public_jwk::fits(jwk, alg) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    (key.family() == alg.family()).then_some(key)
}

/// The key an assertion's `jti` is remembered under: unique per client.
pub fn jti_key(client_id: &str, jti: &str) -> TokenHash {
    TokenHash::digest(&format!("{}:{client_id}:{jti}", client_id.len()))
}

/// Records a `jti`: what `Grants::record_assertion_jti` does for a storage
/// declaring `client_auth(private_key_jwt)`.
///
/// # Errors
///
/// `server_error` (or `temporarily_unavailable`) when storage fails.
pub async fn record_jti<S: AssertionStorage>(
    storage: &S,
    jti: &TokenHash,
    expires_at: UnixTime,
) -> Result<bool, OAuthError> {
    storage
        .record_assertion_jti(jti, expires_at)
        .await
        .map_err(|e| OAuthError::storage(&e))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::{SigningAlg, SigningKey, now};

    const ISSUER: &str = "https://as.example";

    fn claims(exp_in: i64, aud: &str, jti: Option<&str>) -> serde_json::Value {
        let mut claims = json!({"iss": "svc", "sub": "svc", "aud": aud, "exp": now() + exp_in});
        if let Some(jti) = jti {
            claims["jti"] = jti.into();
        }
        claims
    }

    fn jwks(key: &SigningKey) -> String {
        json!({"keys": [key.public_jwk()]}).to_string()
    }

    /// An EdDSA assertion (granted's own keys sign with the `Ed25519` name).
    fn eddsa(key: &SigningKey, claims: &serde_json::Value) -> String {
        let encoding = EncodingKey::from_ed_pem(key.private_pem().as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, claims, &encoding).unwrap()
    }

    fn check(token: &str, jwks: &str) -> Result<VerifiedAssertion, AssertionError> {
        let parsed = parse(token)?;
        verify(token, &parsed, "svc", jwks, &[ISSUER.to_owned()], now())
    }

    #[test]
    fn rs256_es256_and_eddsa_assertions_verify() {
        for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
            let key = SigningKey::generate(alg).unwrap();
            let token = key.sign(&claims(60, ISSUER, Some("j-1"))).unwrap();
            let verified = check(&token, &jwks(&key)).unwrap();
            assert_eq!(verified.jti, "j-1", "{alg:?}");
        }
        let key = SigningKey::generate(SigningAlg::Ed25519).unwrap();
        let token = eddsa(&key, &claims(60, ISSUER, Some("j-2")));
        assert_eq!(check(&token, &jwks(&key)).unwrap().jti, "j-2");
    }

    #[test]
    fn audience_lifetime_jti_and_key_are_enforced() {
        let key = SigningKey::generate(SigningAlg::Es256).unwrap();
        let keys = jwks(&key);
        let sign = |c: serde_json::Value| key.sign(&c).unwrap();
        assert_eq!(
            check(&sign(claims(60, "https://other.example", Some("j"))), &keys),
            Err(AssertionError::Invalid)
        );
        assert_eq!(
            check(&sign(claims(-120, ISSUER, Some("j"))), &keys),
            Err(AssertionError::Invalid)
        );
        assert_eq!(
            check(&sign(claims(3600, ISSUER, Some("j"))), &keys),
            Err(AssertionError::TooLongLived)
        );
        assert_eq!(
            check(&sign(claims(60, ISSUER, None)), &keys),
            Err(AssertionError::NoJti)
        );
        let mut wrong_issuer = claims(60, ISSUER, Some("j"));
        wrong_issuer["iss"] = "web".into();
        assert_eq!(check(&sign(wrong_issuer), &keys), Err(AssertionError::Invalid));
        // Another key of the same type does not verify it.
        let other = SigningKey::generate(SigningAlg::Es256).unwrap();
        let forged = other.sign(&claims(60, ISSUER, Some("j"))).unwrap();
        // Its kid names no registered key.
        assert_eq!(check(&forged, &keys), Err(AssertionError::NoKey));
        assert_eq!(check(&forged, r#"{"keys": []}"#), Err(AssertionError::NoKey));
        assert_eq!(check(&forged, "not json"), Err(AssertionError::NoKey));
    }

    #[test]
    fn none_and_hmac_never_verify() {
        let key = SigningKey::generate(SigningAlg::Rs256).unwrap();
        let keys = jwks(&key);
        let payload = URL_SAFE_NO_PAD.encode(claims(60, ISSUER, Some("j")).to_string());
        for header in [r#"{"alg":"none"}"#, r#"{"alg":"None","typ":"JWT"}"#] {
            let token = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
            assert_eq!(check(&token, &keys), Err(AssertionError::Malformed), "{header}");
        }
        // HS256 keyed with the public key's text: the classic confusion.
        let secret = key.public_jwk().to_string();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(60, ISSUER, Some("j")),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert_eq!(check(&token, &keys), Err(AssertionError::Algorithm));
        // Even a symmetric key registered in the set is never used.
        let oct =
            json!({"keys": [{"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret.as_bytes())}]}).to_string();
        let parsed = UnverifiedAssertion {
            alg: Algorithm::HS256,
            kid: None,
            subject: "svc".into(),
        };
        assert_eq!(
            verify(&token, &parsed, "svc", &oct, &[ISSUER.to_owned()], now()),
            Err(AssertionError::Algorithm)
        );
    }

    #[test]
    fn parse_reads_the_subject_and_refuses_the_unreadable() {
        let key = SigningKey::generate(SigningAlg::Es256).unwrap();
        let token = key.sign(&claims(60, ISSUER, Some("j"))).unwrap();
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.subject, "svc");
        assert_eq!(parsed.alg, Algorithm::ES256);
        assert_eq!(parsed.kid.as_deref(), Some(key.kid()));
        let no_sub = key.sign(&json!({"iss": "svc", "exp": now() + 60})).unwrap();
        assert_eq!(parse(&no_sub), Err(AssertionError::NoSubject));
        assert_eq!(parse(&"a.".repeat(5000)), Err(AssertionError::Malformed));
        assert_eq!(parse("a.b.c"), Err(AssertionError::Malformed));
    }

    #[test]
    fn jti_keys_are_per_client() {
        assert_ne!(jti_key("a", "bc"), jti_key("ab", "c"));
        assert_eq!(jti_key("a", "b"), jti_key("a", "b"));
    }

    proptest! {
        /// The entry point of `fuzz/fuzz_targets/client_assertion.rs`: any
        /// text is parsed or refused, never a panic.
        #[test]
        fn parse_never_panics(text in ".{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_never_panics_on_three_parts(a in "[A-Za-z0-9_-]{0,80}", b in "[A-Za-z0-9_-]{0,120}", c in "[A-Za-z0-9_-]{0,40}") {
            let _ = parse(&format!("{a}.{b}.{c}"));
        }
    }
}
