//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14): a refresh token works once; presenting it again revokes
//! its whole token family, access tokens included.

use crate::model::{ClientModel as _, RefreshableToken, TokenModel as _};
use crate::server::{GrantRequest, TokenResponse};
use crate::storage::RefreshStorage;
use crate::{OAuthError, Scope, TokenHash};

use super::{Issue, Refresh, issue, mint, model_error, storage_error};

/// What an unknown or foreign refresh token gets: one answer, so that a
/// client cannot tell another client's token from no token.
const INVALID_REFRESH_TOKEN: &str = "the refresh token is invalid";

/// Exchanges a refresh token for new tokens.
///
/// # Errors
///
/// `invalid_request` without `refresh_token`; `invalid_grant` when it is
/// unknown, expired, issued to another client or already used (which also
/// revokes its family); `invalid_scope` when the requested scope is wider
/// than the original grant.
pub async fn exchange<S>(
    storage: &S,
    request: GrantRequest<'_, S::Client>,
) -> Result<TokenResponse, OAuthError>
where
    S: RefreshStorage,
    S::Token: RefreshableToken,
{
    let params = request.params;
    let hash = TokenHash::of(params.require("refresh_token")?);
    let Some(token) = storage.refresh_token(&hash).await.map_err(storage_error)? else {
        return Err(OAuthError::invalid_grant(INVALID_REFRESH_TOKEN));
    };
    let old = token.into_record().map_err(model_error)?;
    let client = request.client;
    if old.client_id != client.client_id() {
        // Exactly what an unknown token gets: another client's refresh token
        // is not confirmed to exist.
        return Err(OAuthError::invalid_grant(INVALID_REFRESH_TOKEN));
    }
    // RFC 9449 §5: a public client's refresh token is bound to its DPoP key
    // (a confidential client's is bound by its authentication): without a
    // proof of that key it does nothing, not even its reuse detection.
    if client.secret_hash().is_none()
        && let Some(bound) = &old.jkt
        && request.dpop_jkt != Some(bound.as_str())
    {
        return Err(OAuthError::new(
            crate::ErrorCode::InvalidDpopProof,
            "the refresh token is bound to a DPoP key: the request needs a proof of that key",
        ));
    }
    if old.rotated {
        return Err(revoke_reused_family(storage, &old.family).await);
    }
    let Some(refresh_expires_at) = old.refresh_expires_at.filter(|t| *t > request.now) else {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    };
    // RFC 6749 §6: a narrower `scope` narrows the new access token only; the
    // new refresh token keeps the scope of the one presented, so that a later
    // refresh may ask for all of it again.
    let granted = old.refresh_token_scope();
    let scope = match params.get("scope") {
        None => granted.clone(),
        Some(requested) => {
            let requested = Scope::parse(requested)?;
            if let Some(token) = requested.first_outside(granted) {
                return Err(OAuthError::invalid_scope(match crate::error::plain(token) {
                    Some(token) => format!("scope `{token}` was not part of the original grant"),
                    None => "a requested scope was not part of the original grant".to_owned(),
                }));
            }
            requested
        }
    };
    let refresh_scope = (!granted.is_subset_of(&scope)).then(|| granted.clone());

    let next = Issue {
        client_id: client.client_id(),
        subject: old.subject,
        scope,
        refresh_scope,
        family: Some(old.family.clone()),
        refresh: Refresh::Until(refresh_expires_at),
        jkt: request.dpop_jkt,
    };
    if !request.policy.rotates_refresh_tokens() {
        // The client keeps its refresh token (and its scope); it gets a new
        // access token only.
        let next = Issue {
            refresh: Refresh::None,
            refresh_scope: None,
            ..next
        };
        return issue(storage, request.policy, request.now, next).await;
    }
    let (record, response) = mint(request.policy, request.now, next)?;
    let rotated = storage
        .rotate_refresh_token(&hash, S::Token::from_record(record))
        .await
        .map_err(storage_error)?;
    if !rotated {
        // Another request rotated it first: a concurrent reuse.
        return Err(revoke_reused_family(storage, &old.family).await);
    }
    Ok(response)
}

