//! RFC 9700 §2.1.1 and §4.8 (PKCE downgrade): the binding a code received at
//! the authorization endpoint cannot be removed or weakened at the token
//! endpoint.

use crate::support::*;

fn body(code: &str, verifier: Option<&str>) -> String {
    let mut body = format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}");
    if let Some(verifier) = verifier {
        body.push_str("&code_verifier=");
        body.push_str(verifier);
    }
    body
}

#[tokio::test]
async fn code_with_a_challenge_redeemed_without_verifier_is_invalid_grant() {
    let server = server();
    let code = code_for(&server, "web", "").await;
    let response = token(&server, Auth::Basic("web", WEB_SECRET), &body(&code, None)).await;
    assert_eq!(error_of(&response), "invalid_grant");
}

#[tokio::test]
async fn plain_verifier_for_an_s256_challenge_is_invalid_grant() {
    let server = server();
    let code = code_for(&server, "web", "").await;
    // Sending the challenge itself as verifier is what `plain` would accept.
    let response = token(
        &server,
        Auth::Basic("web", WEB_SECRET),
        &body(&code, Some(&challenge())),
    )
    .await;
    assert_eq!(error_of(&response), "invalid_grant");
}

#[tokio::test]
async fn verifier_for_a_code_issued_without_challenge_is_invalid_grant() {
    let server = server();
    // A confidential client may skip PKCE on this server (policy S256, not
    // required): the code carries no challenge.
    let query = format!("response_type=code&client_id=web&redirect_uri={REDIRECT_ENC}&state=s");
    let code = approved(&server, &query)
        .await
        .param("code")
        .expect("code")
        .to_owned();
    let response = token(
        &server,
        Auth::Basic("web", WEB_SECRET),
        &body(&code, Some(VERIFIER)),
    )
    .await;
    assert_eq!(error_of(&response), "invalid_grant");
}

#[tokio::test]
async fn plain_method_is_refused_at_the_authorization_endpoint() {
    let server = server();
    for method in ["plain", "PLAIN", "s256", "S512", "none"] {
        let query = format!(
            "response_type=code&client_id=web&redirect_uri={REDIRECT_ENC}&code_challenge={VERIFIER}&code_challenge_method={method}"
        );
        let Err(granted::AuthorizeError::Redirect(redirect)) = authorize(&server, &query).await else {
            panic!("`{method}` accepted");
        };
        assert_eq!(redirect.param("error"), Some("invalid_request"), "{method}");
    }
    // A challenge without method defaults to plain (RFC 7636 §4.3): refused too.
    let query =
        format!("response_type=code&client_id=web&redirect_uri={REDIRECT_ENC}&code_challenge={VERIFIER}");
    assert!(authorize(&server, &query).await.is_err());
}

#[tokio::test]
async fn public_client_without_pkce_is_refused_at_both_endpoints() {
    let server = server();
    let query = format!("response_type=code&client_id=spa&redirect_uri={REDIRECT_ENC}&state=s");
    let Err(granted::AuthorizeError::Redirect(redirect)) = authorize(&server, &query).await else {
        panic!("public client without PKCE accepted");
    };
    assert_eq!(redirect.param("error"), Some("invalid_request"));
}

#[tokio::test]
async fn wrong_verifier_is_invalid_grant() {
    let server = server();
    let code = code_for(&server, "spa", "").await;
    let wrong = format!("{}A", &VERIFIER[..VERIFIER.len() - 1]);
    let response = token(
        &server,
        Auth::None,
        &format!("{}&client_id=spa", body(&code, Some(&wrong))),
    )
    .await;
    assert_eq!(error_of(&response), "invalid_grant");
}
