//! Token generation and hashing: 256 random bits from the operating system,
//! handed out once, stored only as their SHA-256.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::OAuthError;

/// The SHA-256 of a token, code or secret: what storage keeps and looks up.
///
/// Its `Display` and `FromStr` use lowercase hex.
///
/// ```
/// use oauth_runtime::TokenHash;
///
/// let hash = TokenHash::of("some-token");
/// assert_eq!(hash.to_string().len(), 64);
/// assert_eq!(hash.to_string().parse::<TokenHash>().unwrap(), hash);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token as presented by a client.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Wraps raw hash bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares in constant time.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One write of 64 digits: a family id is formatted for every token
        // issued, and 32 `{:02x}` calls cost more than the hashing.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({self})")
    }
}

/// A string that is not 64 hex digits was read as a [`TokenHash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a token hash is 64 hexadecimal digits")]
pub struct ParseTokenHashError;

impl std::str::FromStr for TokenHash {
    type Err = ParseTokenHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(ParseTokenHashError);
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Ok(Self(out))
    }
}

fn hex_value(digit: u8) -> Result<u8, ParseTokenHashError> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(ParseTokenHashError),
    }
}

/// A freshly generated token: the value to hand out once, and its hash to store.
///
/// `Debug` never prints the value.
#[derive(Clone)]
pub struct NewToken {
    value: String,
    hash: TokenHash,
}

impl NewToken {
    /// 256 bits from the operating system's CSPRNG, base64url without padding
    /// (43 characters).
    ///
    /// # Errors
    ///
    /// `server_error` if the operating system cannot supply randomness.
    pub fn generate() -> Result<Self, OAuthError> {
        let mut bytes = [0u8; 32];
        OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
            tracing::error!(error = %e, "the OS random number generator failed");
            OAuthError::server_error()
        })?;
        let value = URL_SAFE_NO_PAD.encode(bytes);
        let hash = TokenHash::of(&value);
        Ok(Self { value, hash })
    }

    /// The token to give to the client.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The hash to store.
    pub fn hash(&self) -> TokenHash {
        self.hash
    }

    /// The token value, consuming `self`.
    pub fn into_value(self) -> String {
        self.value
    }
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken")
            .field("value", &"[redacted]")
            .field("hash", &self.hash)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_43_chars_of_base64url_and_distinct() {
        let a = NewToken::generate().unwrap();
        let b = NewToken::generate().unwrap();
        assert_eq!(a.value().len(), 43);
        assert!(
            a.value()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a.value(), b.value());
        assert_eq!(a.hash(), TokenHash::of(a.value()));
        assert!(!format!("{a:?}").contains(a.value()));
    }

    #[test]
    fn hash_displays_as_lowercase_hex() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0x0f;
        bytes[1] = 0xa0;
        bytes[31] = 0xff;
        let text = TokenHash::from_bytes(bytes).to_string();
        assert_eq!(&text[..4], "0fa0");
        assert_eq!(&text[60..], "00ff");
        assert_eq!(
            TokenHash::of("abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hash_round_trips_through_hex_and_rejects_garbage() {
        let hash = TokenHash::of("x");
        assert_eq!(hash.to_string().parse::<TokenHash>().unwrap(), hash);
        assert_eq!(
            hash.to_string().to_uppercase().parse::<TokenHash>().unwrap(),
            hash
        );
        assert!("zz".repeat(32).parse::<TokenHash>().is_err());
        assert!("ab".parse::<TokenHash>().is_err());
        assert!("é".repeat(32).parse::<TokenHash>().is_err());
    }
}
