//! Which public JWKs may verify a signature of a given algorithm, checked
//! before any of them reaches `jsonwebtoken`.
//!
//! `jsonwebtoken` trusts a JWK's key material to have the length of its
//! curve: an Ed25519 `x` of another length panicked inside it (found by the
//! DPoP proof property test). A DPoP proof carries its own key, so that is
//! attacker input: every key is held to its family, its curve and the exact
//! length of its coordinates here.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};

/// Bytes of a P-256 coordinate and of an Ed25519 public key.
const COORDINATE_BYTES: usize = 32;

/// Whether `jwk` is a well-formed public key of `alg`'s family and curve:
/// RSA for RS256 (modulus and exponent present), P-256 with 32-byte `x` and
/// `y` for ES256, Ed25519 with a 32-byte `x` for EdDSA. Symmetric keys and
/// every other algorithm: never.
pub(crate) fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(rsa), Algorithm::RS256) => {
            decoded_len(&rsa.n).is_some_and(|n| n > 0) && decoded_len(&rsa.e).is_some_and(|e| e > 0)
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
                && decoded_len(&ec.x) == Some(COORDINATE_BYTES)
                && decoded_len(&ec.y) == Some(COORDINATE_BYTES)
        }
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            okp.curve == EllipticCurve::Ed25519 && decoded_len(&okp.x) == Some(COORDINATE_BYTES)
        }
        _ => false,
    }
}

/// The length of a base64url member, `None` when it does not decode.
fn decoded_len(member: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(member).ok().map(|bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(value: serde_json::Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn an_ed25519_key_needs_32_bytes() {
        let good = jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": X}));
        assert!(fits(&good, Algorithm::EdDSA));
        for x in ["", "AAAA", &format!("{X}AA")] {
            let short = jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}));
            assert!(!fits(&short, Algorithm::EdDSA), "x = {x:?}");
        }
        assert!(!fits(&good, Algorithm::ES256));
    }

    #[test]
    fn a_p256_key_needs_two_32_byte_coordinates_on_its_curve() {
        let good = jwk(serde_json::json!({"kty": "EC", "crv": "P-256", "x": X, "y": X}));
        assert!(fits(&good, Algorithm::ES256));
        let short = jwk(serde_json::json!({"kty": "EC", "crv": "P-256", "x": X, "y": ""}));
        assert!(!fits(&short, Algorithm::ES256));
        let other_curve = jwk(serde_json::json!({"kty": "EC", "crv": "P-384", "x": X, "y": X}));
        assert!(!fits(&other_curve, Algorithm::ES256));
        assert!(!fits(&good, Algorithm::RS256));
    }

    #[test]
    fn an_rsa_key_needs_its_modulus_and_no_symmetric_key_fits() {
        let empty = jwk(serde_json::json!({"kty": "RSA", "n": "", "e": "AQAB"}));
        assert!(!fits(&empty, Algorithm::RS256));
        let rsa = jwk(serde_json::json!({"kty": "RSA", "n": X, "e": "AQAB"}));
        assert!(fits(&rsa, Algorithm::RS256));
        let oct = jwk(serde_json::json!({"kty": "oct", "k": X}));
        for alg in [
            Algorithm::HS256,
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ] {
            assert!(!fits(&oct, alg));
        }
    }
}
