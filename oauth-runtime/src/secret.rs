//! Client secrets and user passwords: stored hashed, compared in constant time.
//!
//! Client secrets are high-entropy, so a SHA-256 compared in constant time is
//! the right cost on the token endpoint's hot path. Passwords are chosen by
//! people and get argon2id. A client registered with an argon2 hash (for a
//! secret a person chose) is verified with argon2 instead.

use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::TryRngCore as _;
use rand::rngs::OsRng;

use subtle::ConstantTimeEq as _;

use crate::TokenHash;

/// A secret from a request (client secret, password). `Debug` prints
/// `[redacted]` so that it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; use only to hash or verify it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Hashes a client secret for storage: lowercase hex SHA-256.
///
/// ```
/// use oauth_runtime::{hash_client_secret, verify_client_secret};
///
/// let stored = hash_client_secret("s3cret");
/// assert!(verify_client_secret("s3cret", &stored));
/// assert!(!verify_client_secret("s3cret!", &stored));
/// ```
pub fn hash_client_secret(secret: &str) -> String {
    TokenHash::digest(secret).to_string()
}

/// Checks a presented client secret against its stored hash, in constant
/// time: a hex SHA-256 from [`hash_client_secret`], or an argon2 PHC string.
/// An unreadable stored hash never verifies.
pub fn verify_client_secret(presented: &str, stored: &str) -> bool {
    if stored.starts_with("$argon2") {
        return verify_password(presented, stored);
    }
    match stored.parse::<TokenHash>() {
        Ok(expected) => TokenHash::digest(presented).ct_eq(&expected),
        Err(_) => false,
    }
}

/// An error while hashing a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The operating system could not supply a salt.
    #[error("no randomness for a salt: {0}")]
    Random(String),
    /// argon2 refused the input.
    #[error("argon2 failed: {0}")]
    Hash(String),
}

/// Hashes a password with argon2id and a random salt, as a PHC string.
///
/// # Errors
///
/// [`PasswordError`] if no salt could be drawn or argon2 fails.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| PasswordError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Verifies a password against an argon2 PHC string (constant time inside
/// argon2). An unreadable hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm), Params::try_from(&hash)) else {
        return false;
    };
    let version = hash.version.map_or(Ok(Version::default()), Version::try_from);
    let Ok(version) = version else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    let hashed = with_argon2_memory(params.block_count(), |memory| {
        Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut output,
            memory,
        )
    });
    hashed.is_ok() && bool::from(output.as_slice().ct_eq(expected.as_bytes()))
}

/// argon2's working memory (~19 MiB a check), kept for the next check
/// instead of freed: a fresh allocation per check is not returned to the OS
/// by glibc once its mmap threshold has grown, so resident memory grew with
/// every sign-in. At most one buffer per core is kept (the bounded offload
/// runs that many checks at once), so memory is bounded by the cores, not by
/// the sign-ins or the threads that ran them.
static ARGON2_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `hash` with a buffer of `blocks` argon2 blocks from the pool.
fn with_argon2_memory<T>(blocks: usize, hash: impl FnOnce(&mut [Block]) -> T) -> T {
    let pooled = ARGON2_MEMORY.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut memory = pooled.unwrap_or_default();
    memory.resize(blocks, Block::default());
    let out = hash(&mut memory);
    let keep = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut pool = ARGON2_MEMORY.lock().unwrap_or_else(PoisonError::into_inner);
    if pool.len() < keep {
        pool.push(memory);
    }
    out
}

/// Spends the same argon2 work as a real verification, for a user that does
/// not exist, so that timing does not tell unknown users from wrong passwords.
pub fn verify_password_of_unknown_user(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("granted-dummy-password").ok()) {
        let _ = verify_password(password, hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[redacted]");
    }

    #[test]
    fn client_secret_hash_verifies_only_the_same_secret() {
        let stored = hash_client_secret("abc");
        assert!(verify_client_secret("abc", &stored));
        assert!(!verify_client_secret("abd", &stored));
        assert!(!verify_client_secret("abc", "not-a-hash"));
        assert!(!verify_client_secret("abc", ""));
    }

    #[test]
    fn argon2_client_secret_is_accepted() {
        let stored = hash_password("low-entropy").unwrap();
        assert!(verify_client_secret("low-entropy", &stored));
        assert!(!verify_client_secret("other", &stored));
    }

    #[test]
    fn password_round_trip_and_salted() {
        let a = hash_password("wonderland").unwrap();
        let b = hash_password("wonderland").unwrap();
        assert_ne!(a, b, "salts differ");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("wonderland", &a));
        assert!(!verify_password("Wonderland", &a));
        assert!(!verify_password("wonderland", "$argon2id$garbage"));
    }
}
