//! The example server locks a client id out after repeated failed client
//! authentications, and a username after repeated failed sign-ins on the
//! login form (issue #8: brute force).

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

#[tokio::test]
async fn password_guessing_on_the_login_form_locks_the_username_out() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let url = crate::support::authorize_url(&server, "web", "http://127.0.0.1:9/cb", "read");
    let page = http().get(&url).send().await.unwrap();
    let csrf = crate::support::set_cookie(&page, "granted_csrf");
    let hidden = crate::support::hidden_fields(&page.text().await.unwrap());
    let sign_in = |user: &'static str, password: &'static str| {
        let mut form = hidden.clone();
        form.extend([
            ("username".to_owned(), user.to_owned()),
            ("password".to_owned(), password.to_owned()),
            ("decision".to_owned(), "approve".to_owned()),
        ]);
        http()
            .post(server.url("/oauth/authorize"))
            .header("cookie", &csrf)
            .form(&form)
            .send()
    };
    for _ in 0..10 {
        assert_eq!(sign_in("alice", "guess").await.unwrap().status(), 401);
    }
    let locked = sign_in("alice", "wonderland").await.unwrap();
    assert_eq!(locked.status(), 429, "the right password is refused while locked");
    assert!(locked.headers().contains_key("retry-after"));
    assert!(locked.text().await.unwrap().contains("Too many failed sign-ins"));
    // Another user signs in as usual.
    assert_eq!(sign_in("bob", "builder").await.unwrap().status(), 302);
}
