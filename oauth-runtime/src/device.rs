//! The device authorization grant (RFC 8628): the record storage keeps, the
//! user codes shown to people, and the functions the glue
//! `#[granted::server(grants(device_code))]` generates calls.
//!
//! A device asks `POST /oauth/device_authorization`
//! ([`Server::start_device_authorization`](crate::Server::start_device_authorization))
//! for a `device_code` and a `user_code`; the user enters the user code on
//! the verification page, signs in and approves or denies
//! ([`Server::find_device_authorization`](crate::Server::find_device_authorization),
//! [`Server::decide_device_authorization`](crate::Server::decide_device_authorization));
//! meanwhile the device polls the token endpoint with the
//! `urn:ietf:params:oauth:grant-type:device_code` grant
//! ([`crate::grants::device_code`]). Both codes are stored hashed.

use rand::TryRngCore as _;
use rand::rngs::OsRng;

use crate::storage::DeviceStorage;
use crate::{OAuthError, Scope, TokenHash, UnixTime};

/// The grant type of the token endpoint (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The letters of user codes: 20 consonants, no vowels (no words can be
/// spelled) and none that look alike (RFC 8628 §6.1).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// How many letters a user code has (shown as `XXXX-XXXX`): 20^8, about 34
/// bits, with the entry page's failure budget (RFC 8628 §5.1).
pub const USER_CODE_LENGTH: usize = 8;

/// The polling interval a device starts with, in seconds (RFC 8628 §3.2).
pub const POLL_INTERVAL_SECS: i64 = 5;

/// How much each `slow_down` adds to the interval, in seconds (RFC 8628 §3.5).
pub const SLOW_DOWN_SECS: i64 = 5;

/// The path of the verification page, relative to the issuer.
pub const VERIFICATION_PATH: &str = "/device";

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved: tokens are issued for this subject.
    Approved {
        /// The user's stable subject identifier.
        subject: String,
        /// When the user authenticated.
        auth_time: UnixTime,
    },
    /// The user denied.
    Denied,
}

impl DeviceStatus {
    /// The name storage keeps: `pending`, `approved` or `denied`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved { .. } => "approved",
            Self::Denied => "denied",
        }
    }
}

/// A device authorization as storage keeps it: the hashes of its device
/// code and of its normalized user code, never the values.
///
/// ```
/// use oauth_runtime::device::{DeviceAuthorization, DeviceStatus, user_code_hash};
/// use oauth_runtime::{Scope, TokenHash};
///
/// let authorization = DeviceAuthorization {
///     device_code: TokenHash::of("device-code"),
///     user_code: user_code_hash("wdjb-mjht").unwrap(),
///     client_id: "tv".into(),
///     scope: Scope::parse("read").unwrap(),
///     expires_at: 1_700_000_600,
///     interval: 5,
///     last_polled_at: None,
///     status: DeviceStatus::Pending,
/// };
/// assert_eq!(authorization.user_code, user_code_hash("WDJBMJHT").unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// Key of the device code ([`TokenHash::of`]).
    pub device_code: TokenHash,
    /// SHA-256 of the normalized user code (see [`normalize_user_code`]).
    pub user_code: TokenHash,
    /// The client that asked: only this client may redeem the device code.
    pub client_id: String,
    /// The scope asked for (and granted on approval).
    pub scope: Scope,
    /// When both codes expire.
    pub expires_at: UnixTime,
    /// The polling interval in force, in seconds (raised by `slow_down`).
    pub interval: i64,
    /// When the device last polled.
    pub last_polled_at: Option<UnixTime>,
    /// Pending, approved or denied.
    pub status: DeviceStatus,
}

/// A new user code, `XXXX-XXXX` from [`USER_CODE_ALPHABET`], from the
/// operating system's CSPRNG (each letter uniform: rejection sampling).
///
/// # Errors
///
/// `server_error` when the random number generator fails.
pub fn generate_user_code() -> Result<String, OAuthError> {
    let mut letters = Vec::with_capacity(USER_CODE_LENGTH);
    let mut buffer = [0u8; 32];
    while letters.len() < USER_CODE_LENGTH {
        OsRng.try_fill_bytes(&mut buffer).map_err(|e| {
            tracing::error!(error = %e, "the OS random number generator failed");
            OAuthError::server_error()
        })?;
        // 240 = 12 × 20: the bytes below it map uniformly onto the alphabet.
        for byte in buffer.iter().filter(|b| **b < 240) {
            if letters.len() == USER_CODE_LENGTH {
                break;
            }
            letters.push(USER_CODE_ALPHABET[usize::from(*byte % 20)]);
        }
    }
    let (first, second) = letters.split_at(USER_CODE_LENGTH / 2);
    Ok(format!(
        "{}-{}",
        String::from_utf8_lossy(first),
        String::from_utf8_lossy(second)
    ))
}

