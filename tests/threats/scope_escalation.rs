//! RFC 6819 §5.1.5.1 / RFC 9700 §2.3 (privilege restriction): a scope
//! outside what the client may have is `invalid_scope` at every endpoint,
//! never ignored and never silently narrowed.

use granted::{AuthorizeError, Scope};

use crate::support::*;

#[tokio::test]
async fn authorize_beyond_the_clients_scope_is_invalid_scope() {
    let server = server();
    for scope in ["admin", "read+admin", "read+write+admin", "write"] {
        // spa is registered for `read` only.
        let query = format!(
            "response_type=code&client_id=spa&redirect_uri={REDIRECT_ENC}&state=s&code_challenge={}&code_challenge_method=S256&scope={scope}",
            challenge()
        );
        let Err(AuthorizeError::Redirect(redirect)) = authorize(&server, &query).await else {
            panic!("scope {scope} accepted");
        };
        assert_eq!(redirect.param("error"), Some("invalid_scope"), "{scope}");
    }
}

#[tokio::test]
async fn approving_more_than_requested_is_invalid_scope() {
    let server = server();
    let pending = authorize(&server, &auth_query("web", "&scope=read"))
        .await
        .expect("valid");
    let wider = Scope::parse("read write").expect("scope");
    let Err(AuthorizeError::Redirect(redirect)) = server.approve(&pending, "user-1", Some(wider)).await
    else {
        panic!("a wider approval was accepted");
    };
    assert_eq!(redirect.param("error"), Some("invalid_scope"));
}

#[tokio::test]
async fn code_exchange_issues_exactly_the_authorized_scope() {
    let server = server();
    let code = code_for(&server, "web", "&scope=read").await;
    // A scope parameter on the code exchange cannot widen the grant.
    let body = format!("{}&scope=read+write", redeem_body(&code));
    let response = token(&server, Auth::Basic("web", WEB_SECRET), &body).await;
    if response.status() == 200 {
        assert_eq!(response.json()["scope"], "read");
    } else {
        assert_eq!(error_of(&response), "invalid_scope");
    }
}

#[tokio::test]
async fn refresh_beyond_the_original_grant_is_invalid_scope() {
    let server = server();
    let code = code_for(&server, "web", "&scope=read").await;
    let tokens = ok_body(&token(&server, Auth::Basic("web", WEB_SECRET), &redeem_body(&code)).await);
    let refresh = field(&tokens, "refresh_token");
    for scope in ["write", "read+write", "read+admin"] {
        let body = format!("grant_type=refresh_token&refresh_token={refresh}&scope={scope}");
        let response = token(&server, Auth::Basic("web", WEB_SECRET), &body).await;
        assert_eq!(error_of(&response), "invalid_scope", "{scope}");
    }
    // The refused attempts did not consume the refresh token.
    let narrower = format!("grant_type=refresh_token&refresh_token={refresh}&scope=read");
    let body = ok_body(&token(&server, Auth::Basic("web", WEB_SECRET), &narrower).await);
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn client_credentials_beyond_the_clients_scope_is_invalid_scope() {
    let server = server();
    for scope in ["write", "read+write", "admin", "read+read+admin"] {
        let body = format!("grant_type=client_credentials&scope={scope}");
        let response = token(&server, Auth::Basic("svc", SVC_SECRET), &body).await;
        assert_eq!(error_of(&response), "invalid_scope", "{scope}");
    }
    let body = ok_body(
        &token(
            &server,
            Auth::Basic("svc", SVC_SECRET),
            "grant_type=client_credentials",
        )
        .await,
    );
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn password_grant_beyond_the_clients_scope_is_invalid_scope() {
    let server = server();
    let body = format!("grant_type=password&username=alice&password={PASSWORD}&scope=read+admin");
    let response = token(&server, Auth::Basic("web", WEB_SECRET), &body).await;
    assert_eq!(error_of(&response), "invalid_scope");
}

#[tokio::test]
async fn narrowed_access_token_cannot_reach_the_wider_scope() {
    let server = server();
    let code = code_for(&server, "web", "&scope=read").await;
    let tokens = ok_body(&token(&server, Auth::Basic("web", WEB_SECRET), &redeem_body(&code)).await);
    let access = field(&tokens, "access_token");
    let mut headers = granted::http::HeaderMap::new();
    headers.insert(
        granted::http::header::AUTHORIZATION,
        granted::http::HeaderValue::from_str(&format!("Bearer {access}")).expect("header"),
    );
    let request = granted::Request::new(&granted::http::Method::GET, &headers);
    let write = Scope::parse("write").expect("scope");
    let result = server.authenticate_bearer(&request, &write).await;
    assert!(matches!(result, Err(granted::BearerError::InsufficientScope(_))));
}

/// RFC 6749 §6: a narrower `scope` on a refresh narrows the new access token
/// only; the new refresh token keeps the scope of the one presented, no more
/// and no less.
#[tokio::test]
async fn a_narrowing_refresh_narrows_the_access_token_only() {
    let server = server();
    let tokens = web_tokens(&server).await;
    let refresh =
        |token: &str, scope: &str| format!("grant_type=refresh_token&refresh_token={token}&scope={scope}");
    let auth = Auth::Basic("web", WEB_SECRET);
    let narrowed = ok_body(&token(&server, auth, &refresh(&field(&tokens, "refresh_token"), "read")).await);
    assert_eq!(narrowed["scope"], "read");
    let access = field(&narrowed, "access_token");
    let write = Scope::parse("write").expect("scope");
    let mut headers = granted::http::HeaderMap::new();
    headers.insert(
        granted::http::header::AUTHORIZATION,
        granted::http::HeaderValue::from_str(&format!("Bearer {access}")).expect("header"),
    );
    let request = granted::Request::new(&granted::http::Method::GET, &headers);
    assert!(matches!(
        server.authenticate_bearer(&request, &write).await,
        Err(granted::BearerError::InsufficientScope(_))
    ));

    // The next refresh may ask for the whole original grant again...
    let next = field(&narrowed, "refresh_token");
    let wider = token(&server, auth, &refresh(&next, "read+write+admin")).await;
    assert_eq!(error_of(&wider), "invalid_scope");
    let restored = ok_body(&token(&server, auth, &refresh(&next, "read+write")).await);
    assert_eq!(restored["scope"], "read write");
    // ... and, asking for nothing in particular, gets all of it.
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        field(&restored, "refresh_token")
    );
    assert_eq!(ok_body(&token(&server, auth, &body).await)["scope"], "read write");
}
