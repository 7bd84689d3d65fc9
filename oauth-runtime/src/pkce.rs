//! PKCE (RFC 7636): code challenges and their verification.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// A code challenge method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PkceMethod {
    /// `BASE64URL(SHA256(verifier))`.
    S256,
    /// The verifier itself: only with an explicit opt-in.
    Plain,
}

impl PkceMethod {
    /// The wire name: `"S256"` or `"plain"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }

    /// Parses a wire name (case-sensitive, as RFC 7636 defines them).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "S256" => Some(Self::S256),
            "plain" => Some(Self::Plain),
            _ => None,
        }
    }
}

/// Whether `value` is a syntactically valid verifier or challenge:
/// 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`
/// (RFC 7636 §4.1, §4.2).
pub fn is_valid_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of a verifier.
///
/// ```
/// // RFC 7636 Appendix B.
/// assert_eq!(
///     oauth_runtime::pkce::s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// );
/// ```
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks a verifier against a stored challenge, in constant time. A
/// verifier of invalid syntax never matches.
pub fn verify(method: PkceMethod, challenge: &str, verifier: &str) -> bool {
    if !is_valid_verifier(verifier) {
        return false;
    }
    let expected = match method {
        PkceMethod::S256 => s256_challenge(verifier),
        PkceMethod::Plain => verifier.to_owned(),
    };
    expected.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn s256_matches_rfc_example_and_rejects_others() {
        let challenge = s256_challenge(VERIFIER);
        assert!(verify(PkceMethod::S256, &challenge, VERIFIER));
        let other = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(!verify(PkceMethod::S256, &challenge, other));
        // A plain verifier equal to the S256 challenge is not accepted.
        assert!(!verify(PkceMethod::S256, &challenge, &challenge));
    }

    #[test]
    fn plain_compares_verbatim() {
        assert!(verify(PkceMethod::Plain, VERIFIER, VERIFIER));
        assert!(!verify(PkceMethod::Plain, VERIFIER, &VERIFIER.to_uppercase()));
    }

    #[test]
    fn verifier_syntax_is_checked() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"~".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(42))));
        let short = "abc";
        assert!(!verify(PkceMethod::Plain, short, short));
    }
}
