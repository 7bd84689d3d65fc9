//! The endpoints of the contract over HTTP.

use serde_json::Value;

use crate::support::{TestServer, fresh_dir, http};

async fn client_credentials(server: &TestServer, scope: &str) -> Value {
    let response = http()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_id", "svc"),
            ("client_secret", "svc-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

async fn introspect(server: &TestServer, token: &str) -> Value {
    http()
        .post(server.url("/oauth/introspect"))
        .basic_auth("rs", Some("rs-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn client_credentials_introspection_revocation_and_api_me() {
    let server = TestServer::start("sqlite::memory:", "http://127.0.0.1:9/unused");
    let tokens = client_credentials(&server, "read").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "read");
    assert!(tokens.get("refresh_token").is_none());
    let access = tokens["access_token"].as_str().unwrap();

    let active = introspect(&server, access).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], "svc");
    assert_eq!(active["scope"], "read");
    assert_eq!(active["token_type"], "Bearer");
    assert!(active["exp"].is_i64() && active["iat"].is_i64());

    let me = http()
        .get(server.url("/api/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["client_id"], "svc");
    assert_eq!(me["scope"], "read");

    let revoked = http()
        .post(server.url("/oauth/revoke"))
        .form(&[
            ("token", access),
            ("client_id", "svc"),
            ("client_secret", "svc-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        introspect(&server, access).await,
        serde_json::json!({"active": false})
    );
    let me = http()
        .get(server.url("/api/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    assert!(
        me.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn errors_follow_rfc_6749() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let wrong = http()
        .post(server.url("/oauth/token"))
        .basic_auth("rs", Some("nope"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].is_string());

    let wider = http()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "read admin"),
            ("client_id", "svc"),
            ("client_secret", "svc-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wider.status(), 400);
    assert_eq!(wider.json::<Value>().await.unwrap()["error"], "invalid_scope");

    for body in [
        "grant_type=client_credentials&grant_type=client_credentials&client_id=svc&client_secret=svc-secret",
        "client_id=svc&client_secret=svc-secret",
    ] {
        let response = http()
            .post(server.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_request"
        );
    }
    let json = http()
        .post(server.url("/oauth/token"))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
    assert_eq!(json.json::<Value>().await.unwrap()["error"], "invalid_request");

    let no_token = http().get(server.url("/api/me")).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
    assert_eq!(
        no_token.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .split(' ')
            .next(),
        Some("Bearer")
    );
    assert!(
        !no_token.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=")
    );
}

#[tokio::test]
async fn metadata_and_health() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let health = http().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let doc: Value = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], server.base);
    assert_eq!(doc["token_endpoint"], server.url("/oauth/token"));
    assert_eq!(doc["authorization_endpoint"], server.url("/oauth/authorize"));
    assert_eq!(doc["revocation_endpoint"], server.url("/oauth/revoke"));
    assert_eq!(doc["introspection_endpoint"], server.url("/oauth/introspect"));
    let grants: Vec<&str> = doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for grant in [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
    ] {
        assert!(grants.contains(&grant), "{grant}");
    }
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "read")
    );
    assert!(
        doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "none")
    );
}

#[tokio::test]
async fn password_grant_and_identical_failures() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let attempt = |client: &'static str, user: &'static str, password: &'static str| {
        http()
            .post(server.url("/oauth/token"))
            .basic_auth(client, Some(format!("{client}-secret")))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
            ])
            .send()
    };
    let ok: Value = attempt("legacy", "alice", "wonderland")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ok["access_token"].is_string());
    assert!(ok["refresh_token"].is_string(), "legacy may refresh: {ok}");

    let wrong = attempt("legacy", "alice", "nope").await.unwrap();
    let unknown = attempt("legacy", "nobody", "wonderland").await.unwrap();
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());

    // `web` is not registered for the password grant.
    let refused = attempt("web", "alice", "wonderland").await.unwrap();
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
}

#[test]
fn bad_flags_and_seed_files_are_one_line_errors_with_nonzero_exit() {
    let dir = fresh_dir("flags");
    std::fs::write(dir.join("bad-seed.json"), r#"{"clients": [], "extra": 1}"#).unwrap();
    for args in [
        &["--nope"][..],
        &["--addr", "not-an-address"],
        &["--access-token-ttl", "5w"],
        &["--seed", "missing.json", "--db", "memory"],
        &["--seed", "bad-seed.json", "--db", "memory"],
        &["--db", "mysql://localhost/x"],
    ] {
        let output = crate::support::run_server_once(&dir, args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        if args.contains(&"bad-seed.json") {
            assert!(lines[0].contains("extra"), "{}", lines[0]);
        }
    }
}
