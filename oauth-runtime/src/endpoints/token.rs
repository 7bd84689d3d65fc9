//! The token endpoint (RFC 6749 §3.2): parsing, client authentication, the
//! client's permission for the grant, then dispatch to the enabled grant.

use http::StatusCode;

use crate::client_auth::authenticate;
use crate::model::{ClientModel as _, ClientModelExt as _};
use crate::server::{GrantRequest, Grants, Server, TokenResponse, now};
use crate::{DpopPolicy, ErrorCode, GrantType, OAuthError, Request, Response};

impl<S: Grants> Server<S> {
    /// Handles a token-endpoint request (RFC 6749 §3.2) and renders the
    /// response: JSON, `Cache-Control: no-store`, `Pragma: no-cache`.
    pub async fn token(&self, request: &Request<'_>) -> Response {
        let response = match self.token_response(request).await {
            Ok(tokens) => Response::from_json(StatusCode::OK, &tokens),
            Err(error) => {
                tracing::debug!(error = %error, "token request refused");
                error.into_response()
            }
        };
        self.with_dpop_nonce(request, response)
    }

    /// Handles a token-endpoint request and returns the tokens or the error.
    ///
    /// # Errors
    ///
    /// The RFC 6749 §5.2 error for the request.
    pub async fn token_response(&self, request: &Request<'_>) -> Result<TokenResponse, OAuthError> {
        let params = request.form()?;
        let grant_name = params.require("grant_type")?;
        let grant = GrantType::from_name(grant_name)
            .filter(|g| self.policy().enables(*g))
            .ok_or_else(|| {
                // The value is not echoed: it is request input.
                OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    "grant_type names a grant this server does not support",
                )
            })?;
        // The proof before the client: a proof without the server's nonce
        // is answered `use_dpop_nonce` at once (RFC 9449 §8).
        let proof = self.dpop_proof(request, None, true).await?;
        let authenticated = authenticate(self, request, &params).await?;
        if !authenticated.client.allows_grant(grant.as_str()) {
            return Err(OAuthError::unauthorized_client(format!(
                "the client may not use the {} grant",
                grant.as_str()
            )));
        }
        let dpop = self.policy().dpop();
        if proof.is_none()
            && (dpop == DpopPolicy::Required
                || (dpop.is_enabled() && authenticated.client.dpop_bound_access_tokens()))
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "this token request needs a DPoP proof",
            ));
        }
        let grant_request = GrantRequest {
            params: &params,
            client: &authenticated.client,
            policy: self.policy(),
            now: now(),
            keys: self.signing_keys(),
            peer: request.peer(),
            dpop_jkt: proof.as_ref().map(|p| p.jkt.as_str()),
        };
        self.storage().exchange(grant, grant_request).await
    }
}

#[cfg(test)]
mod tests {
    use http::header::{AUTHORIZATION, CONTENT_TYPE};
    use http::{HeaderMap, HeaderValue, Method};

    use crate::grants::test_support::*;
    use crate::{GrantType, Policy, Request};

    async fn send(
        method: Method,
        content_type: Option<&'static str>,
        query: Option<&str>,
        body: &[u8],
    ) -> crate::Response {
        let server = server();
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        server
            .token(&Request::new(&method, &headers).with_query(query).with_body(body))
            .await
    }

    const CC: &[u8] = b"grant_type=client_credentials&client_id=post&client_secret=post-secret";
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[tokio::test]
    async fn accepts_a_form_post_with_charset() {
        let response = send(
            Method::POST,
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            None,
            CC,
        )
        .await;
        ok_body(&response);
    }

