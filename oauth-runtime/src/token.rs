//! Token generation and hashing: 256 random bits from the operating system
//! behind the time they were issued, handed out once, stored only as a key
//! made of that time and their SHA-256.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::OAuthError;

/// What storage keeps of a token, code or secret, and looks it up by: 32
/// bytes from which the value cannot be recovered.
///
/// - [`TokenHash::of`] keys a token or code that a client presents.
/// - [`TokenHash::digest`] is the plain SHA-256, for everything else
///   (client secrets, usernames, addresses).
///
/// Its `Display` and `FromStr` use lowercase hex.
///
/// ```
/// use oauth_runtime::{NewToken, TokenHash};
///
/// let token = NewToken::generate().unwrap();
/// let key = TokenHash::of(token.value());
/// assert_eq!(key, token.hash());
/// assert_eq!(key.to_string().len(), 64);
/// assert_eq!(key.to_string().parse::<TokenHash>().unwrap(), key);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

/// The length of a token [`NewToken::generate`] makes: base64url of its
/// [`ISSUED_AT_BYTES`] bytes of masked issue time and 32 random bytes.
const TOKEN_LEN: usize = 51;

/// The issue time a token starts with: milliseconds since the Unix epoch,
/// big-endian, 48 bits (enough until the year 10889), masked by the first
/// random bytes that follow it.
const ISSUED_AT_BYTES: usize = 6;

/// The base64url characters that encode the masked issue time and its mask
/// (12 bytes).
const ISSUED_AT_CHARS: usize = 16;

impl TokenHash {
    /// The key of a token or code as a client presents it.
    ///
    /// For a value [`NewToken::generate`] made, the key is the issue time
    /// the value carries (6 bytes) followed by the first 26 bytes of the
    /// value's SHA-256. Keys of tokens issued together therefore sort
    /// together, and the storage's index on them grows at its end instead
    /// of at a random page for every token: a database writes and syncs a
    /// few pages per batch of new tokens rather than one page per token.
    /// The time is no secret; the 208 bits of digest are what a guess has
    /// to match.
    ///
    /// Any other value (a token issued before granted's tokens carried
    /// their time, or garbage) is keyed by its plain SHA-256, so that such
    /// tokens still resolve.
    pub fn of(token: &str) -> Self {
        match issued_at(token) {
            Some(time) => Self::issued(time, token),
            None => Self::digest(token),
        }
    }

    /// The key of `token`, issued at `time`: the time, then the first 26
    /// bytes of the token's SHA-256.
    fn issued(time: [u8; ISSUED_AT_BYTES], token: &str) -> Self {
        let digest = Sha256::digest(token.as_bytes());
        let mut key = [0u8; 32];
        let (head, tail) = key.split_at_mut(ISSUED_AT_BYTES);
        head.copy_from_slice(&time);
        tail.copy_from_slice(&digest[..32 - ISSUED_AT_BYTES]);
        Self(key)
    }

