//! Signing keys: generated here, stored by the application as PKCS#8 PEM,
//! published as a JWK Set (RFC 7517) with RFC 7638 thumbprints as `kid`.
//!
//! A [`KeyRing`] holds the key that signs and the keys still published so
//! that tokens signed before a rotation keep verifying.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use rsa::rand_core::{OsRng, RngCore as _};
use serde_json::Value;

use super::SigningAlg;

/// The RSA modulus size: 2048 bits, the floor of RFC 7518 §3.3.
const RSA_BITS: usize = 2048;

/// A signing key that cannot be generated, read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The operating system's random generator or the key generation failed.
    #[error("could not generate a {alg} signing key: {reason}")]
    Generate {
        /// The algorithm.
        alg: &'static str,
        /// What failed.
        reason: String,
    },
    /// A stored private key is not a PKCS#8 PEM key of its algorithm.
    #[error("the stored {alg} signing key is not a valid PKCS#8 PEM private key: {reason}")]
    Invalid {
        /// The algorithm.
        alg: &'static str,
        /// What failed.
        reason: String,
    },
    /// Signing failed.
    #[error("signing with the {alg} key failed: {reason}")]
    Sign {
        /// The algorithm.
        alg: &'static str,
        /// What failed.
        reason: String,
    },
    /// The server has no key for the algorithm its policy signs with.
    #[error("no {alg} signing key is configured: give the server one with `with_signing_keys`")]
    Missing {
        /// The algorithm.
        alg: &'static str,
    },
}

/// One private signing key with its public JWK.
///
/// ```
/// use oauth_runtime::oidc::{SigningAlg, SigningKey};
///
/// let key = SigningKey::generate(SigningAlg::Es256)?;
/// // Store `key.private_pem()` (secretly); load it on the next start:
/// let again = SigningKey::from_pem(SigningAlg::Es256, key.private_pem())?;
/// assert_eq!(again.kid(), key.kid());
/// assert_eq!(key.public_jwk()["alg"], "ES256");
/// # Ok::<(), oauth_runtime::oidc::KeyError>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    alg: SigningAlg,
    kid: String,
    pem: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl fmt::Debug for SigningKey {
    // Never print the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new key from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`KeyError::Generate`] when the random generator or the encoding fails.
    pub fn generate(alg: SigningAlg) -> Result<Self, KeyError> {
        let failed = |reason: String| KeyError::Generate {
            alg: alg.as_str(),
            reason,
        };
        let pem = match alg {
            SigningAlg::Rs256 => rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS)
                .map_err(|e| failed(e.to_string()))?
                .to_pkcs8_pem(LineEnding::LF),
            SigningAlg::Es256 => p256::SecretKey::random(&mut OsRng).to_pkcs8_pem(LineEnding::LF),
            SigningAlg::Ed25519 => {
                let mut seed = [0u8; 32];
                OsRng
                    .try_fill_bytes(&mut seed)
                    .map_err(|e| failed(e.to_string()))?;
                // PKCS#8 v1 (no public key inside): the form jsonwebtoken reads.
                ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: seed,
                    public_key: None,
                }
                .to_pkcs8_pem(LineEnding::LF)
            }
        }
        .map_err(|e| failed(e.to_string()))?;
        Self::from_pem(alg, &pem)
    }

    /// Reads a stored PKCS#8 PEM private key.
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`] when `pem` is not a private key of `alg`.
    pub fn from_pem(alg: SigningAlg, pem: &str) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            alg: alg.as_str(),
            reason,
        };
        let bytes = pem.as_bytes();
        let encoding = match alg {
            SigningAlg::Rs256 => EncodingKey::from_rsa_pem(bytes),
            SigningAlg::Es256 => EncodingKey::from_ec_pem(bytes),
            SigningAlg::Ed25519 => EncodingKey::from_ed_pem(bytes),
        }
        .map_err(|e| invalid(e.to_string()))?;
        let public =
            Jwk::from_encoding_key(&encoding, jose_algorithm(alg)).map_err(|e| invalid(e.to_string()))?;
        let kid = public
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| invalid(e.to_string()))?;
        let mut jwk = serde_json::to_value(&public).map_err(|e| invalid(e.to_string()))?;
        if let Value::Object(fields) = &mut jwk {
            // jsonwebtoken names Ed25519 keys `EdDSA`; publish the name we sign with.
            fields.insert("alg".into(), Value::from(alg.as_str()));
            fields.insert("use".into(), Value::from("sig"));
            fields.insert("kid".into(), Value::from(kid.clone()));
        }
        Ok(Self {
            alg,
            kid,
            pem: pem.to_owned(),
            encoding,
            jwk,
        })
    }

    /// The algorithm.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key as PKCS#8 PEM, to store (secretly) and load with
    /// [`SigningKey::from_pem`].
    pub fn private_pem(&self) -> &str {
        &self.pem
    }

    /// The public key as a JWK with `kid`, `alg` and `use`.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs `claims` as a compact JWS (RFC 7515 §7.1) with `typ` `JWT`.
    ///
    /// # Errors
    ///
    /// [`KeyError::Sign`] when serialization or the signature fails.
    pub fn sign(&self, claims: &impl serde::Serialize) -> Result<String, KeyError> {
        let failed = |reason: String| KeyError::Sign {
            alg: self.alg.as_str(),
            reason,
        };
        let header = serde_json::json!({"alg": self.alg.as_str(), "kid": self.kid, "typ": "JWT"});
        let header = serde_json::to_vec(&header).map_err(|e| failed(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| failed(e.to_string()))?;
        let mut message = URL_SAFE_NO_PAD.encode(header);
        message.push('.');
        message.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, jose_algorithm(self.alg))
                .map_err(|e| failed(e.to_string()))?;
        message.push('.');
        message.push_str(&signature);
        Ok(message)
    }
}

/// jsonwebtoken's algorithm for ours (it still calls Ed25519 `EdDSA`).
fn jose_algorithm(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::Rs256 => Algorithm::RS256,
        SigningAlg::Es256 => Algorithm::ES256,
        SigningAlg::Ed25519 => Algorithm::EdDSA,
    }
}

/// The signing keys of a server: per algorithm, the newest key signs; every
/// key is published in the JWKS until it is retired. Cheap to clone (shared),
/// and rotation is visible to every clone.
///
/// ```
/// use oauth_runtime::oidc::{KeyRing, SigningAlg, SigningKey};
///
/// let old = SigningKey::generate(SigningAlg::Es256)?;
/// let ring = KeyRing::new([old.clone()]);
/// let new = SigningKey::generate(SigningAlg::Es256)?;
/// ring.rotate(new.clone());
/// // The new key signs; both are published until the old one is retired.
/// assert_eq!(ring.signing_key(SigningAlg::Es256).unwrap().kid(), new.kid());
/// assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
/// ring.retire(old.kid());
/// assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 1);
/// # Ok::<(), oauth_runtime::oidc::KeyError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    /// Newest first.
    keys: Arc<RwLock<Arc<[SigningKey]>>>,
}

