//! Every proof rule, each with a case that breaks it; then DPoP at the
//! token endpoint and at a resource, on the in-memory store.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use super::*;
use crate::grants::test_support::*;
use crate::{
    ClientRecord, DpopPolicy, GrantType, MemoryStore, Policy, Request, Response, Scope, Server, SigningAlg,
    SigningKey,
};

const URL: &str = "https://as.example/oauth/token";
const NOW: UnixTime = 1_700_000_000;

/// One key per algorithm, generated once (RSA is slow).
fn key_for(alg: SigningAlg) -> &'static SigningKey {
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        [SigningAlg::Es256, SigningAlg::Ed25519, SigningAlg::Rs256].map(|a| SigningKey::generate(a).unwrap())
    });
    match alg {
        SigningAlg::Es256 => &keys[0],
        SigningAlg::Ed25519 => &keys[1],
        _ => &keys[2],
    }
}

fn es256() -> &'static SigningKey {
    key_for(SigningAlg::Es256)
}

fn jose(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::Es256 => Algorithm::ES256,
        SigningAlg::Ed25519 => Algorithm::EdDSA,
        _ => Algorithm::RS256,
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A JWT with this header and these claims, signed by `signer`.
fn sign(signer: &SigningKey, header: &Value, claims: &Value) -> String {
    let pem = signer.private_pem().as_bytes();
    let encoding = match signer.alg() {
        SigningAlg::Es256 => EncodingKey::from_ec_pem(pem),
        SigningAlg::Ed25519 => EncodingKey::from_ed_pem(pem),
        _ => EncodingKey::from_rsa_pem(pem),
    }
    .unwrap();
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &encoding, jose(signer.alg())).unwrap();
    format!("{message}.{signature}")
}

fn header_of(key: &SigningKey) -> Value {
    let alg = format!("{:?}", jose(key.alg()));
    json!({"typ": "dpop+jwt", "alg": alg, "jwk": key.public_jwk()})
}

fn claims() -> Value {
    json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW})
}

fn expected() -> Expected<'static> {
    Expected::new("POST", URL, NOW)
}

fn with(mut value: Value, member: &str, new: Value) -> Value {
    value[member] = new;
    value
}

fn without(mut value: Value, member: &str) -> Value {
    value.as_object_mut().unwrap().remove(member);
    value
}

