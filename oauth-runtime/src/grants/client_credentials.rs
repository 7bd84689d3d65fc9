//! The client credentials grant (RFC 6749 §4.4): a confidential client
//! acting for itself. Never issues a refresh token (§4.4.3).

use crate::model::{ClientModel as _, ClientModelExt as _};
use crate::server::{GrantRequest, TokenResponse};
use crate::storage::Storage;
use crate::{OAuthError, scope};

use super::{Issue, Refresh, issue};

/// Exchanges client credentials for an access token.
///
/// # Errors
///
/// `unauthorized_client` for a public client; `invalid_scope` for a scope
/// outside the client's; `server_error` on storage failure.
pub async fn exchange<S: Storage>(
    storage: &S,
    request: GrantRequest<'_, S::Client>,
) -> Result<TokenResponse, OAuthError> {
    let client = request.client;
    if client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use the client_credentials grant",
        ));
    }
    let scope = scope::resolve(request.params.get("scope"), &client.allowed_scope())?;
    issue(
        storage,
        request.policy,
        request.now,
        Issue {
            client_id: client.client_id(),
            subject: None,
            scope,
            refresh_scope: None,
            family: None,
            refresh: Refresh::None,
            jkt: request.dpop_jkt,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use crate::grants::test_support::*;
    use crate::{TokenHash, storage::Storage as _};

    #[tokio::test]
    async fn issues_an_access_token_with_the_clients_scope_and_no_refresh_token() {
        let server = server();
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials",
        )
        .await;
        let body = ok_body(&response);
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "read write");
        assert!(body.get("refresh_token").is_none());
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(response.header("pragma"), Some("no-cache"));

        // Stored by hash only.
        let token = body["access_token"].as_str().unwrap();
        let stored = server
            .storage()
            .access_token(&TokenHash::of(token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.client_id, "svc");
        assert_eq!(stored.subject, None);
        assert_eq!(stored.refresh_token, None);
        assert!(!format!("{stored:?}").contains(token));
    }

    #[tokio::test]
    async fn narrower_scope_is_granted_as_asked() {
        let server = server();
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials&scope=read",
        )
        .await;
        assert_eq!(ok_body(&response)["scope"], "read");
    }

    #[tokio::test]
    async fn wider_scope_is_invalid_scope_never_narrowed() {
        let server = server();
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials&scope=read+admin",
        )
        .await;
        assert_eq!(response.status(), 400);
        assert_eq!(error_of(&response), "invalid_scope");
        assert_eq!(server.storage().token_count(), 0);
    }

    #[tokio::test]
    async fn malformed_scope_is_invalid_scope() {
        let server = server();
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials&scope=read%22",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_scope");
    }

    #[tokio::test]
    async fn public_client_is_unauthorized_client() {
        let server = server();
        let response = post(&server, None, "grant_type=client_credentials&client_id=pub-cc").await;
        assert_eq!(error_of(&response), "unauthorized_client");
        assert_eq!(server.storage().token_count(), 0);
    }

    #[tokio::test]
    async fn each_request_gets_a_distinct_token() {
        let server = server();
        let a = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials",
        )
        .await;
        let b = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials",
        )
        .await;
        assert_ne!(ok_body(&a)["access_token"], ok_body(&b)["access_token"]);
    }
}
