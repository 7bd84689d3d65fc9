//! `private_key_jwt` client authentication (RFC 7523 §2.2) against the
//! example server, with keys generated here (rsa, p256, ed25519-dalek) and
//! assertions signed with jsonwebtoken.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use rsa::rand_core::{OsRng, RngCore as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};

use crate::support::{TestServer, fresh_dir, http};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client key: what signs, and the public JWK to register.
struct ClientKey {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn rsa_key() -> ClientKey {
    let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key");
    let pem = private.to_pkcs8_pem(LineEnding::LF).expect("PEM");
    let public = private.to_public_key();
    ClientKey {
        alg: Algorithm::RS256,
        kid: "rsa-1".into(),
        encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key"),
        jwk: json!({"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
                    "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                    "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be())}),
    }
}

fn p256_key() -> ClientKey {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use p256::pkcs8::EncodePrivateKey as _;
    let secret = p256::SecretKey::random(&mut OsRng);
    let pem = secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).expect("PEM");
    let point = secret.public_key().to_encoded_point(false);
    ClientKey {
        alg: Algorithm::ES256,
        kid: "ec-1".into(),
        encoding: EncodingKey::from_ec_pem(pem.as_bytes()).expect("key"),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": "ec-1",
                    "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
                    "y": URL_SAFE_NO_PAD.encode(point.y().expect("y"))}),
    }
}

fn ed25519_key() -> ClientKey {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let pem = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: seed,
        public_key: None,
    }
    .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
    .expect("PEM");
    ClientKey {
        alg: Algorithm::EdDSA,
        kid: "ed-1".into(),
        encoding: EncodingKey::from_ed_pem(pem.as_bytes()).expect("key"),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed-1",
                    "x": URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes())}),
    }
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs(),
    )
    .expect("time")
}

fn assertion(key: &ClientKey, client: &str, aud: &str, jti: &str) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    let claims =
        json!({"iss": client, "sub": client, "aud": aud, "exp": now() + 120, "jti": jti, "iat": now()});
    jsonwebtoken::encode(&header, &claims, &key.encoding).expect("sign")
}

fn seed(keys: &[(&str, &ClientKey)]) -> String {
    let mut clients: Vec<Value> = keys
        .iter()
        .map(|(client, key)| {
            json!({"client_id": client, "client_secret": null, "grant_types": ["client_credentials"],
                   "scope": "read", "token_endpoint_auth_method": "private_key_jwt",
                   "jwks": {"keys": [key.jwk]}})
        })
        .collect();
    clients.push(json!({"client_id": "svc", "client_secret": "svc-secret",
                        "grant_types": ["client_credentials"], "scope": "read"}));
    json!({"clients": clients, "users": []}).to_string()
}

async fn post(server: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http()
        .post(server.url(path))
        .form(form)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn token(server: &TestServer, assertion: &str) -> (u16, Value) {
    post(
        server,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn rs256_es256_and_eddsa_clients_authenticate_once_per_assertion() {
    let (rsa, ec, ed) = (rsa_key(), p256_key(), ed25519_key());
    let seed = seed(&[("jwt-rsa", &rsa), ("jwt-ec", &ec), ("jwt-ed", &ed)]);
    let server = TestServer::start_seeded(fresh_dir("private-key-jwt"), "sqlite::memory:", &seed, &[]);
    for (client, key) in [("jwt-rsa", &rsa), ("jwt-ec", &ec), ("jwt-ed", &ed)] {
        let signed = assertion(key, client, &server.base, &format!("{client}-1"));
        let (status, body) = token(&server, &signed).await;
        assert_eq!(status, 200, "{client}: {body}");
        assert_eq!(body["scope"], "read");
        let (status, body) = token(&server, &signed).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_client")),
            "{client} replay"
        );
        // The token endpoint's URL is an audience too.
        let signed = assertion(key, client, &server.url("/oauth/token"), &format!("{client}-2"));
        assert_eq!(token(&server, &signed).await.0, 200, "{client}");
    }
}

#[tokio::test]
async fn assertions_work_at_introspection_and_revocation_and_metadata_lists_them() {
    let ec = p256_key();
    let seed = seed(&[("jwt-ec", &ec)]);
    let server = TestServer::start_seeded(fresh_dir("private-key-jwt"), "sqlite::memory:", &seed, &[]);
    let (_, tokens) = token(&server, &assertion(&ec, "jwt-ec", &server.base, "t")).await;
    let access = tokens["access_token"].as_str().expect("access token").to_owned();
    let introspection = assertion(&ec, "jwt-ec", &server.url("/oauth/introspect"), "i");
    let (status, body) = post(
        &server,
        "/oauth/introspect",
        &[
            ("token", access.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", introspection.as_str()),
        ],
    )
    .await;
    assert_eq!((status, &body["active"]), (200, &Value::Bool(true)), "{body}");
    let revocation = assertion(&ec, "jwt-ec", &server.base, "r");
    let (status, _) = post(
        &server,
        "/oauth/revoke",
        &[
            ("token", access.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", revocation.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200);

    // A client registered with a secret cannot use an assertion, and the
    // assertion's client cannot use a secret.
    let (status, body) = post(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "jwt-ec"),
            ("client_secret", "guess"),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client")));
    let as_svc = {
        let mut header = Header::new(ec.alg);
        header.kid = Some(ec.kid.clone());
        let claims = json!({"iss": "svc", "sub": "svc", "aud": server.base, "exp": now() + 60, "jti": "s"});
        jsonwebtoken::encode(&header, &claims, &ec.encoding).expect("sign")
    };
    assert_eq!(token(&server, &as_svc).await.1["error"], "invalid_client");

    let metadata: Value = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("GET metadata")
        .json()
        .await
        .expect("JSON");
    let methods = metadata["token_endpoint_auth_methods_supported"]
        .as_array()
        .expect("methods");
    assert!(methods.contains(&json!("private_key_jwt")), "{metadata}");
    assert_eq!(
        metadata["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
}