/// A user code as typed, normalized: upper case, dashes and white space
/// removed. `None` unless that leaves [`USER_CODE_LENGTH`] letters of
/// [`USER_CODE_ALPHABET`].
///
/// ```
/// use oauth_runtime::device::normalize_user_code;
///
/// assert_eq!(normalize_user_code(" wdjb-mjht ").as_deref(), Some("WDJBMJHT"));
/// assert_eq!(normalize_user_code("WDJB MJHT").as_deref(), Some("WDJBMJHT"));
/// assert_eq!(normalize_user_code("WDJB-MJHA"), None); // a vowel
/// ```
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// The hash storage keeps for a user code as typed, `None` when it cannot
/// be one (see [`normalize_user_code`]).
pub fn user_code_hash(input: &str) -> Option<TokenHash> {
    normalize_user_code(input).map(|code| TokenHash::digest(&code))
}

/// The error of the endpoint and the page when the policy does not enable
/// the device grant.
pub(crate) fn not_enabled() -> OAuthError {
    OAuthError::invalid_request("the device authorization grant is not enabled on this server")
}

/// Stores a new device authorization: what
/// `Grants::save_device_authorization` does for a storage declaring
/// `device_code`.
///
/// # Errors
///
/// `server_error` (or `temporarily_unavailable`) when storage fails.
pub async fn save<S: DeviceStorage>(
    storage: &S,
    authorization: DeviceAuthorization,
) -> Result<(), OAuthError> {
    storage
        .save_device_authorization(authorization)
        .await
        .map_err(|e| OAuthError::storage(&e))
}

/// Finds the device authorization of a user code's hash: what
/// `Grants::device_authorization_by_user_code` does for a storage declaring
/// `device_code`.
///
/// # Errors
///
/// `server_error` (or `temporarily_unavailable`) when storage fails.
pub async fn by_user_code<S: DeviceStorage>(
    storage: &S,
    user_code: &TokenHash,
) -> Result<Option<DeviceAuthorization>, OAuthError> {
    storage
        .device_authorization_by_user_code(user_code)
        .await
        .map_err(|e| OAuthError::storage(&e))
}

/// Records the user's decision on a pending authorization: what
/// `Grants::decide_device_authorization` does for a storage declaring
/// `device_code`. `false` when it was no longer pending.
///
/// # Errors
///
/// `server_error` (or `temporarily_unavailable`) when storage fails.
pub async fn decide<S: DeviceStorage>(
    storage: &S,
    user_code: &TokenHash,
    status: DeviceStatus,
) -> Result<bool, OAuthError> {
    storage
        .decide_device_authorization(user_code, status)
        .await
        .map_err(|e| OAuthError::storage(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_two_groups_of_four_consonants() {
        for _ in 0..200 {
            let code = generate_user_code().unwrap();
            assert_eq!(code.len(), 9, "{code}");
            assert_eq!(code.as_bytes()[4], b'-', "{code}");
            assert!(
                code.bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| USER_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
            assert_eq!(normalize_user_code(&code).map(|c| c.len()), Some(8));
        }
        assert_ne!(generate_user_code().unwrap(), generate_user_code().unwrap());
    }

    #[test]
    fn the_alphabet_is_twenty_distinct_consonants() {
        let mut letters = USER_CODE_ALPHABET.to_vec();
        letters.sort_unstable();
        letters.dedup();
        assert_eq!(letters.len(), 20);
        assert!(!letters.iter().any(|b| b"AEIOUY".contains(b)));
    }

    #[test]
    fn user_codes_compare_without_case_dashes_or_spaces() {
        let hash = user_code_hash("WDJB-MJHT");
        assert!(hash.is_some());
        for typed in ["wdjb-mjht", "WDJBMJHT", " wdjb mjht ", "wd-jb-mj-ht"] {
            assert_eq!(user_code_hash(typed), hash, "{typed}");
        }
        for wrong in [
            "",
            "WDJB-MJH",
            "WDJB-MJHTT",
            "WDJB-MJHA",
            "WDJB_MJHT",
            "WDJB-MJH1",
        ] {
            assert_eq!(user_code_hash(wrong), None, "{wrong}");
        }
        assert_eq!(user_code_hash(&"-".repeat(100)), None);
    }
}