impl KeyRing {
    /// A ring of `keys`, the newest first.
    pub fn new(keys: impl IntoIterator<Item = SigningKey>) -> Self {
        let keys: Arc<[SigningKey]> = keys.into_iter().collect();
        Self {
            keys: Arc::new(RwLock::new(keys)),
        }
    }

    fn snapshot(&self) -> Arc<[SigningKey]> {
        // A poisoned lock still holds a consistent slice: writers swap whole `Arc`s.
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, change: impl FnOnce(&[SigningKey]) -> Vec<SigningKey>) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        *keys = change(&keys).into();
    }

    /// The key that signs with `alg`: the newest of that algorithm.
    pub fn signing_key(&self, alg: SigningAlg) -> Option<SigningKey> {
        self.snapshot().iter().find(|k| k.alg == alg).cloned()
    }

    /// Makes `key` the signing key of its algorithm; the previous one stays
    /// published until [`KeyRing::retire`]d.
    pub fn rotate(&self, key: SigningKey) {
        self.replace(|keys| {
            let mut next = Vec::with_capacity(keys.len() + 1);
            next.extend(keys.iter().filter(|k| k.kid != key.kid).cloned());
            next.insert(0, key);
            next
        });
    }

    /// Stops publishing the key `kid` (tokens it signed no longer verify).
    pub fn retire(&self, kid: &str) {
        self.replace(|keys| keys.iter().filter(|k| k.kid != kid).cloned().collect());
    }

    /// Every key, newest first.
    pub fn keys(&self) -> Vec<SigningKey> {
        self.snapshot().to_vec()
    }

    /// The JWK Set document of `/jwks.json` (RFC 7517 §5): public keys only.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.snapshot().iter().map(|k| k.jwk.clone()).collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::DecodingKey;

    use super::*;

    fn verify(token: &str, jwk: &Value, alg: Algorithm) -> bool {
        let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg).unwrap()
    }

    fn header_of(token: &str) -> Value {
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    #[test]
    fn every_algorithm_signs_what_its_published_key_verifies() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let token = key.sign(&serde_json::json!({"sub": "u"})).unwrap();
            assert!(verify(&token, key.public_jwk(), jose_algorithm(alg)), "{alg:?}");
            let header = header_of(&token);
            assert_eq!(header["alg"], alg.as_str());
            assert_eq!(header["kid"], key.kid());
            assert_eq!(header["typ"], "JWT");
            let other = SigningKey::generate(alg).unwrap();
            assert!(
                !verify(&token, other.public_jwk(), jose_algorithm(alg)),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn published_keys_hold_no_private_part() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let jwk = key.public_jwk().as_object().unwrap();
            assert!(!jwk.contains_key("d"), "{alg:?}: {jwk:?}");
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["alg"], alg.as_str());
            assert!(!format!("{key:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn rsa_keys_are_2048_bits() {
        let key = SigningKey::generate(SigningAlg::Rs256).unwrap();
        let n = key.public_jwk()["n"].as_str().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(n).unwrap().len() * 8, 2048);
    }

    #[test]
    fn a_stored_key_reloads_with_the_same_kid_and_a_wrong_one_is_refused() {
        let key = SigningKey::generate(SigningAlg::Ed25519).unwrap();
        let again = SigningKey::from_pem(SigningAlg::Ed25519, key.private_pem()).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert!(matches!(
            SigningKey::from_pem(SigningAlg::Rs256, key.private_pem()),
            Err(KeyError::Invalid { alg: "RS256", .. })
        ));
        assert!(SigningKey::from_pem(SigningAlg::Es256, "not a key").is_err());
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_keeps_the_old_one_published() {
        let old = SigningKey::generate(SigningAlg::Es256).unwrap();
        let ring = KeyRing::new([old.clone()]);
        let clone = ring.clone();
        let new = SigningKey::generate(SigningAlg::Es256).unwrap();
        ring.rotate(new.clone());
        assert_eq!(clone.signing_key(SigningAlg::Es256).unwrap().kid(), new.kid());
        let kids: Vec<String> = clone.keys().iter().map(|k| k.kid().to_owned()).collect();
        assert_eq!(kids, [new.kid(), old.kid()]);
        ring.rotate(new.clone());
        assert_eq!(
            ring.keys().len(),
            2,
            "rotating to the same key twice does not duplicate it"
        );
        ring.retire(old.kid());
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 1);
        assert!(ring.signing_key(SigningAlg::Rs256).is_none());
    }
}
