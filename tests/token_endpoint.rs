//! The token endpoint through the public API of `granted`, on the in-memory store.

use std::sync::Arc;

use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::{
    ClientRecord, CodeRecord, GrantType, MemoryStore, NewToken, PkceMethod, Policy, Request, Response, Scope,
    Server, UserRecord, now, pkce,
};

const VERIFIER: &str = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag";
const REDIRECT: &str = "http://127.0.0.1:9000/cb";

fn server() -> Server<MemoryStore> {
    let store = MemoryStore::with_policy(Policy::new(GrantType::ALL));
    store.add_client(
        ClientRecord::confidential("web", "s3cret")
            .redirect_uris([REDIRECT])
            .grant_types([
                "authorization_code",
                "refresh_token",
                "password",
                "client_credentials",
            ])
            .scope("read write"),
    );
    store.add_user(UserRecord::new("u-1", "alice", "wonderland").unwrap());
    Server::new(store)
}

async fn post(server: &Server<MemoryStore>, body: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    // base64("web:s3cret")
    headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic d2ViOnMzY3JldA=="));
    server
        .token(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await
}

fn issue_code(server: &Server<MemoryStore>) -> String {
    let code = NewToken::generate().unwrap();
    server.storage().add_code(CodeRecord {
        code: code.hash(),
        client_id: "web".into(),
        redirect_uri: Some(REDIRECT.into()),
        scope: Scope::parse("read write").unwrap(),
        subject: "u-1".into(),
        code_challenge: Some(pkce::s256_challenge(VERIFIER)),
        code_challenge_method: Some(PkceMethod::S256),
        nonce: None,
        auth_time: None,
        expires_at: now() + 60,
    });
    code.into_value()
}

fn redeem(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcb&code_verifier={VERIFIER}"
    )
}

#[tokio::test]
async fn code_flow_then_refresh_then_reuse_detection() {
    let server = server();
    let code = issue_code(&server);
    let first = post(&server, &redeem(&code)).await;
    assert_eq!(first.status(), 200, "{}", first.json());
    let first = first.json();
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 3600);
    assert_eq!(first["scope"], "read write");

    let old = first["refresh_token"].as_str().unwrap();
    let second = post(
        &server,
        &format!("grant_type=refresh_token&refresh_token={old}&scope=read"),
    )
    .await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.json()["scope"], "read");

    let reuse = post(&server, &format!("grant_type=refresh_token&refresh_token={old}")).await;
    assert_eq!(reuse.json()["error"], "invalid_grant");
    let newest = second.json()["refresh_token"].as_str().unwrap().to_owned();
    let after = post(
        &server,
        &format!("grant_type=refresh_token&refresh_token={newest}"),
    )
    .await;
    assert_eq!(after.json()["error"], "invalid_grant", "the family is revoked");
}

#[tokio::test]
async fn password_and_client_credentials() {
    let server = server();
    let password = post(&server, "grant_type=password&username=alice&password=wonderland").await;
    assert_eq!(password.status(), 200);
    assert!(password.json()["refresh_token"].is_string());
    let cc = post(&server, "grant_type=client_credentials&scope=write").await;
    assert_eq!(cc.json()["scope"], "write");
    assert!(cc.json().get("refresh_token").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_redemptions_of_one_code_exactly_one_succeeds() {
    for _ in 0..50 {
        let server = Arc::new(server());
        let code = issue_code(&server);
        let a = tokio::spawn({
            let (server, body) = (Arc::clone(&server), redeem(&code));
            async move { post(&server, &body).await.status() }
        });
        let b = tokio::spawn({
            let (server, body) = (Arc::clone(&server), redeem(&code));
            async move { post(&server, &body).await.status() }
        });
        let statuses = [a.await.unwrap(), b.await.unwrap()];
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    }
}
