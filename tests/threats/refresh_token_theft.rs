//! RFC 9700 §4.14 (refresh token protection), RFC 6819 §5.2.2.3: refresh
//! tokens rotate, and presenting a rotated one revokes the whole family,
//! access tokens included.

use crate::support::*;

async fn refresh(server: &granted::Server<granted::MemoryStore>, token_value: &str) -> granted::Response {
    token(
        server,
        Auth::Basic("web", WEB_SECRET),
        &format!("grant_type=refresh_token&refresh_token={token_value}"),
    )
    .await
}

#[tokio::test]
async fn stolen_refresh_token_used_by_the_attacker_first_revokes_the_family() {
    let server = server();
    let first = web_tokens(&server).await;
    let stolen = field(&first, "refresh_token");

    // The attacker refreshes first and gets a new pair.
    let attacker = ok_body(&refresh(&server, &stolen).await);
    let attacker_access = field(&attacker, "access_token");
    let attacker_refresh = field(&attacker, "refresh_token");
    assert_ne!(attacker_refresh, stolen, "the refresh token rotates");
    assert!(bearer_accepted(&server, &attacker_access).await);

    // The victim presents the (now rotated) token: reuse detected.
    let victim = refresh(&server, &stolen).await;
    assert_eq!(error_of(&victim), "invalid_grant");

    // Everything of the family is dead, the attacker's pair included.
    for value in [
        &attacker_access,
        &attacker_refresh,
        &field(&first, "access_token"),
        &stolen,
    ] {
        assert!(!is_active(&server, value).await, "{value} still active");
    }
    assert!(!bearer_accepted(&server, &attacker_access).await);
    assert_eq!(
        error_of(&refresh(&server, &attacker_refresh).await),
        "invalid_grant"
    );
}

#[tokio::test]
async fn stolen_refresh_token_replayed_after_the_victim_refreshed_revokes_the_family() {
    let server = server();
    let first = web_tokens(&server).await;
    let stolen = field(&first, "refresh_token");
    let victim = ok_body(&refresh(&server, &stolen).await);
    let replay = refresh(&server, &stolen).await;
    assert_eq!(error_of(&replay), "invalid_grant");
    assert!(!is_active(&server, &field(&victim, "access_token")).await);
    assert!(!is_active(&server, &field(&victim, "refresh_token")).await);
}

#[tokio::test]
async fn rotated_refresh_token_introspects_inactive_and_the_new_one_active() {
    let server = server();
    let first = web_tokens(&server).await;
    let old = field(&first, "refresh_token");
    let next = ok_body(&refresh(&server, &old).await);
    assert!(!is_active(&server, &old).await);
    assert!(is_active(&server, &field(&next, "refresh_token")).await);
}

#[tokio::test]
async fn other_families_survive_a_reuse() {
    let server = server();
    let a = web_tokens(&server).await;
    let b = web_tokens(&server).await;
    let a_refresh = field(&a, "refresh_token");
    ok_body(&refresh(&server, &a_refresh).await);
    assert_eq!(error_of(&refresh(&server, &a_refresh).await), "invalid_grant");
    assert!(is_active(&server, &field(&b, "access_token")).await);
    ok_body(&refresh(&server, &field(&b, "refresh_token")).await);
}

#[tokio::test]
async fn access_token_is_not_a_refresh_token() {
    let server = server();
    let tokens = web_tokens(&server).await;
    let response = refresh(&server, &field(&tokens, "access_token")).await;
    assert_eq!(error_of(&response), "invalid_grant");
    // And that mistake does not revoke anything.
    assert!(is_active(&server, &field(&tokens, "refresh_token")).await);
}

#[tokio::test]
async fn revoking_the_refresh_token_revokes_its_access_token() {
    let server = server();
    let tokens = web_tokens(&server).await;
    let body = format!(
        "token={}&token_type_hint=refresh_token",
        field(&tokens, "refresh_token")
    );
    let response = revoke(&server, Auth::Basic("web", WEB_SECRET), &body).await;
    assert_eq!(response.status(), 200);
    assert!(!bearer_accepted(&server, &field(&tokens, "access_token")).await);
}

#[tokio::test]
async fn another_client_cannot_revoke_a_victims_token() {
    let server = server();
    let tokens = web_tokens(&server).await;
    let body = format!(
        "token={}&client_id=post&client_secret={POST_SECRET}",
        field(&tokens, "refresh_token")
    );
    let response = revoke(&server, Auth::None, &body).await;
    assert_eq!(response.status(), 200, "RFC 7009 §2.2 reveals nothing");
    assert!(is_active(&server, &field(&tokens, "refresh_token")).await);
    assert!(bearer_accepted(&server, &field(&tokens, "access_token")).await);
}

/// RFC 7662 §4: introspection must not tell another client about a refresh
/// token (its user, scope, lifetime): only the client it was issued to gets
/// an answer; anyone else gets exactly `{"active": false}`, as for an
/// unknown token. Access tokens stay answerable to resource servers.
#[tokio::test]
async fn another_client_learns_nothing_about_a_refresh_token() {
    let server = server();
    let tokens = web_tokens(&server).await;
    let refresh = field(&tokens, "refresh_token");
    let inactive = serde_json::json!({"active": false});
    let by_token = format!("token={refresh}");
    let by_post =
        format!("{by_token}&token_type_hint=refresh_token&client_id=post&client_secret={POST_SECRET}");
    assert_eq!(introspect_as(&server, Auth::None, &by_post).await, inactive);
    assert_eq!(
        introspect_as(&server, Auth::Basic("svc", SVC_SECRET), &by_token).await,
        inactive
    );
    let owner = introspect_as(&server, Auth::Basic("web", WEB_SECRET), &by_token).await;
    assert_eq!(owner["active"], true);
    assert_eq!(owner["sub"], "user-1");
    let access = format!("token={}", field(&tokens, "access_token"));
    assert_eq!(
        introspect_as(&server, Auth::Basic("svc", SVC_SECRET), &access).await["active"],
        true
    );
}
