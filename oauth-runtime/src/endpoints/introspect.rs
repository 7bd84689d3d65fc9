//! Token introspection (RFC 7662).

use http::StatusCode;
use serde::Serialize;

use crate::client_auth::authenticate;
use crate::model::{ClientModel as _, ClientModelExt as _};
use crate::server::{Grants, Server, TokenKind, now};
use crate::{OAuthError, Request, Response, TokenHash};

/// An introspection answer: `{"active": false}` alone, or the token's
/// metadata (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Introspection {
    /// Whether the token is usable.
    pub active: bool,
    /// The granted scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` (or `DPoP` when bound to a key) for access tokens,
    /// `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// When the token expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// When the token was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The user's subject identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The key the token is bound to (RFC 9449 §6.2): `{"jkt": ...}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The confirmation of a DPoP-bound token (RFC 7800, RFC 9449 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint of the key.
    pub jkt: String,
}

impl Introspection {
    /// The answer for an unknown, expired or revoked token.
    pub const INACTIVE: Self = Self {
        active: false,
        scope: None,
        client_id: None,
        token_type: None,
        exp: None,
        iat: None,
        sub: None,
        iss: None,
        cnf: None,
    };
}

impl<S: Grants> Server<S> {
    /// Handles an introspection request and renders the JSON answer.
    pub async fn introspect(&self, request: &Request<'_>) -> Response {
        match self.introspect_token(request).await {
            Ok(answer) => Response::from_json(StatusCode::OK, &answer),
            Err(error) => error.into_response(),
        }
    }

    /// Introspects the token of a request from an authenticated client
    /// (a confidential client, typically a resource server). An access
    /// token is answered to any of them; a refresh token only to the client
    /// it was issued to, anyone else gets [`Introspection::INACTIVE`].
    ///
    /// # Errors
    ///
    /// `invalid_request` for a malformed request or a missing `token`;
    /// `invalid_client` when client authentication fails.
    pub async fn introspect_token(&self, request: &Request<'_>) -> Result<Introspection, OAuthError> {
        let params = request.form()?;
        let token = params.require("token")?;
        let caller = authenticate(self, request, &params).await?;
        if caller.client.is_public() {
            return Err(OAuthError::invalid_client(
                "introspection requires a confidential client",
            ));
        }
        let Some(found) = self.storage().find_token(&TokenHash::of(token)).await? else {
            return Ok(Introspection::INACTIVE);
        };
        if !found.is_active(now()) {
            return Ok(Introspection::INACTIVE);
        }
        // A refresh token is its client's own credential: only that client
        // learns that it is active (an access token is meant for resource
        // servers, any authenticated confidential client may ask about it).
        if found.kind == TokenKind::Refresh && found.record.client_id != caller.client.client_id() {
            return Ok(Introspection::INACTIVE);
        }
        let record = found.record;
        // A refresh token is bound only when issued to a public client
        // (RFC 9449 §5); its caller is its client, checked above.
        let bound = found.kind == TokenKind::Access || caller.client.is_public();
        let cnf = record
            .jkt
            .clone()
            .filter(|_| bound)
            .map(|jkt| Confirmation { jkt });
        let (token_type, exp, scope) = match found.kind {
            TokenKind::Access if record.jkt.is_some() => ("DPoP", Some(record.expires_at), &record.scope),
            TokenKind::Access => ("Bearer", Some(record.expires_at), &record.scope),
            TokenKind::Refresh => (
                "refresh_token",
                record.refresh_expires_at,
                record.refresh_token_scope(),
            ),
        };
        Ok(Introspection {
            active: true,
            scope: Some(scope.to_string()),
            client_id: Some(record.client_id),
            token_type: Some(token_type),
            exp,
            iat: Some(record.issued_at),
            sub: record.subject,
            iss: self.policy().issuer().map(str::to_owned),
            cnf,
        })
    }
}