/// A refresh token was presented after it was rotated: whoever holds it may
/// have stolen it, so every token of its family is revoked (RFC 9700 §4.14.2).
async fn revoke_reused_family<S: RefreshStorage>(storage: &S, family: &str) -> OAuthError {
    match storage.revoke_token_family(family).await {
        Ok(()) => OAuthError::invalid_grant(
            "the refresh token was already used; all tokens of this grant are revoked",
        ),
        Err(error) => storage_error(error),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::grants::test_support::*;
    use crate::model::TokenRecord;
    use crate::{
        GrantType, MemoryStore, PkceMethod, Policy, Scope, Server, TokenHash, now,
        storage::RefreshStorage as _, storage::Storage as _,
    };

    /// Runs the code flow for `web` and returns the token response.
    async fn tokens(server: &Server<MemoryStore>) -> serde_json::Value {
        let code = code_for(server, "web", Some(PkceMethod::S256));
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier={VERIFIER}"
        );
        ok_body(&post(server, Some(("web", "web-secret")), &body).await)
    }

    async fn refresh(server: &Server<MemoryStore>, token: &str, extra: &str) -> crate::Response {
        post(
            server,
            Some(("web", "web-secret")),
            &format!("grant_type=refresh_token&refresh_token={token}{extra}"),
        )
        .await
    }

    fn text(value: &serde_json::Value, key: &str) -> String {
        value[key].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn rotates_the_refresh_token_and_keeps_its_expiry() {
        let server = server();
        let first = tokens(&server).await;
        let old = text(&first, "refresh_token");
        let second = ok_body(&refresh(&server, &old, "").await);
        let new = text(&second, "refresh_token");
        assert_ne!(old, new);
        assert_eq!(second["scope"], "read");
        let old_record = server
            .storage()
            .refresh_token(&TokenHash::of(&old))
            .await
            .unwrap()
            .unwrap();
        let new_record = server
            .storage()
            .refresh_token(&TokenHash::of(&new))
            .await
            .unwrap()
            .unwrap();
        assert!(old_record.rotated);
        assert!(!new_record.rotated);
        assert_eq!(old_record.family, new_record.family);
        assert_eq!(old_record.refresh_expires_at, new_record.refresh_expires_at);
        assert_eq!(new_record.subject.as_deref(), Some("user-1"));
    }

    #[tokio::test]
    async fn reusing_a_rotated_token_revokes_the_whole_family() {
        let server = server();
        let first = tokens(&server).await;
        let old = text(&first, "refresh_token");
        let second = ok_body(&refresh(&server, &old, "").await);

        let reuse = refresh(&server, &old, "").await;
        assert_eq!(error_of(&reuse), "invalid_grant");
        assert!(!is_live(&server, &text(&first, "access_token")).await);
        assert!(!is_live(&server, &text(&second, "access_token")).await);
        let newest = refresh(&server, &text(&second, "refresh_token"), "").await;
        assert_eq!(error_of(&newest), "invalid_grant");
    }

    #[tokio::test]
    async fn narrower_scope_is_allowed_and_wider_is_invalid_scope() {
        let server = server_with(Policy::new(GrantType::ALL));
        let first = ok_body(
            &post(
                &server,
                Some(("web", "web-secret")),
                "grant_type=password&username=alice&password=wonderland&scope=read+write",
            )
            .await,
        );
        let wider = refresh(&server, &text(&first, "refresh_token"), "&scope=read+write+admin").await;
        assert_eq!(error_of(&wider), "invalid_scope");
        let narrower = ok_body(&refresh(&server, &text(&first, "refresh_token"), "&scope=write").await);
        assert_eq!(narrower["scope"], "write");
    }

    #[tokio::test]
    async fn narrowing_narrows_the_access_token_only() {
        let server = server_with(Policy::new(GrantType::ALL));
        let first = ok_body(
            &post(
                &server,
                Some(("web", "web-secret")),
                "grant_type=password&username=alice&password=wonderland&scope=read+write",
            )
            .await,
        );
        let narrower = ok_body(&refresh(&server, &text(&first, "refresh_token"), "&scope=read").await);
        assert_eq!(narrower["scope"], "read");
        let access = server
            .storage()
            .access_token(&TokenHash::of(&text(&narrower, "access_token")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(access.scope.to_string(), "read");
        assert_eq!(access.refresh_token_scope().to_string(), "read write");

        // RFC 6749 §6: the new refresh token keeps the presented one's scope.
        let again = ok_body(&refresh(&server, &text(&narrower, "refresh_token"), "&scope=read+write").await);
        assert_eq!(again["scope"], "read write");
        let still_wider = refresh(&server, &text(&again, "refresh_token"), "&scope=read+write+admin").await;
        assert_eq!(error_of(&still_wider), "invalid_scope");
        // Without `scope`, a refresh asks for the whole scope of its refresh token.
        let narrower = ok_body(&refresh(&server, &text(&again, "refresh_token"), "&scope=write").await);
        let omitted = ok_body(&refresh(&server, &text(&narrower, "refresh_token"), "").await);
        assert_eq!(omitted["scope"], "read write");
    }

    #[tokio::test]
    async fn refresh_token_of_another_client_is_invalid_grant() {
        let server = server();
        let first = tokens(&server).await;
        let body = format!(
            "grant_type=refresh_token&refresh_token={}&client_id=spa",
            text(&first, "refresh_token")
        );
        let foreign = post(&server, None, &body).await;
        assert_eq!(error_of(&foreign), "invalid_grant");
        // Word for word what an unknown token gets.
        let unknown = post(
            &server,
            None,
            "grant_type=refresh_token&refresh_token=unknown&client_id=spa",
        )
        .await;
        assert_eq!(foreign.status(), unknown.status());
        assert_eq!(foreign.json(), unknown.json());
        // The owner can still use it.
        ok_body(&refresh(&server, &text(&first, "refresh_token"), "").await);
    }

    #[tokio::test]
    async fn unknown_missing_and_expired_tokens_fail() {
        let server = server();
        assert_eq!(error_of(&refresh(&server, "nope", "").await), "invalid_grant");
        let missing = post(&server, Some(("web", "web-secret")), "grant_type=refresh_token").await;
        assert_eq!(error_of(&missing), "invalid_request");

        let refresh_value = crate::NewToken::generate().unwrap();
        server.storage().add_token_for_tests(TokenRecord {
            access_token: TokenHash::of("a"),
            refresh_token: Some(refresh_value.hash()),
            client_id: "web".into(),
            subject: Some("user-1".into()),
            scope: Scope::parse("read").unwrap(),
            family: "f".into(),
            issued_at: now() - 100,
            expires_at: now() - 50,
            refresh_expires_at: Some(now() - 1),
            rotated: false,
            refresh_scope: None,
            jkt: None,
        });
        let expired = refresh(&server, refresh_value.value(), "").await;
        assert_eq!(error_of(&expired), "invalid_grant");
        assert!(
            expired.json()["error_description"]
                .as_str()
                .unwrap()
                .contains("expired")
        );
    }

    #[tokio::test]
    async fn without_rotation_the_refresh_token_keeps_working() {
        let server = server_with(Policy::new(GrantType::ALL).with_refresh_rotation(false));
        let first = tokens(&server).await;
        let token = text(&first, "refresh_token");
        let a = ok_body(&refresh(&server, &token, "").await);
        assert!(a.get("refresh_token").is_none());
        let b = ok_body(&refresh(&server, &token, "").await);
        assert_ne!(a["access_token"], b["access_token"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_refreshes_of_one_token_exactly_one_wins() {
        for _ in 0..20 {
            let server = Arc::new(server());
            let token = text(&tokens(&server).await, "refresh_token");
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let server = Arc::clone(&server);
                    let token = token.clone();
                    tokio::spawn(async move { refresh(&server, &token, "").await })
                })
                .collect();
            let mut successes = 0;
            for task in tasks {
                let response = task.await.unwrap();
                if response.status() == 200 {
                    successes += 1;
                } else {
                    assert_eq!(error_of(&response), "invalid_grant");
                }
            }
            assert_eq!(successes, 1);
        }
    }
}
