//! Token revocation (RFC 7009).

use http::StatusCode;

use crate::client_auth::authenticate;
use crate::model::ClientModel as _;
use crate::server::{Grants, Server};
use crate::{OAuthError, Request, Response, TokenHash};

impl<S: Grants> Server<S> {
    /// Handles a revocation request and renders the response: `200` with an
    /// empty body whether or not the token existed, the RFC 6749 error JSON
    /// when the request or the client authentication fails.
    pub async fn revoke(&self, request: &Request<'_>) -> Response {
        match self.revoke_token(request).await {
            Ok(()) => Response::empty(StatusCode::OK),
            Err(error) => error.into_response(),
        }
    }

    /// Revokes the token of a revocation request (RFC 7009 §2.1): an access
    /// or refresh token revokes its whole family, access and refresh tokens
    /// alike. An unknown token, or one of another client, changes nothing and
    /// is not an error (§2.2), so that the answer reveals nothing.
    ///
    /// # Errors
    ///
    /// `invalid_request` for a malformed request or a missing `token`;
    /// `invalid_client` when client authentication fails.
    pub async fn revoke_token(&self, request: &Request<'_>) -> Result<(), OAuthError> {
        let params = request.form()?;
        let token = params.require("token")?;
        // The hint only orders the search (§2.1); every type is searched.
        let client = authenticate(self, request, &params).await?.client;
        let Some(found) = self.storage().find_token(&TokenHash::of(token)).await? else {
            return Ok(());
        };
        if found.record.client_id != client.client_id() {
            tracing::debug!("revocation of another client's token ignored");
            return Ok(());
        }
        self.storage()
            .revoke_token_family(&found.record.family)
            .await
            .map_err(|e| OAuthError::storage(&e))
    }
}

#[cfg(test)]
mod tests {
    use http::header::CONTENT_TYPE;
    use http::{HeaderMap, HeaderValue, Method};

    use crate::grants::test_support::*;
    use crate::{MemoryStore, Request, Response, Server};

    async fn revoke(server: &Server<MemoryStore>, basic: Option<(&str, &str)>, body: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let Some((id, secret)) = basic {
            use base64::Engine as _;
            let value = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
            );
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        server
            .revoke(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
            .await
    }

    async fn password_tokens(server: &Server<MemoryStore>) -> serde_json::Value {
        ok_body(
            &post(
                server,
                Some(("web", "web-secret")),
                "grant_type=password&username=alice&password=wonderland",
            )
            .await,
        )
    }

    #[tokio::test]
    async fn revoking_an_access_token_revokes_its_family() {
        let server = server();
        let tokens = password_tokens(&server).await;
        let access = tokens["access_token"].as_str().unwrap();
        let response = revoke(
            &server,
            Some(("web", "web-secret")),
            &format!("token={access}&token_type_hint=access_token"),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert!(!is_live(&server, access).await);
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let refreshed = post(
            &server,
            Some(("web", "web-secret")),
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await;
        assert_eq!(error_of(&refreshed), "invalid_grant");
    }

    #[tokio::test]
    async fn revoking_a_refresh_token_revokes_the_access_tokens_of_its_family() {
        let server = server();
        let tokens = password_tokens(&server).await;
        let refresh = tokens["refresh_token"].as_str().unwrap();
        // A wrong hint does not stop the search.
        let response = revoke(
            &server,
            Some(("web", "web-secret")),
            &format!("token={refresh}&token_type_hint=access_token"),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert!(!is_live(&server, tokens["access_token"].as_str().unwrap()).await);
    }

    #[tokio::test]
    async fn a_token_of_another_client_is_not_revoked_and_the_answer_is_still_200() {
        let server = server();
        let tokens = password_tokens(&server).await;
        let access = tokens["access_token"].as_str().unwrap();
        let response = revoke(
            &server,
            None,
            &format!("token={access}&client_id=post&client_secret=post-secret"),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert!(is_live(&server, access).await);
    }

    #[tokio::test]
    async fn unknown_token_is_200_and_bad_requests_are_errors() {
        let server = server();
        assert_eq!(
            revoke(&server, Some(("web", "web-secret")), "token=nope")
                .await
                .status(),
            200
        );
        let missing = revoke(
            &server,
            Some(("web", "web-secret")),
            "token_type_hint=access_token",
        )
        .await;
        assert_eq!(error_of(&missing), "invalid_request");
        let unauthenticated = revoke(&server, None, "token=nope").await;
        assert_eq!(error_of(&unauthenticated), "invalid_client");
        let wrong = revoke(&server, Some(("web", "bad")), "token=nope").await;
        assert_eq!(wrong.status(), 401);
    }
}
