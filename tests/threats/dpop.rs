//! DPoP (RFC 9449 §11): what a thief of a DPoP-bound token, or of a proof,
//! can do with it. Nothing: a proof is single-use and names one request
//! (method, URL, access token); a bound token needs a proof of its key, is
//! refused as a bearer token, and a forged proof (`none`, an HMAC, a
//! private key in the header) is refused before any lookup.

use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::{
    AuthMethod, BearerError, BearerToken, ClientRecord, DpopPolicy, GrantType, MemoryStore, Policy, Request,
    Response, Scope, Server,
};
use serde_json::json;

use crate::dpop_client::{DpopKey, claims};
use crate::support::{ISSUER, SVC_SECRET, error_of, ok_body};

fn server() -> Server<MemoryStore> {
    let store = MemoryStore::with_policy(
        Policy::new(GrantType::ALL)
            .with_issuer(ISSUER)
            .with_dpop(DpopPolicy::Optional),
    );
    store.add_client(
        ClientRecord::confidential("svc", SVC_SECRET)
            .auth_method(AuthMethod::ClientSecretPost)
            .grant_types(["client_credentials"])
            .scope("read"),
    );
    Server::new(store)
}

const TOKEN_URL: &str = "https://as.example/oauth/token";
const API_URL: &str = "https://as.example/api/me";

async fn token_request(server: &Server<MemoryStore>, proof: Option<&str>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Some(proof) = proof {
        headers.insert("dpop", HeaderValue::from_str(proof).unwrap());
    }
    let body = format!("grant_type=client_credentials&client_id=svc&client_secret={SVC_SECRET}");
    server
        .token(
            &Request::new(&Method::POST, &headers)
                .with_path("/oauth/token")
                .with_body(body.as_bytes()),
        )
        .await
}

