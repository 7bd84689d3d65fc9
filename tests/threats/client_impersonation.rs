//! RFC 6819 §4.4.1.4 / §5.2.3 (client impersonation) and RFC 9700 §2.5:
//! a client proves its identity with the method it is registered with, and
//! only with its own credentials.

use crate::support::*;

#[tokio::test]
async fn public_client_posing_as_confidential_is_invalid_client() {
    let server = server();
    let code = code_for(&server, "spa", "").await;
    // With a made-up secret, in the body or with Basic.
    let body = format!("{}&client_id=spa&client_secret=guess", redeem_body(&code));
    assert_eq!(
        error_of(&token(&server, Auth::None, &body).await),
        "invalid_client"
    );
    let code = code_for(&server, "spa", "").await;
    let response = token(&server, Auth::Basic("spa", "guess"), &redeem_body(&code)).await;
    assert_eq!(error_of(&response), "invalid_client");
    assert_eq!(response.status(), 401);
    assert!(response.header("www-authenticate").is_some());
    // Basic with an empty secret is still Basic.
    let code = code_for(&server, "spa", "").await;
    let response = token(&server, Auth::Basic("spa", ""), &redeem_body(&code)).await;
    assert_eq!(error_of(&response), "invalid_client");
}

#[tokio::test]
async fn confidential_client_without_a_secret_is_invalid_client() {
    let server = server();
    let code = code_for(&server, "web", "").await;
    let body = format!("{}&client_id=web", redeem_body(&code));
    assert_eq!(
        error_of(&token(&server, Auth::None, &body).await),
        "invalid_client"
    );
    let cc = token(&server, Auth::None, "grant_type=client_credentials&client_id=svc").await;
    assert_eq!(error_of(&cc), "invalid_client");
}

#[tokio::test]
async fn the_secret_of_another_client_is_invalid_client() {
    let server = server();
    for (id, secret) in [
        ("web", POST_SECRET),
        ("web", SVC_SECRET),
        ("svc", WEB_SECRET),
        ("web", "web-secret-Zq8"),
        ("web", "web-secret-Zq8vX"),
        ("web", "WEB-SECRET-ZQ8V"),
    ] {
        let response = token(
            &server,
            Auth::Basic(id, secret),
            "grant_type=password&username=alice&password=x",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_client", "{id}:{secret}");
        assert_eq!(response.status(), 401);
    }
    let body = format!("grant_type=client_credentials&client_id=post&client_secret={WEB_SECRET}");
    assert_eq!(
        error_of(&token(&server, Auth::None, &body).await),
        "invalid_client"
    );
}

#[tokio::test]
async fn the_registered_auth_method_is_enforced() {
    let server = server();
    // web is registered for client_secret_basic: its right secret in the body fails.
    let body = format!(
        "grant_type=password&username=alice&password={PASSWORD}&client_id=web&client_secret={WEB_SECRET}"
    );
    assert_eq!(
        error_of(&token(&server, Auth::None, &body).await),
        "invalid_client"
    );
    // post is registered for client_secret_post: its right secret with Basic fails.
    let response = token(
        &server,
        Auth::Basic("post", POST_SECRET),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(error_of(&response), "invalid_client");
    // Two methods at once.
    let body = format!("grant_type=client_credentials&client_secret={POST_SECRET}");
    let response = token(&server, Auth::Basic("post", POST_SECRET), &body).await;
    assert_eq!(error_of(&response), "invalid_request");
}

#[tokio::test]
async fn body_client_id_contradicting_basic_is_refused() {
    let server = server();
    let body = format!("grant_type=password&username=alice&password={PASSWORD}&client_id=spa");
    let response = token(&server, Auth::Basic("web", WEB_SECRET), &body).await;
    assert_eq!(error_of(&response), "invalid_request");
}

#[tokio::test]
async fn public_client_cannot_use_client_credentials() {
    let server = server();
    let response = token(
        &server,
        Auth::None,
        "grant_type=client_credentials&client_id=pub-cc",
    )
    .await;
    assert_eq!(error_of(&response), "unauthorized_client");
}

#[tokio::test]
async fn public_client_cannot_introspect() {
    let server = server();
    let tokens = web_tokens(&server).await;
    let access = field(&tokens, "access_token");
    let body = format!("token={access}&client_id=spa");
    let headers = {
        let mut h = granted::http::HeaderMap::new();
        h.insert(
            granted::http::header::CONTENT_TYPE,
            granted::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h
    };
    let response = server
        .introspect(&granted::Request::new(&granted::http::Method::POST, &headers).with_body(body.as_bytes()))
        .await;
    assert_eq!(error_of(&response), "invalid_client");
}

#[tokio::test]
async fn unknown_client_and_wrong_secret_answer_alike() {
    let server = server();
    let unknown = token(
        &server,
        Auth::Basic("nobody", "x"),
        "grant_type=client_credentials",
    )
    .await;
    let wrong = token(&server, Auth::Basic("svc", "x"), "grant_type=client_credentials").await;
    assert_eq!(unknown.status(), wrong.status());
    assert_eq!(unknown.json(), wrong.json());
}

#[tokio::test]
async fn another_clients_refresh_token_is_invalid_grant() {
    let server = server();
    let tokens = web_tokens(&server).await;
    let refresh = field(&tokens, "refresh_token");
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id=post&client_secret={POST_SECRET}"
    );
    let foreign = token(&server, Auth::None, &body).await;
    assert_eq!(error_of(&foreign), "invalid_grant");
    // The answer does not confirm that the token exists: it is word for word
    // what an unknown token gets.
    let body =
        format!("grant_type=refresh_token&refresh_token=unknown&client_id=post&client_secret={POST_SECRET}");
    let unknown = token(&server, Auth::None, &body).await;
    assert_eq!(foreign.status(), unknown.status());
    assert_eq!(foreign.json(), unknown.json());
    // The victim's token still works: a stranger's attempt is not a reuse.
    assert!(is_active(&server, &refresh).await);
}

/// Issue 14: a code presented by the wrong client answered "issued to
/// another client", confirming that the code exists. It gets exactly what
/// an unknown code gets.
#[tokio::test]
async fn another_clients_code_answers_like_an_unknown_code() {
    let server = server();
    let code = code_for(&server, "web", "").await;
    let stranger = format!("client_id=post&client_secret={POST_SECRET}");
    let foreign = token(&server, Auth::None, &format!("{}&{stranger}", redeem_body(&code))).await;
    let unknown = token(
        &server,
        Auth::None,
        &format!("{}&{stranger}", redeem_body("no-such-code")),
    )
    .await;
    assert_eq!(error_of(&foreign), "invalid_grant");
    assert_eq!(foreign.status(), unknown.status());
    assert_eq!(foreign.json(), unknown.json());
}