    #[tokio::test]
    async fn malformed_requests_are_invalid_request_with_no_store() {
        let big = [CC, &b"&x="[..], &vec![b'a'; crate::MAX_BODY_BYTES]].concat();
        type Case<'a> = (Method, Option<&'static str>, Option<&'a str>, &'a [u8]);
        let cases: Vec<Case<'_>> = vec![
            (Method::GET, FORM, None, CC),
            (
                Method::POST,
                Some("application/json"),
                None,
                br#"{"grant_type":"client_credentials"}"#,
            ),
            (Method::POST, None, None, CC),
            (Method::POST, FORM, None, &big),
            (Method::POST, FORM, Some("client_secret=post-secret"), CC),
            (
                Method::POST,
                FORM,
                None,
                b"grant_type=client_credentials&grant_type=client_credentials",
            ),
            (
                Method::POST,
                FORM,
                None,
                b"client_id=post&client_secret=post-secret",
            ),
        ];
        for (method, content_type, query, body) in cases {
            let response = send(method.clone(), content_type, query, body).await;
            assert_eq!(response.status(), 400, "{method} {content_type:?} {query:?}");
            assert_eq!(
                error_of(&response),
                "invalid_request",
                "{method} {content_type:?}"
            );
            assert_eq!(response.header("cache-control"), Some("no-store"));
            assert!(response.json()["error_description"].is_string());
        }
    }

    #[tokio::test]
    async fn unknown_or_disabled_grant_is_unsupported_grant_type() {
        let response = send(Method::POST, FORM, None, b"grant_type=implicit&client_id=spa").await;
        assert_eq!(error_of(&response), "unsupported_grant_type");
        let server = server_with(Policy::new([GrantType::ClientCredentials]));
        let response = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=refresh_token&refresh_token=x",
        )
        .await;
        assert_eq!(error_of(&response), "unsupported_grant_type");
    }

    #[tokio::test]
    async fn client_not_registered_for_the_grant_is_unauthorized_before_grant_parameters() {
        let server = server();
        // `svc` may only use client_credentials; no code is even sent.
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=authorization_code",
        )
        .await;
        assert_eq!(error_of(&response), "unauthorized_client");
        let response = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=client_credentials",
        )
        .await;
        assert_eq!(error_of(&response), "unauthorized_client");
    }

    #[tokio::test]
    async fn wrong_basic_secret_is_401_with_a_challenge() {
        let server = server();
        let response = post(&server, Some(("svc", "wrong")), "grant_type=client_credentials").await;
        assert_eq!(response.status(), 401);
        assert_eq!(error_of(&response), "invalid_client");
        assert!(response.header("www-authenticate").unwrap().starts_with("Basic"));
    }

    #[tokio::test]
    async fn unknown_client_and_wrong_secret_answer_alike() {
        let server = server();
        let wrong = post(&server, Some(("svc", "wrong")), "grant_type=client_credentials").await;
        let unknown = post(&server, Some(("ghost", "wrong")), "grant_type=client_credentials").await;
        assert_eq!(wrong.status(), unknown.status());
        assert_eq!(wrong.body(), unknown.body());
    }

    #[tokio::test]
    async fn wrong_post_secret_is_400_without_a_challenge() {
        let server = server();
        let response = post(
            &server,
            None,
            "grant_type=client_credentials&client_id=post&client_secret=x",
        )
        .await;
        assert_eq!(response.status(), 400);
        assert_eq!(error_of(&response), "invalid_client");
        assert!(response.header("www-authenticate").is_none());
    }

    #[tokio::test]
    async fn a_client_must_use_its_registered_method() {
        let server = server();
        // `svc` is registered for Basic: the right secret in the body is refused.
        let response = post(
            &server,
            None,
            "grant_type=client_credentials&client_id=svc&client_secret=svc-secret",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_client");
        // `post` is registered for client_secret_post: Basic is refused.
        let response = post(
            &server,
            Some(("post", "post-secret")),
            "grant_type=client_credentials",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_client");
        assert_eq!(response.status(), 401);
        // A confidential client cannot pass as public by omitting its secret.
        let response = post(&server, None, "grant_type=client_credentials&client_id=svc").await;
        assert_eq!(error_of(&response), "invalid_client");
        // A public client sending a secret is refused.
        let response = post(
            &server,
            None,
            "grant_type=refresh_token&client_id=spa&client_secret=x&refresh_token=y",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_client");
    }

    #[tokio::test]
    async fn two_methods_at_once_is_invalid_request() {
        let server = server();
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials&client_secret=svc-secret",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_request");
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials&client_id=web",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_request");
        // The same id in the body as in the header is fine.
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials&client_id=svc",
        )
        .await;
        ok_body(&response);
    }

    #[tokio::test]
    async fn no_credentials_at_all_is_invalid_client() {
        let server = server();
        let response = post(&server, None, "grant_type=client_credentials").await;
        assert_eq!(error_of(&response), "invalid_client");
    }

    #[tokio::test]
    async fn repeated_authorization_header_is_invalid_request() {
        let server = server();
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.append(
            AUTHORIZATION,
            HeaderValue::from_static("Basic c3ZjOnN2Yy1zZWNyZXQ="),
        );
        headers.append(
            AUTHORIZATION,
            HeaderValue::from_static("Basic c3ZjOnN2Yy1zZWNyZXQ="),
        );
        let response = server
            .token(&Request::new(&Method::POST, &headers).with_body(b"grant_type=client_credentials"))
            .await;
        assert_eq!(error_of(&response), "invalid_request");
    }

    #[tokio::test]
    async fn configure_changes_lifetimes_but_never_enables_grants() {
        let server = server_with(Policy::new([GrantType::ClientCredentials])).configure(|p| {
            Policy::new(GrantType::ALL)
                .with_access_token_ttl(std::time::Duration::from_secs(5))
                .with_issuer(p.issuer().unwrap_or("x"))
        });
        assert_eq!(server.policy().grants(), [GrantType::ClientCredentials]);
        let response = post(
            &server,
            Some(("svc", "svc-secret")),
            "grant_type=client_credentials",
        )
        .await;
        assert_eq!(ok_body(&response)["expires_in"], 5);
    }
}