#[cfg(test)]
mod tests {
    use http::header::CONTENT_TYPE;
    use http::{HeaderMap, HeaderValue, Method};

    use crate::grants::test_support::*;
    use crate::storage::Storage as _;
    use crate::{GrantType, MemoryStore, Policy, Request, Response, Server};

    async fn introspect(server: &Server<MemoryStore>, body: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let body = format!("{body}&client_id=post&client_secret=post-secret");
        server
            .introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
            .await
    }

    /// Introspects as `client`, authenticating with HTTP Basic.
    async fn introspect_as(
        server: &Server<MemoryStore>,
        (id, secret): (&str, &str),
        token: &str,
    ) -> Response {
        use base64::Engine as _;
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
        );
        let body = format!("token={token}");
        server
            .introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
            .await
    }

    /// A `client_credentials` token response for the `svc` client.
    async fn client_credentials(server: &Server<MemoryStore>) -> serde_json::Value {
        ok_body(
            &post(
                server,
                Some(("svc", "svc-secret")),
                "grant_type=client_credentials",
            )
            .await,
        )
    }

    fn issuer_server() -> Server<MemoryStore> {
        server_with(Policy::new(GrantType::ALL).with_issuer("https://as.example"))
    }

    #[tokio::test]
    async fn active_access_token_answers_its_metadata() {
        let server = issuer_server();
        let tokens = ok_body(
            &post(
                &server,
                Some(("web", "web-secret")),
                "grant_type=password&username=alice&password=wonderland&scope=read",
            )
            .await,
        );
        let answer = introspect(
            &server,
            &format!("token={}", tokens["access_token"].as_str().unwrap()),
        )
        .await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        let body = answer.json();
        assert_eq!(body["active"], true);
        assert_eq!(body["scope"], "read");
        assert_eq!(body["client_id"], "web");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["sub"], "user-1");
        assert_eq!(body["iss"], "https://as.example");
        assert_eq!(
            body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
            3600
        );
    }

    /// Tokens issued before tokens carried their issue time (43 characters,
    /// stored under their plain SHA-256) still resolve.
    #[tokio::test]
    async fn a_token_of_the_older_format_still_answers() {
        let server = issuer_server();
        let tokens = client_credentials(&server).await;
        let issued = tokens["access_token"].as_str().unwrap();
        assert_eq!(issued.len(), 51);
        let mut record = server
            .storage()
            .access_token(&crate::TokenHash::of(issued))
            .await
            .unwrap()
            .unwrap();
        let older = "q".repeat(43);
        record.access_token = crate::TokenHash::digest(&older);
        server.storage().save_token(record).await.unwrap();
        let body = introspect(&server, &format!("token={older}")).await.json();
        assert_eq!(body["active"], true);
        assert_eq!(body["client_id"], "svc");
    }

    #[tokio::test]
    async fn refresh_tokens_introspect_until_rotated() {
        let server = issuer_server();
        let tokens = ok_body(
            &post(
                &server,
                Some(("web", "web-secret")),
                "grant_type=password&username=alice&password=wonderland",
            )
            .await,
        );
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let web = ("web", "web-secret");
        let body = introspect_as(&server, web, refresh).await.json();
        assert_eq!(body["active"], true);
        assert_eq!(body["token_type"], "refresh_token");
        ok_body(
            &post(
                &server,
                Some(("web", "web-secret")),
                &format!("grant_type=refresh_token&refresh_token={refresh}"),
            )
            .await,
        );
        assert_eq!(
            introspect_as(&server, web, refresh).await.json(),
            serde_json::json!({"active": false})
        );
    }

    #[tokio::test]
    async fn a_refresh_token_is_answered_to_its_own_client_only() {
        let server = issuer_server();
        let tokens = ok_body(
            &post(
                &server,
                Some(("web", "web-secret")),
                "grant_type=password&username=alice&password=wonderland",
            )
            .await,
        );
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let access = tokens["access_token"].as_str().unwrap();
        // `post` and `svc` are authenticated confidential clients, not the owner.
        let stranger = introspect(&server, &format!("token={refresh}")).await;
        assert_eq!(stranger.status(), 200);
        assert_eq!(stranger.json(), serde_json::json!({"active": false}));
        let resource_server = introspect_as(&server, ("svc", "svc-secret"), refresh).await;
        assert_eq!(resource_server.json(), serde_json::json!({"active": false}));
        let hinted = introspect(&server, &format!("token={refresh}&token_type_hint=refresh_token")).await;
        assert_eq!(hinted.json(), serde_json::json!({"active": false}));
        // The owner is answered; access tokens are answered to any of them.
        assert_eq!(
            introspect_as(&server, ("web", "web-secret"), refresh)
                .await
                .json()["active"],
            true
        );
        assert_eq!(
            introspect_as(&server, ("svc", "svc-secret"), access).await.json()["active"],
            true
        );
        assert_eq!(
            introspect(&server, &format!("token={access}")).await.json()["active"],
            true
        );
    }

    #[tokio::test]
    async fn a_narrowed_refresh_answers_each_token_with_its_own_scope() {
        let server = issuer_server();
        let web = ("web", "web-secret");
        let first = ok_body(
            &post(
                &server,
                Some(web),
                "grant_type=password&username=alice&password=wonderland&scope=read+write",
            )
            .await,
        );
        let narrowed = ok_body(
            &post(
                &server,
                Some(web),
                &format!(
                    "grant_type=refresh_token&refresh_token={}&scope=read",
                    first["refresh_token"].as_str().unwrap()
                ),
            )
            .await,
        );
        let access = introspect_as(&server, web, narrowed["access_token"].as_str().unwrap())
            .await
            .json();
        assert_eq!(access["scope"], "read");
        let refresh = introspect_as(&server, web, narrowed["refresh_token"].as_str().unwrap())
            .await
            .json();
        assert_eq!(refresh["active"], true);
        assert_eq!(refresh["token_type"], "refresh_token");
        assert_eq!(refresh["scope"], "read write");
    }

    #[tokio::test]
    async fn client_credentials_tokens_have_no_sub() {
        let server = issuer_server();
        let tokens = client_credentials(&server).await;
        let body = introspect(
            &server,
            &format!("token={}", tokens["access_token"].as_str().unwrap()),
        )
        .await
        .json();
        assert_eq!(body["active"], true);
        assert!(body.get("sub").is_none());
    }

    #[tokio::test]
    async fn unknown_revoked_and_expired_tokens_are_exactly_inactive() {
        let server =
            server_with(Policy::new(GrantType::ALL).with_access_token_ttl(std::time::Duration::from_secs(1)));
        let inactive = serde_json::json!({"active": false});
        assert_eq!(introspect(&server, "token=nope").await.json(), inactive);

        let tokens = client_credentials(&server).await;
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(
            introspect(&server, &format!("token={access}")).await.json(),
            inactive
        );

        let server = issuer_server();
        let tokens = client_credentials(&server).await;
        let access = tokens["access_token"].as_str().unwrap();
        let family = server
            .storage()
            .access_token(&crate::TokenHash::of(access))
            .await
            .unwrap()
            .unwrap()
            .family;
        server.storage().revoke_token_family(&family).await.unwrap();
        assert_eq!(
            introspect(&server, &format!("token={access}")).await.json(),
            inactive
        );
    }

    #[tokio::test]
    async fn requires_a_confidential_authenticated_client() {
        let server = issuer_server();
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        for body in [
            "token=x",
            "token=x&client_id=spa",
            "token=x&client_id=post&client_secret=bad",
        ] {
            let response = server
                .introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
                .await;
            assert_eq!(error_of(&response), "invalid_client", "{body}");
        }
        let response = introspect(&server, "token_type_hint=access_token").await;
        assert_eq!(error_of(&response), "invalid_request");
    }
}
