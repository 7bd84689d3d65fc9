//! RFC 9700 §4.5 (authorization code injection) and RFC 6749 §4.1.2 /
//! RFC 6819 §4.4.1.1 (code replay): a code is bound to its client, redirect
//! URI and PKCE verifier, works once, and a replay revokes what it issued.

use crate::support::*;

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_the_tokens_it_issued() {
    let server = server();
    let code = code_for(&server, "web", "").await;
    let first = ok_body(&token(&server, Auth::Basic("web", WEB_SECRET), &redeem_body(&code)).await);
    let access = field(&first, "access_token");
    let refresh = field(&first, "refresh_token");
    assert!(is_active(&server, &access).await);

    let replay = token(&server, Auth::Basic("web", WEB_SECRET), &redeem_body(&code)).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(error_of(&replay), "invalid_grant");

    assert!(!is_active(&server, &access).await, "access token revoked");
    assert!(!is_active(&server, &refresh).await, "refresh token revoked");
    assert!(!bearer_accepted(&server, &access).await);
    let refreshed = token(
        &server,
        Auth::Basic("web", WEB_SECRET),
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    )
    .await;
    assert_eq!(error_of(&refreshed), "invalid_grant");
}

#[tokio::test]
async fn code_injected_into_another_clients_session_is_refused_and_burnt() {
    let server = server();
    // The attacker stole web's code and redeems it as `post`.
    let code = code_for(&server, "web", "").await;
    let body = format!(
        "{}&client_id=post&client_secret={POST_SECRET}",
        redeem_body(&code)
    );
    let injected = token(&server, Auth::None, &body).await;
    assert_eq!(error_of(&injected), "invalid_grant");
    // The code is gone: the legitimate client cannot use it either, so it
    // never yields tokens after being exposed.
    let legit = token(&server, Auth::Basic("web", WEB_SECRET), &redeem_body(&code)).await;
    assert_eq!(error_of(&legit), "invalid_grant");
}

#[tokio::test]
async fn code_injected_without_the_verifier_of_the_victim_is_refused() {
    let server = server();
    // The attacker injects the victim's code into their own session with the
    // same client, but holds a different verifier (RFC 9700 §4.5.3).
    let code = code_for(&server, "spa", "").await;
    let other = "x".repeat(43);
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}&code_verifier={other}&client_id=spa"
    );
    let response = token(&server, Auth::None, &body).await;
    assert_eq!(error_of(&response), "invalid_grant");
    // One guess only: the right verifier afterwards finds the code consumed.
    let retry = token(
        &server,
        Auth::None,
        &format!("{}&client_id=spa", redeem_body(&code)),
    )
    .await;
    assert_eq!(error_of(&retry), "invalid_grant");
}

#[tokio::test]
async fn forged_and_unknown_codes_are_invalid_grant() {
    let server = server();
    for code in ["AAAA", "not-a-code", &"A".repeat(43), &"%00".repeat(3)] {
        let response = token(&server, Auth::Basic("web", WEB_SECRET), &redeem_body(code)).await;
        assert_eq!(response.status(), 400, "{code}");
        assert_eq!(error_of(&response), "invalid_grant", "{code}");
    }
}

#[tokio::test]
async fn the_code_response_is_a_fresh_high_entropy_value_each_time() {
    let server = server();
    let a = code_for(&server, "web", "").await;
    let b = code_for(&server, "web", "").await;
    assert_ne!(a, b);
    // At least 128 bits of entropy: 22+ base64url characters.
    assert!(a.len() >= 22, "{a}");
}
