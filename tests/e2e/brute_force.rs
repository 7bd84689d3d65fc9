//! The example server locks a client id out after repeated failed client
//! authentications (issue #8: brute force).

use crate::support::{TestServer, http};

#[tokio::test]
async fn the_example_server_answers_429_after_ten_failed_authentications() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let attempt = |secret: &'static str| {
        http()
            .post(server.url("/oauth/token"))
            .basic_auth("rs", Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    for _ in 0..10 {
        assert_eq!(attempt("guess").await.unwrap().status(), 401);
    }
    let locked = attempt("rs-secret").await.unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    // Another client still gets its token.
    let other = http()
        .post(server.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "svc-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}