    /// The plain SHA-256 of `text`: the key of client secrets, usernames,
    /// addresses and other values that are not tokens granted issued (none
    /// of their bytes is kept in clear).
    ///
    /// ```
    /// use oauth_runtime::TokenHash;
    ///
    /// assert_eq!(
    ///     TokenHash::digest("abc").to_string(),
    ///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    /// );
    /// ```
    pub fn digest(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
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

/// The issue time a token of [`NewToken::generate`]'s shape carries.
fn issued_at(token: &str) -> Option<[u8; ISSUED_AT_BYTES]> {
    if token.len() != TOKEN_LEN {
        return None;
    }
    let mut head = [0u8; 2 * ISSUED_AT_BYTES];
    let prefix = token.as_bytes().get(..ISSUED_AT_CHARS)?;
    match URL_SAFE_NO_PAD.decode_slice(prefix, &mut head) {
        Ok(decoded) if decoded == head.len() => {
            let (masked, mask) = head.split_at(ISSUED_AT_BYTES);
            Some(xor(masked, mask))
        }
        _ => None,
    }
}

/// The issue time masked by the random bytes that follow it, or unmasked.
fn xor(time: &[u8], mask: &[u8]) -> [u8; ISSUED_AT_BYTES] {
    let mut out = [0u8; ISSUED_AT_BYTES];
    for ((out, time), mask) in out.iter_mut().zip(time).zip(mask) {
        *out = time ^ mask;
    }
    out
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
    /// The issue time in milliseconds (48 bits) followed by 256 bits from
    /// the operating system's CSPRNG, base64url without padding (51
    /// characters). The time leads so that [`TokenHash::of`] can key tokens
    /// in the order they were issued; it is masked (XOR) by the first 48
    /// random bits, so that tokens issued together share no visible prefix
    /// and every character of a token looks random. The mask hides the time
    /// from nobody who knows this format: it is not a secret.
    ///
    /// # Errors
    ///
    /// `server_error` if the operating system cannot supply randomness.
    pub fn generate() -> Result<Self, OAuthError> {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        // The low 48 bits, big-endian: the order of the keys is the order
        // of issue.
        let mut time = [0u8; ISSUED_AT_BYTES];
        time.copy_from_slice(&millis.to_be_bytes()[16 - ISSUED_AT_BYTES..]);
        let mut bytes = [0u8; ISSUED_AT_BYTES + 32];
        let (masked, random) = bytes.split_at_mut(ISSUED_AT_BYTES);
        OsRng.try_fill_bytes(random).map_err(|e| {
            tracing::error!(error = %e, "the OS random number generator failed");
            OAuthError::server_error()
        })?;
        masked.copy_from_slice(&xor(&time, random));
        let value = URL_SAFE_NO_PAD.encode(bytes);
        let hash = TokenHash::issued(time, &value);
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
    fn generated_tokens_are_51_chars_of_base64url_and_distinct() {
        let a = NewToken::generate().unwrap();
        let b = NewToken::generate().unwrap();
        assert_eq!(a.value().len(), TOKEN_LEN);
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
            TokenHash::digest("abc").to_string(),
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

    #[test]
    fn keys_of_generated_tokens_start_with_the_issue_time_and_sort_by_it() {
        let first = NewToken::generate().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = NewToken::generate().unwrap();
        assert!(first.hash() < second.hash(), "issued later sorts later");
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
        let mut time = [0u8; 8];
        time[2..].copy_from_slice(&second.hash().as_bytes()[..ISSUED_AT_BYTES]);
        let issued = u128::from(u64::from_be_bytes(time));
        assert!(issued <= millis && millis - issued < 60_000);
        let digest = TokenHash::digest(second.value());
        assert_eq!(
            second.hash().as_bytes()[ISSUED_AT_BYTES..],
            digest.as_bytes()[..32 - ISSUED_AT_BYTES],
        );
    }

    #[test]
    fn tokens_issued_together_share_no_visible_prefix() {
        let tokens: Vec<NewToken> = (0..64).map(|_| NewToken::generate().unwrap()).collect();
        let firsts: std::collections::HashSet<&str> =
            tokens.iter().map(|token| &token.value()[..4]).collect();
        // 64 draws of 24 random bits: a repeat has odds of about 1 in 8,000.
        assert!(firsts.len() >= 63, "{firsts:?}");
        // The keys still sort by issue time, which they start with.
        let times: Vec<[u8; ISSUED_AT_BYTES]> = tokens
            .iter()
            .filter_map(|token| token.hash().as_bytes().first_chunk().copied())
            .collect();
        assert_eq!(times.len(), tokens.len());
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
    }

    #[test]
    fn other_values_are_keyed_by_their_plain_digest() {
        // A 43-character token from before tokens carried their time.
        let old = "A".repeat(43);
        assert_eq!(TokenHash::of(&old), TokenHash::digest(&old));
        // The right length, but a prefix that is not base64url.
        let odd = format!("!!!!!!!!{}", "A".repeat(TOKEN_LEN - 8));
        assert_eq!(TokenHash::of(&odd), TokenHash::digest(&odd));
        // Multi-byte characters: no slicing inside one.
        let wide = "é".repeat(TOKEN_LEN / 2) + "a";
        assert_eq!(wide.len(), TOKEN_LEN);
        assert_eq!(TokenHash::of(&wide), TokenHash::digest(&wide));
    }
}
