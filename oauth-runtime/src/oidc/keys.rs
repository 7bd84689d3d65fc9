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
    #[error(
        "no {alg} signing key is configured: give the server one in its `OpenIdSetup` (`into_server(keys, issuer)`)"
    )]
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
/// A key can also be published before it signs (*pending*): when several
/// servers share the keys, a new key must be in every server's JWKS before
/// any server signs with it, or relying parties that fetched the JWKS from
/// another server could not verify its tokens. See [`KeyRing::replace`].
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
    state: Arc<RwLock<Arc<Keys>>>,
}

/// What a ring holds at one time; replaced whole on every change.
#[derive(Debug, Default)]
struct Keys {
    /// Every published key, newest first.
    keys: Vec<SigningKey>,
    /// The kids of published keys that do not sign yet.
    pending: Vec<String>,
}

impl Keys {
    fn is_pending(&self, kid: &str) -> bool {
        self.pending.iter().any(|pending| pending == kid)
    }
}

impl KeyRing {
    /// A ring of `keys`, the newest first.
    pub fn new(keys: impl IntoIterator<Item = SigningKey>) -> Self {
        let keys = Keys {
            keys: keys.into_iter().collect(),
            pending: Vec::new(),
        };
        Self {
            state: Arc::new(RwLock::new(Arc::new(keys))),
        }
    }

    fn snapshot(&self) -> Arc<Keys> {
        // A poisoned lock still holds a consistent state: writers swap whole `Arc`s.
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn change(&self, change: impl FnOnce(&Keys) -> Keys) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        *state = Arc::new(change(&state));
    }

    /// The key that signs with `alg`: the newest of that algorithm that is
    /// not pending, or, when every key of `alg` is pending, the oldest of
    /// them (the likeliest to be published everywhere already; a first key
    /// signs at once).
    pub fn signing_key(&self, alg: SigningAlg) -> Option<SigningKey> {
        let state = self.snapshot();
        let mut of_alg = state.keys.iter().filter(|k| k.alg == alg);
        of_alg
            .clone()
            .find(|k| !state.is_pending(&k.kid))
            .or_else(|| of_alg.next_back())
            .cloned()
    }

    /// Makes `key` the signing key of its algorithm at once; the previous one
    /// stays published until [`KeyRing::retire`]d.
    pub fn rotate(&self, key: SigningKey) {
        self.change(|state| {
            let mut keys = Vec::with_capacity(state.keys.len() + 1);
            keys.push(key.clone());
            keys.extend(state.keys.iter().filter(|k| k.kid != key.kid).cloned());
            let pending = state.pending.iter().filter(|p| **p != key.kid).cloned().collect();
            Keys { keys, pending }
        });
    }

    /// Stops publishing the key `kid` (tokens it signed no longer verify).
    pub fn retire(&self, kid: &str) {
        self.change(|state| Keys {
            keys: state.keys.iter().filter(|k| k.kid != kid).cloned().collect(),
            pending: state.pending.iter().filter(|p| *p != kid).cloned().collect(),
        });
    }

    /// Replaces every key at once, as a server sharing its keys with others
    /// does when it reads them again from the shared storage: `keys`, newest
    /// first, are all published; those whose kid is in `pending` do not sign
    /// yet (see [`KeyRing::signing_key`]). Every clone sees the new keys.
    ///
    /// ```
    /// use oauth_runtime::oidc::{KeyRing, SigningAlg, SigningKey};
    ///
    /// let old = SigningKey::generate(SigningAlg::Es256)?;
    /// let new = SigningKey::generate(SigningAlg::Es256)?;
    /// let ring = KeyRing::new([old.clone()]);
    /// // Another server stored `new` a moment ago: publish it, keep signing with `old`.
    /// ring.replace([new.clone(), old.clone()], [new.kid()]);
    /// assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
    /// assert_eq!(ring.signing_key(SigningAlg::Es256).unwrap().kid(), old.kid());
    /// // Every server publishes it by now: it signs.
    /// ring.replace([new.clone(), old.clone()], [] as [&str; 0]);
    /// assert_eq!(ring.signing_key(SigningAlg::Es256).unwrap().kid(), new.kid());
    /// # Ok::<(), oauth_runtime::oidc::KeyError>(())
    /// ```
    pub fn replace<K: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = SigningKey>,
        pending: impl IntoIterator<Item = K>,
    ) {
        let keys = Keys {
            keys: keys.into_iter().collect(),
            pending: pending.into_iter().map(|kid| kid.as_ref().to_owned()).collect(),
        };
        self.change(|_| keys);
    }

    /// Every key, newest first.
    pub fn keys(&self) -> Vec<SigningKey> {
        self.snapshot().keys.clone()
    }

    /// Whether the key `kid` is published but does not sign yet.
    pub fn is_pending(&self, kid: &str) -> bool {
        self.snapshot().is_pending(kid)
    }

    /// The JWK Set document of `/jwks.json` (RFC 7517 §5): public keys only,
    /// pending ones included.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.snapshot().keys.iter().map(|k| k.jwk.clone()).collect();
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

    #[test]
    fn a_pending_key_is_published_but_signs_only_when_nothing_else_can() {
        let old = SigningKey::generate(SigningAlg::Es256).unwrap();
        let new = SigningKey::generate(SigningAlg::Es256).unwrap();
        let other = SigningKey::generate(SigningAlg::Ed25519).unwrap();
        let ring = KeyRing::new([old.clone()]);
        let clone = ring.clone();
        ring.replace(
            [other.clone(), new.clone(), old.clone()],
            [new.kid(), other.kid()],
        );
        assert_eq!(clone.jwks()["keys"].as_array().unwrap().len(), 3);
        assert!(clone.is_pending(new.kid()) && !clone.is_pending(old.kid()));
        assert_eq!(clone.signing_key(SigningAlg::Es256).unwrap().kid(), old.kid());
        // The only key of its algorithm signs although it is pending.
        assert_eq!(clone.signing_key(SigningAlg::Ed25519).unwrap().kid(), other.kid());
        // With every key pending, the oldest signs.
        ring.replace([new.clone(), old.clone()], [new.kid(), old.kid()]);
        assert_eq!(clone.signing_key(SigningAlg::Es256).unwrap().kid(), old.kid());
        // Retiring the older key leaves the pending one as the only one: it signs.
        ring.retire(old.kid());
        assert_eq!(clone.signing_key(SigningAlg::Es256).unwrap().kid(), new.kid());
        // A rotation signs at once, pending or not.
        ring.replace([new.clone(), old.clone()], [new.kid()]);
        ring.rotate(new.clone());
        assert!(!ring.is_pending(new.kid()));
        assert_eq!(ring.signing_key(SigningAlg::Es256).unwrap().kid(), new.kid());
        assert_eq!(ring.keys().len(), 2);
    }
}