fn refused(proof: &str, expected: &Expected<'_>) -> &'static str {
    match verify_proof(proof, expected) {
        Err(DpopError::Invalid(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_proof_by_each_algorithm_verifies_and_names_its_keys_thumbprint() {
    for alg in [SigningAlg::Es256, SigningAlg::Ed25519, SigningAlg::Rs256] {
        let key = key_for(alg);
        let proof = verify_proof(&sign(key, &header_of(key), &claims()), &expected()).unwrap();
        // A signing key's kid is its RFC 7638 thumbprint.
        assert_eq!(proof.jkt, key.kid(), "{alg:?}");
        assert_eq!(proof.jti, "j-1");
        assert_eq!(proof.replay_until(), NOW + IAT_WINDOW_SECS);
    }
}

#[test]
fn typ_must_be_dpop_jwt() {
    let key = es256();
    for header in [
        with(header_of(key), "typ", json!("JWT")),
        without(header_of(key), "typ"),
    ] {
        let why = refused(&sign(key, &header, &claims()), &expected());
        assert!(why.contains("typ"), "{why}");
    }
}

#[test]
fn none_and_hmac_are_refused() {
    let key = es256();
    let unsigned = format!(
        "{}.{}.",
        b64(&with(header_of(key), "alg", json!("none"))),
        b64(&claims())
    );
    assert!(refused(&unsigned, &expected()).contains("alg"));
    // An HMAC proof "signed" with a symmetric key it carries itself.
    let secret = b"a shared secret anyone can read";
    let header = json!({"typ": "dpop+jwt", "alg": "HS256",
                        "jwk": {"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret)}});
    let message = format!("{}.{}", b64(&header), b64(&claims()));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    assert!(refused(&format!("{message}.{signature}"), &expected()).contains("alg"));
}

#[test]
fn the_key_must_be_a_public_key_in_the_header() {
    let key = es256();
    let why = refused(
        &sign(key, &without(header_of(key), "jwk"), &claims()),
        &expected(),
    );
    assert!(why.contains("jwk"), "{why}");
    let mut private = header_of(key);
    private["jwk"]["d"] = json!("c2VjcmV0");
    assert!(refused(&sign(key, &private, &claims()), &expected()).contains("public"));
    let mut oct = header_of(key);
    oct["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"});
    assert!(refused(&sign(key, &oct, &claims()), &expected()).contains("public"));
}

#[test]
fn the_key_must_fit_the_alg() {
    let key = es256();
    let header = with(
        header_of(key),
        "jwk",
        key_for(SigningAlg::Rs256).public_jwk().clone(),
    );
    assert!(refused(&sign(key, &header, &claims()), &expected()).contains("does not fit"));
}

#[test]
fn the_signature_must_verify_with_the_header_key() {
    let signer = es256();
    let other = SigningKey::generate(SigningAlg::Es256).unwrap();
    let header = with(header_of(signer), "jwk", other.public_jwk().clone());
    assert!(refused(&sign(signer, &header, &claims()), &expected()).contains("signature"));
    // Claims changed after signing.
    let proof = sign(signer, &header_of(signer), &claims());
    let mut parts: Vec<&str> = proof.split('.').collect();
    let forged = b64(&with(claims(), "htm", json!("GET")));
    parts[1] = &forged;
    assert!(refused(&parts.join("."), &expected()).contains("signature"));
}

#[test]
fn htm_must_be_the_requests_method() {
    let key = es256();
    let proof = sign(key, &header_of(key), &with(claims(), "htm", json!("GET")));
    assert!(refused(&proof, &expected()).contains("htm"));
    let proof = sign(key, &header_of(key), &without(claims(), "htm"));
    assert!(refused(&proof, &expected()).contains("htm"));
}

#[test]
fn htu_must_be_the_requests_url_without_query_or_fragment() {
    let key = es256();
    for other in [
        "https://as.example/oauth/revoke",
        "https://evil.example/oauth/token",
        "http://as.example/oauth/token",
        "https://as.example:8443/oauth/token",
        "/oauth/token",
    ] {
        let proof = sign(key, &header_of(key), &with(claims(), "htu", json!(other)));
        assert!(refused(&proof, &expected()).contains("htu"), "{other}");
    }
    for same in [
        "https://as.example/oauth/token?x=1",
        "https://as.example/oauth/token#f",
        "HTTPS://AS.example:443/oauth/token",
    ] {
        let proof = sign(key, &header_of(key), &with(claims(), "htu", json!(same)));
        verify_proof(&proof, &expected()).unwrap_or_else(|e| panic!("{same}: {e}"));
    }
}

#[test]
fn htu_normalisation() {
    assert_eq!(
        normalize_htu("HTTP://Host.Example:80?q").as_deref(),
        Some("http://host.example/")
    );
    assert_eq!(
        normalize_htu("https://h.example:8443/a/B").as_deref(),
        Some("https://h.example:8443/a/B")
    );
    assert_eq!(normalize_htu("ftp://h.example/"), None);
    assert_eq!(normalize_htu("https://user@h.example/"), None);
    assert_eq!(normalize_htu("https:///path"), None);
    assert_eq!(normalize_htu("no scheme"), None);
}

#[test]
fn iat_must_be_within_the_window() {
    let key = es256();
    for iat in [NOW - IAT_WINDOW_SECS, NOW + IAT_WINDOW_SECS] {
        let proof = sign(key, &header_of(key), &with(claims(), "iat", json!(iat)));
        verify_proof(&proof, &expected()).unwrap();
    }
    for iat in [NOW - IAT_WINDOW_SECS - 1, NOW + IAT_WINDOW_SECS + 1] {
        let proof = sign(key, &header_of(key), &with(claims(), "iat", json!(iat)));
        assert!(refused(&proof, &expected()).contains("iat"), "{iat}");
    }
    let proof = sign(key, &header_of(key), &without(claims(), "iat"));
    assert!(refused(&proof, &expected()).contains("iat"));
}

#[test]
fn jti_is_required() {
    let key = es256();
    for claims in [without(claims(), "jti"), with(claims(), "jti", json!(""))] {
        assert!(refused(&sign(key, &header_of(key), &claims), &expected()).contains("jti"));
    }
    let long = "j".repeat(MAX_JTI_LEN + 1);
    assert!(
        refused(
            &sign(key, &header_of(key), &with(claims(), "jti", json!(long))),
            &expected()
        )
        .contains("jti")
    );
}

#[test]
fn ath_must_hash_the_presented_access_token() {
    let key = es256();
    let token = "the-access-token";
    let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
    let at_resource = expected().with_access_token(token);
    verify_proof(
        &sign(key, &header_of(key), &with(claims(), "ath", json!(ath))),
        &at_resource,
    )
    .unwrap();
    assert!(refused(&sign(key, &header_of(key), &claims()), &at_resource).contains("ath"));
    let other = URL_SAFE_NO_PAD.encode(Sha256::digest(b"another token"));
    let proof = sign(key, &header_of(key), &with(claims(), "ath", json!(other)));
    assert!(refused(&proof, &at_resource).contains("ath"));
}

#[test]
fn nonces_are_required_when_configured_and_rotate() {
    let key = es256();
    let nonces = NonceKey::new(b"0123456789abcdef0123").unwrap();
    let expected = expected().with_nonces(Some(&nonces));
    let missing = sign(key, &header_of(key), &claims());
    assert_eq!(verify_proof(&missing, &expected), Err(DpopError::UseNonce));
    let current = sign(
        key,
        &header_of(key),
        &with(claims(), "nonce", json!(nonces.nonce(NOW))),
    );
    verify_proof(&current, &expected).unwrap();
    let previous = nonces.nonce(NOW - NONCE_WINDOW_SECS);
    assert!(nonces.accepts(&previous, NOW));
    let stale = nonces.nonce(NOW - 2 * NONCE_WINDOW_SECS);
    assert!(!nonces.accepts(&stale, NOW));
    let proof = sign(key, &header_of(key), &with(claims(), "nonce", json!(stale)));
    assert_eq!(verify_proof(&proof, &expected), Err(DpopError::UseNonce));
    let foreign = NonceKey::new(b"another instance's key!").unwrap();
    assert!(!nonces.accepts(&foreign.nonce(NOW), NOW));
    assert!(NonceKey::new(b"short").is_none());
}

#[test]
fn malformed_proofs_are_refused_without_panicking() {
    for proof in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.??.**",
        "e30.e30.",
        &"a".repeat(MAX_PROOF_BYTES + 1),
    ] {
        assert!(
            matches!(parse_header(proof), Err(DpopError::Invalid(_))),
            "{proof:.20}"
        );
        assert!(matches!(
            verify_proof(proof, &expected()),
            Err(DpopError::Invalid(_))
        ));
    }
}

#[test]
fn one_proof_header_at_most() {
    let mut headers = HeaderMap::new();
    assert_eq!(proof_header(&headers), Ok(None));
    headers.append("dpop", HeaderValue::from_static("a.b.c"));
    assert_eq!(proof_header(&headers), Ok(Some("a.b.c")));
    headers.append("dpop", HeaderValue::from_static("a.b.c"));
    assert_eq!(
        proof_header(&headers).unwrap_err().code(),
        ErrorCode::InvalidDpopProof
    );
}

// DPoP at the endpoints.

const ISSUER: &str = "https://as.example";

fn dpop_server(dpop: DpopPolicy) -> Server<MemoryStore> {
    let server = server_with(Policy::new(GrantType::ALL).with_dpop(dpop).with_issuer(ISSUER));
    server.storage().add_client(
        ClientRecord::confidential("bound", "bound-secret")
            .grant_types(["client_credentials"])
            .scope("read")
            .dpop_bound_access_tokens(true),
    );
    server
}

/// A fresh proof (new `jti`, `iat` now) by `key` for `method` on `path`,
/// hashing `token` when given.
fn fresh_proof(key: &SigningKey, method: &str, path: &str, token: Option<&str>) -> String {
    let mut claims = json!({"jti": crate::NewToken::generate().unwrap().into_value(),
                            "htm": method, "htu": format!("{ISSUER}{path}"), "iat": crate::now()});
    if let Some(token) = token {
        claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
    }
    sign(key, &header_of(key), &claims)
}

async fn token_request(
    server: &Server<MemoryStore>,
    basic: (&str, &str),
    body: &str,
    proof: Option<&str>,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", basic.0, basic.1));
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Basic {credentials}")).unwrap(),
    );
    if let Some(proof) = proof {
        headers.insert("dpop", HeaderValue::from_str(proof).unwrap());
    }
    server
        .token(
            &Request::new(&Method::POST, &headers)
                .with_path("/oauth/token")
                .with_body(body.as_bytes()),
        )
        .await
}

async fn resource(
    server: &Server<MemoryStore>,
    authorization: &str,
    proof: Option<&str>,
) -> Result<crate::BearerToken, crate::BearerError> {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
    if let Some(proof) = proof {
        headers.insert("dpop", HeaderValue::from_str(proof).unwrap());
    }
    let request = Request::new(&Method::GET, &headers).with_path("/api/me");
    server.authenticate_bearer(&request, &Scope::empty()).await
}

#[tokio::test]
async fn a_proof_binds_the_token_and_only_a_proof_of_that_key_uses_it() {
    let server = dpop_server(DpopPolicy::Optional);
    let key = es256();
    let proof = fresh_proof(key, "POST", "/oauth/token", None);
    let response = token_request(
        &server,
        ("svc", "svc-secret"),
        "grant_type=client_credentials",
        Some(&proof),
    )
    .await;
    let body = ok_body(&response);
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap();

    // The same proof again: a replay.
    let replay = token_request(
        &server,
        ("svc", "svc-secret"),
        "grant_type=client_credentials",
        Some(&proof),
    )
    .await;
    assert_eq!(error_of(&replay), "invalid_dpop_proof");

    let at = |k: &SigningKey| fresh_proof(k, "GET", "/api/me", Some(token));
    let bound = resource(&server, &format!("DPoP {token}"), Some(&at(key)))
        .await
        .unwrap();
    assert_eq!(bound.client_id, "svc");
    // As a bearer token, with another key, without a proof, for another URL.
    assert_eq!(
        resource(&server, &format!("Bearer {token}"), None).await,
        Err(crate::BearerError::DpopBound)
    );
    let other = key_for(SigningAlg::Ed25519);
    assert_eq!(
        resource(&server, &format!("DPoP {token}"), Some(&at(other))).await,
        Err(crate::BearerError::DpopBound)
    );
    assert!(matches!(
        resource(&server, &format!("DPoP {token}"), None).await,
        Err(crate::BearerError::InvalidDpopProof(_))
    ));
    let elsewhere = fresh_proof(key, "GET", "/userinfo", Some(token));
    assert!(matches!(
        resource(&server, &format!("DPoP {token}"), Some(&elsewhere)).await,
        Err(crate::BearerError::InvalidDpopProof(_))
    ));
    let answer = crate::BearerError::DpopBound.into_response();
    assert_eq!(answer.status(), 401);
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .starts_with("DPoP algs=\"RS256 ES256 EdDSA\", error=\"invalid_token\"")
    );

    // Introspection shows the binding.
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_static("Basic c3ZjOnN2Yy1zZWNyZXQ="),
    );
    let body = format!("token={token}");
    let answer = server
        .introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await
        .json();
    assert_eq!(answer["token_type"], "DPoP");
    assert_eq!(answer["cnf"]["jkt"], key.kid());
}

#[tokio::test]
async fn a_plain_bearer_token_keeps_working_and_is_no_dpop_token() {
    let server = dpop_server(DpopPolicy::Optional);
    let response = token_request(
        &server,
        ("svc", "svc-secret"),
        "grant_type=client_credentials",
        None,
    )
    .await;
    let body = ok_body(&response);
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap();
    resource(&server, &format!("Bearer {token}"), None).await.unwrap();
    let proof = fresh_proof(es256(), "GET", "/api/me", Some(token));
    assert_eq!(
        resource(&server, &format!("DPoP {token}"), Some(&proof)).await,
        Err(crate::BearerError::DpopBound)
    );
}

#[tokio::test]
async fn required_by_the_policy_or_the_client_means_no_token_without_a_proof() {
    let required = dpop_server(DpopPolicy::Required);
    let response = token_request(
        &required,
        ("svc", "svc-secret"),
        "grant_type=client_credentials",
        None,
    )
    .await;
    assert_eq!(error_of(&response), "invalid_dpop_proof");
    let optional = dpop_server(DpopPolicy::Optional);
    let response = token_request(
        &optional,
        ("bound", "bound-secret"),
        "grant_type=client_credentials",
        None,
    )
    .await;
    assert_eq!(error_of(&response), "invalid_dpop_proof");
    let proof = fresh_proof(es256(), "POST", "/oauth/token", None);
    let response = token_request(
        &optional,
        ("bound", "bound-secret"),
        "grant_type=client_credentials",
        Some(&proof),
    )
    .await;
    assert_eq!(ok_body(&response)["token_type"], "DPoP");
}

#[tokio::test]
async fn off_ignores_proofs_and_the_dpop_scheme() {
    let server = dpop_server(DpopPolicy::Off);
    let proof = fresh_proof(es256(), "POST", "/oauth/token", None);
    let response = token_request(
        &server,
        ("svc", "svc-secret"),
        "grant_type=client_credentials",
        Some(&proof),
    )
    .await;
    let token = ok_body(&response)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        resource(&server, &format!("DPoP {token}"), None).await,
        Err(crate::BearerError::Missing)
    );
    resource(&server, &format!("Bearer {token}"), None).await.unwrap();
}

#[tokio::test]
async fn the_server_nonce_is_asked_for_then_accepted() {
    let nonces = NonceKey::new(b"a shared secret of the instances").unwrap();
    let server = dpop_server(DpopPolicy::Optional).configure(|p| p.with_dpop_nonces(nonces.clone()));
    let key = es256();
    let proof = fresh_proof(key, "POST", "/oauth/token", None);
    let response = token_request(
        &server,
        ("svc", "svc-secret"),
        "grant_type=client_credentials",
        Some(&proof),
    )
    .await;
    assert_eq!(error_of(&response), "use_dpop_nonce");
    let nonce = response.header("dpop-nonce").unwrap().to_owned();
    assert!(nonces.accepts(&nonce, crate::now()));
    let claims = json!({"jti": "n-1", "htm": "POST", "htu": format!("{ISSUER}/oauth/token"),
                        "iat": crate::now(), "nonce": nonce});
    let proof = sign(key, &header_of(key), &claims);
    let response = token_request(
        &server,
        ("svc", "svc-secret"),
        "grant_type=client_credentials",
        Some(&proof),
    )
    .await;
    assert_eq!(ok_body(&response)["token_type"], "DPoP");
    assert!(response.header("dpop-nonce").is_some());
}

#[tokio::test]
async fn a_public_clients_bound_refresh_token_needs_a_proof_of_its_key() {
    let server = dpop_server(DpopPolicy::Optional);
    let key = es256();
    let code = code_for(&server, "spa", Some(crate::PkceMethod::S256));
    let body = format!(
        "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={REDIRECT}&code_verifier={VERIFIER}"
    );
    let response = public_request(
        &server,
        &body,
        Some(&fresh_proof(key, "POST", "/oauth/token", None)),
    )
    .await;
    let tokens = ok_body(&response);
    assert_eq!(tokens["token_type"], "DPoP");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let body = format!("grant_type=refresh_token&client_id=spa&refresh_token={refresh}");
    // Without a proof, or with another key: refused, and the token still works.
    assert_eq!(
        error_of(&public_request(&server, &body, None).await),
        "invalid_dpop_proof"
    );
    let other = fresh_proof(key_for(SigningAlg::Ed25519), "POST", "/oauth/token", None);
    assert_eq!(
        error_of(&public_request(&server, &body, Some(&other)).await),
        "invalid_dpop_proof"
    );
    let response = public_request(
        &server,
        &body,
        Some(&fresh_proof(key, "POST", "/oauth/token", None)),
    )
    .await;
    assert_eq!(ok_body(&response)["token_type"], "DPoP");
}

async fn public_request(server: &Server<MemoryStore>, body: &str, proof: Option<&str>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Some(proof) = proof {
        headers.insert("dpop", HeaderValue::from_str(proof).unwrap());
    }
    server
        .token(
            &Request::new(&Method::POST, &headers)
                .with_path("/oauth/token")
                .with_body(body.as_bytes()),
        )
        .await
}

#[test]
fn metadata_lists_the_proof_algorithms_only_with_dpop() {
    let paths = crate::EndpointPaths::default();
    let on = dpop_server(DpopPolicy::Optional).metadata(ISSUER, &paths);
    assert_eq!(on.dpop_signing_alg_values_supported, ["RS256", "ES256", "EdDSA"]);
    let off = dpop_server(DpopPolicy::Off).metadata(ISSUER, &paths);
    assert!(off.dpop_signing_alg_values_supported.is_empty());
}