/// A token bound to `key`.
async fn bound_token(server: &Server<MemoryStore>, key: &DpopKey) -> String {
    let response = token_request(server, Some(&key.proof("POST", TOKEN_URL, None, None))).await;
    let body = ok_body(&response);
    assert_eq!(body["token_type"], "DPoP");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn resource(
    server: &Server<MemoryStore>,
    method: &Method,
    authorization: &str,
    proof: Option<&str>,
) -> Result<BearerToken, BearerError> {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
    if let Some(proof) = proof {
        headers.insert("dpop", HeaderValue::from_str(proof).unwrap());
    }
    let request = Request::new(method, &headers).with_path("/api/me");
    server.authenticate_bearer(&request, &Scope::empty()).await
}

fn is_invalid_proof(result: &Result<BearerToken, BearerError>) -> bool {
    matches!(result, Err(BearerError::InvalidDpopProof(_)))
}

#[tokio::test]
async fn a_replayed_proof_is_refused_at_the_token_endpoint_and_at_a_resource() {
    let server = server();
    let key = DpopKey::es256();
    let proof = key.proof("POST", TOKEN_URL, None, None);
    ok_body(&token_request(&server, Some(&proof)).await);
    assert_eq!(
        error_of(&token_request(&server, Some(&proof)).await),
        "invalid_dpop_proof"
    );

    let token = bound_token(&server, &key).await;
    let at = key.proof("GET", API_URL, Some(&token), None);
    let dpop = format!("DPoP {token}");
    resource(&server, &Method::GET, &dpop, Some(&at)).await.unwrap();
    assert!(is_invalid_proof(
        &resource(&server, &Method::GET, &dpop, Some(&at)).await
    ));
}

#[tokio::test]
async fn a_proof_for_another_url_or_method_is_refused() {
    let server = server();
    let key = DpopKey::ed25519();
    for (method, url) in [
        ("GET", TOKEN_URL),
        ("POST", "https://as.example/oauth/revoke"),
        ("POST", "https://evil.example/oauth/token"),
    ] {
        let proof = key.proof(method, url, None, None);
        assert_eq!(
            error_of(&token_request(&server, Some(&proof)).await),
            "invalid_dpop_proof",
            "{method} {url}"
        );
    }
    let token = bound_token(&server, &key).await;
    let dpop = format!("DPoP {token}");
    let post = key.proof("POST", API_URL, Some(&token), None);
    assert!(is_invalid_proof(
        &resource(&server, &Method::GET, &dpop, Some(&post)).await
    ));
    let userinfo = key.proof("GET", "https://as.example/userinfo", Some(&token), None);
    assert!(is_invalid_proof(
        &resource(&server, &Method::GET, &dpop, Some(&userinfo)).await
    ));
}

#[tokio::test]
async fn a_stolen_bound_token_is_useless_without_its_key() {
    let server = server();
    let owner = DpopKey::es256();
    let token = bound_token(&server, &owner).await;
    let dpop = format!("DPoP {token}");
    // Without a proof, as a bearer token, with the thief's own key.
    assert!(is_invalid_proof(
        &resource(&server, &Method::GET, &dpop, None).await
    ));
    assert_eq!(
        resource(&server, &Method::GET, &format!("Bearer {token}"), None).await,
        Err(BearerError::DpopBound)
    );
    let thief = DpopKey::es256();
    let proof = thief.proof("GET", API_URL, Some(&token), None);
    assert_eq!(
        resource(&server, &Method::GET, &dpop, Some(&proof)).await,
        Err(BearerError::DpopBound)
    );
    // The owner's proof for another token does not carry over (`ath`).
    let other = bound_token(&server, &owner).await;
    let proof = owner.proof("GET", API_URL, Some(&other), None);
    assert!(is_invalid_proof(
        &resource(&server, &Method::GET, &dpop, Some(&proof)).await
    ));
    // The owner still gets in.
    let proof = owner.proof("GET", API_URL, Some(&token), None);
    resource(&server, &Method::GET, &dpop, Some(&proof))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_proof_without_ath_is_refused_at_a_resource() {
    let server = server();
    let key = DpopKey::rs256();
    let token = bound_token(&server, &key).await;
    let proof = key.proof("GET", API_URL, None, None);
    assert!(is_invalid_proof(
        &resource(&server, &Method::GET, &format!("DPoP {token}"), Some(&proof)).await
    ));
}

#[tokio::test]
async fn unsigned_symmetric_and_private_key_proofs_are_refused() {
    let server = server();
    let key = DpopKey::es256();
    let claims = claims("POST", TOKEN_URL, None, None);
    let b64 = |value: &serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    };
    // `alg: none`, no signature.
    let mut none = key.header();
    none["alg"] = json!("none");
    let unsigned = format!("{}.{}.", b64(&none), b64(&claims));
    // HS256 with the "key" in the header: anyone could make it.
    let secret = b"anyone can read this";
    let hmac_header =
        json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": b64(&json!("x"))}});
    let message = format!("{}.{}", b64(&hmac_header), b64(&claims));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(secret),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    let hmac = format!("{message}.{signature}");
    // A header that leaks a private key member.
    let mut private = key.header();
    private["jwk"]["d"] = json!("c2VjcmV0");
    let leaking = key.proof_with(&private, &claims);
    // `typ` other than dpop+jwt: an id_token or access token is no proof.
    let mut jwt = key.header();
    jwt["typ"] = json!("JWT");
    let typed = key.proof_with(&jwt, &claims);
    for proof in [unsigned, hmac, leaking, typed] {
        let response = token_request(&server, Some(&proof)).await;
        assert_eq!(error_of(&response), "invalid_dpop_proof", "{proof:.40}");
    }
    assert_eq!(server.storage().token_count(), 0);
}

/// A proof carries its own key, so its key is attacker input: an Ed25519 or
/// P-256 key of the wrong size (which once panicked inside the signature
/// library) is an invalid proof, and the server goes on answering.
#[tokio::test]
async fn keys_of_the_wrong_size_in_a_proof_are_refused_and_the_server_goes_on() {
    use base64::Engine as _;

    let server = server();
    let b64 = |value: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    };
    let claims = claims("POST", TOKEN_URL, None, None);
    for (alg, jwk) in [
        ("EdDSA", json!({"kty": "OKP", "crv": "Ed25519", "x": ""})),
        ("EdDSA", json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})),
        ("ES256", json!({"kty": "EC", "crv": "P-256", "x": "", "y": ""})),
    ] {
        let header = json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk});
        let proof = format!("{}.{}.{}", b64(&header), b64(&claims), "A".repeat(86));
        let response = token_request(&server, Some(&proof)).await;
        assert_eq!(error_of(&response), "invalid_dpop_proof", "{header}");
    }
    let key = DpopKey::es256();
    let good = key.proof("POST", TOKEN_URL, None, None);
    ok_body(&token_request(&server, Some(&good)).await);
}
