//! DPoP (RFC 9449) against the running example server: a client with keys
//! of its own (P-256, Ed25519, RSA) gets the server's nonce, binds its
//! tokens to its key, and uses them at `/api/me` and `/userinfo` with a
//! fresh proof each time; introspection shows the binding (`cnf.jkt`), the
//! metadata the accepted algorithms, and a client registered with
//! `dpop_bound_access_tokens` gets nothing without a proof.

use serde_json::Value;

use crate::dpop_client::DpopKey;
use crate::support::{TestServer, VERIFIER, authorize_url, consent, http, query_param};

const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// `POST /oauth/token` with `form` and a proof by `key`, after asking the
/// server for its nonce (`use_dpop_nonce`, RFC 9449 §8) as a client does.
async fn token_with_proof(
    server: &TestServer,
    key: &DpopKey,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> reqwest::Response {
    let url = server.url("/oauth/token");
    let send = |proof: String| {
        let mut request = http().post(&url).header("DPoP", proof).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        request.send()
    };
    let first = send(key.proof("POST", &url, None, None)).await.unwrap();
    assert_eq!(first.status(), 400);
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");
    send(key.proof("POST", &url, None, Some(&nonce))).await.unwrap()
}

/// `GET path` with `Authorization: DPoP token` and a proof by `key`.
async fn dpop_get(server: &TestServer, path: &str, key: &DpopKey, token: &str) -> reqwest::Response {
    let url = server.url(path);
    http()
        .get(&url)
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", key.proof("GET", &url, Some(token), None))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_dpop_client_binds_its_tokens_and_uses_them_with_proofs() {
    let server = TestServer::start("sqlite::memory:", "http://127.0.0.1:9/unused");
    let metadata: Value = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"])
    );

    for key in [DpopKey::es256(), DpopKey::ed25519(), DpopKey::rs256()] {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "svc-secret"),
            ("scope", "read"),
        ];
        let response = token_with_proof(&server, &key, &form, None).await;
        assert_eq!(response.status(), 200);
        let tokens: Value = response.json().await.unwrap();
        assert_eq!(tokens["token_type"], "DPoP");
        let token = tokens["access_token"].as_str().unwrap();

        let me = dpop_get(&server, "/api/me", &key, token).await;
        assert_eq!(me.status(), 200);
        let me: Value = me.json().await.unwrap();
        assert_eq!(me["client_id"], "svc");

        let introspection: Value = http()
            .post(server.url("/oauth/introspect"))
            .basic_auth("rs", Some("rs-secret"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspection["active"], true);
        assert_eq!(introspection["token_type"], "DPoP");
        assert_eq!(introspection["cnf"]["jkt"], key.thumbprint());

        // As a bearer token it is refused, with a DPoP challenge.
        let bearer = http()
            .get(server.url("/api/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(bearer.status(), 401);
        let challenge = bearer.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("DPoP algs=\"RS256 ES256 EdDSA\", error=\"invalid_token\""),
            "{challenge}"
        );
    }
}

#[tokio::test]
async fn userinfo_answers_a_dpop_bound_token_of_the_code_flow() {
    let server = TestServer::start("sqlite::memory:", "http://127.0.0.1:9/unused");
    let key = DpopKey::es256();
    let location = consent(
        &server,
        &authorize_url(&server, "web", REDIRECT, "openid email"),
        ("alice", "wonderland"),
        "approve",
    )
    .await;
    let code = query_param(&location, "code").expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let response = token_with_proof(&server, &key, &form, Some(("web", "web-secret"))).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP");
    let token = tokens["access_token"].as_str().unwrap();
    let userinfo = dpop_get(&server, "/userinfo", &key, token).await;
    assert_eq!(userinfo.status(), 200);
    let claims: Value = userinfo.json().await.unwrap();
    assert_eq!(claims["email"], "alice@example.com");
    // A proof for /api/me does not open /userinfo.
    let url = server.url("/userinfo");
    let elsewhere = http()
        .get(&url)
        .header("Authorization", format!("DPoP {token}"))
        .header(
            "DPoP",
            key.proof("GET", &server.url("/api/me"), Some(token), None),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 401);
    assert!(
        elsewhere.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_dpop_proof")
    );
}

#[tokio::test]
async fn a_client_registered_for_dpop_gets_no_token_without_a_proof_and_bearer_clients_keep_working() {
    let server = TestServer::start("sqlite::memory:", "http://127.0.0.1:9/unused");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "dpop-only"),
        ("client_secret", "dpop-secret"),
    ];
    let refused = http()
        .post(server.url("/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
    let key = DpopKey::es256();
    let response = token_with_proof(&server, &key, &form, None).await;
    assert_eq!(response.status(), 200);

    // A client without DPoP: a bearer token, as before.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "svc"),
        ("client_secret", "svc-secret"),
    ];
    let tokens: Value = http()
        .post(server.url("/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    let me = http()
        .get(server.url("/api/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}
