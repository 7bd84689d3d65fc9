//! The `id_token` (OpenID Connect Core §2, §3.1.3.6): who logged in, when,
//! for which client, bound to the authorization request by `nonce` and to
//! the access token by `at_hash`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest as _, Sha256, Sha512};

use super::{KeyError, SigningAlg};
use crate::OAuthError;
use crate::model::{ClientModel, CodeRecord, UnixTime};
use crate::server::GrantRequest;

/// The claims of an id_token granted issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// The issuer identifier.
    pub iss: String,
    /// The user's stable subject identifier.
    pub sub: String,
    /// The client the token is for.
    pub aud: String,
    /// Expiry.
    pub exp: UnixTime,
    /// Issue time.
    pub iat: UnixTime,
    /// When the user authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    /// The `nonce` of the authorization request, echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The access token's hash ([`access_token_hash`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): the base64url left half of the
/// access token's hash with the hash function of the signing algorithm
/// (SHA-512 for Ed25519).
///
/// ```
/// use oauth_runtime::oidc::{SigningAlg, access_token_hash};
///
/// // The example of OpenID Connect Core's Appendix A.3.
/// assert_eq!(
///     access_token_hash(SigningAlg::Rs256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
///     "77QmUPtjPfzWtF2AnpK9RQ"
/// );
/// ```
pub fn access_token_hash(alg: SigningAlg, access_token: &str) -> String {
    let left_half = |digest: &[u8]| URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]);
    match alg {
        SigningAlg::Rs256 | SigningAlg::Es256 => left_half(&Sha256::digest(access_token)),
        SigningAlg::Ed25519 => left_half(&Sha512::digest(access_token)),
    }
}

/// Signs the id_token of a code exchange whose access token is
/// `access_token`. It lives as long as the access token.
pub(crate) fn issue<C: ClientModel>(
    request: &GrantRequest<'_, C>,
    alg: SigningAlg,
    code: &CodeRecord,
    access_token: &str,
) -> Result<String, OAuthError> {
    let Some(issuer) = request.policy.issuer() else {
        tracing::error!("OpenID Connect needs the issuer: set it with `Policy::with_issuer`");
        return Err(OAuthError::server_error());
    };
    let Some(key) = request.keys.signing_key(alg) else {
        tracing::error!(error = %KeyError::Missing { alg: alg.as_str() }, "cannot sign the id_token");
        return Err(OAuthError::server_error());
    };
    let ttl = i64::try_from(request.policy.access_token_ttl().as_secs()).unwrap_or(i64::MAX);
    let claims = IdTokenClaims {
        iss: issuer.to_owned(),
        sub: code.subject.clone(),
        aud: code.client_id.clone(),
        exp: request.now.saturating_add(ttl),
        iat: request.now,
        auth_time: code.auth_time,
        nonce: code.nonce.clone(),
        at_hash: Some(access_token_hash(alg, access_token)),
    };
    key.sign(&claims).map_err(|error| {
        tracing::error!(%error, "cannot sign the id_token");
        OAuthError::server_error()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_half_the_digest() {
        // 16 bytes of SHA-256, 32 of SHA-512, base64url without padding.
        assert_eq!(access_token_hash(SigningAlg::Es256, "t").len(), 22);
        assert_eq!(access_token_hash(SigningAlg::Ed25519, "t").len(), 43);
        assert_ne!(
            access_token_hash(SigningAlg::Rs256, "t"),
            access_token_hash(SigningAlg::Rs256, "u")
        );
    }

    #[test]
    fn optional_claims_are_left_out_when_absent() {
        let claims = IdTokenClaims {
            iss: "https://as.example".into(),
            sub: "u".into(),
            aud: "web".into(),
            exp: 2,
            iat: 1,
            auth_time: None,
            nonce: None,
            at_hash: None,
        };
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"iss": "https://as.example", "sub": "u", "aud": "web", "exp": 2, "iat": 1})
        );
    }
}
