//! A DPoP client for the tests (RFC 9449): a key pair generated here (P-256,
//! Ed25519 or RSA, through their crates) and proofs signed with it through
//! jsonwebtoken, as a client library would. `proof_with` signs any header
//! and claims, for the attacks.

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use rsa::rand_core::{OsRng, RngCore as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// A client's DPoP key.
pub struct DpopKey {
    encoding: EncodingKey,
    alg: Algorithm,
    /// The public JWK, as the proof header carries it.
    pub jwk: Value,
}

impl DpopKey {
    /// A fresh P-256 key (ES256).
    pub fn es256() -> Self {
        let pem = p256::SecretKey::random(&mut OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap();
        Self::new(
            EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            Algorithm::ES256,
        )
    }

    /// A fresh Ed25519 key (EdDSA).
    pub fn ed25519() -> Self {
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        let pem = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: seed,
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap();
        Self::new(
            EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
            Algorithm::EdDSA,
        )
    }

    /// A fresh 2048-bit RSA key (RS256).
    pub fn rs256() -> Self {
        let pem = rsa::RsaPrivateKey::new(&mut OsRng, 2048)
            .unwrap()
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap();
        Self::new(
            EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            Algorithm::RS256,
        )
    }

    fn new(encoding: EncodingKey, alg: Algorithm) -> Self {
        let jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
        let mut value = serde_json::to_value(&jwk).unwrap();
        // Only the key: a client's JWK need not say more.
        value
            .as_object_mut()
            .unwrap()
            .retain(|k, _| ["kty", "crv", "x", "y", "n", "e"].contains(&k.as_str()));
        Self {
            encoding,
            alg,
            jwk: value,
        }
    }

    /// The JWK SHA-256 thumbprint (RFC 7638): a bound token's `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        serde_json::from_value::<Jwk>(self.jwk.clone())
            .unwrap()
            .thumbprint(ThumbprintHash::SHA256)
            .unwrap()
    }

    /// The header of this key's proofs.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": format!("{:?}", self.alg), "jwk": self.jwk})
    }

    /// A fresh proof (new `jti`, `iat` now) for `method` on `url`; `ath`
    /// hashes `access_token` when given.
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>, nonce: Option<&str>) -> String {
        self.proof_with(&self.header(), &claims(method, url, access_token, nonce))
    }

    /// A proof of any header and claims, signed with this key.
    pub fn proof_with(&self, header: &Value, claims: &Value) -> String {
        let b64 = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
        let message = format!("{}.{}", b64(header), b64(claims));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, self.alg).unwrap();
        format!("{message}.{signature}")
    }
}

/// The claims of a fresh proof.
pub fn claims(method: &str, url: &str, access_token: Option<&str>, nonce: Option<&str>) -> Value {
    let mut jti = [0u8; 16];
    OsRng.fill_bytes(&mut jti);
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({"jti": URL_SAFE_NO_PAD.encode(jti), "htm": method, "htu": url, "iat": iat});
    if let Some(token) = access_token {
        claims["ath"] = json!(ath(token));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    claims
}

/// `ath`: base64url(SHA-256(access token)).
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}
