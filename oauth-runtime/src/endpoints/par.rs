//! The pushed authorization request endpoint (RFC 9126 §2): an
//! authenticated client pushes the parameters of an authorization request,
//! validated exactly as at the authorization endpoint, and gets back a
//! `request_uri` to send the user agent with instead.

use http::StatusCode;
use serde::Serialize;

use crate::client_auth::authenticate;
use crate::endpoints::authorize::Origin;
use crate::model::ClientModel as _;
use crate::par::{PUSHED_REQUEST_LIFETIME_SECS, PushedRequest, REQUEST_URI_PREFIX, not_enabled};
use crate::server::{Grants, Server, now};
use crate::{NewToken, OAuthError, Params, Request, Response, TokenHash};

/// The parameters of client authentication: never part of the stored request.
const CLIENT_AUTH_PARAMS: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

/// The answer of the endpoint (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PushedAuthorization {
    /// `urn:ietf:params:oauth:request_uri:<random>`, usable once.
    pub request_uri: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

impl<S: Grants> Server<S> {
    /// Handles a pushed authorization request and renders the response:
    /// `201` with `request_uri` and `expires_in`, or the RFC 6749 error JSON.
    pub async fn pushed_authorization(&self, request: &Request<'_>) -> Response {
        match self.push_authorization_request(request).await {
            Ok(pushed) => Response::from_json(StatusCode::CREATED, &pushed),
            Err(error) => {
                tracing::debug!(error = %error, "pushed authorization request refused");
                error.into_response()
            }
        }
    }

    /// Authenticates the client as at the token endpoint, validates the
    /// authorization request it pushes as the authorization endpoint does,
    /// and stores it for [`PUSHED_REQUEST_LIFETIME_SECS`].
    ///
    /// # Errors
    ///
    /// `invalid_request` when the policy serves no pushed requests, the
    /// request carries `request_uri` (RFC 9126 §2.1) or names another
    /// client; `invalid_client` when client authentication fails; any error
    /// of the authorization endpoint's validation.
    pub async fn push_authorization_request(
        &self,
        request: &Request<'_>,
    ) -> Result<PushedAuthorization, OAuthError> {
        if self.policy().par().is_none() {
            return Err(not_enabled());
        }
        let params = request.form()?;
        let client = authenticate(self, request, &params).await?.client;
        if params.contains("request_uri") {
            return Err(OAuthError::invalid_request(
                "a pushed authorization request cannot carry request_uri (RFC 9126 §2.1)",
            ));
        }
        let client_id = client.client_id();
        if params.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            ));
        }
        let stored = stored_params(&params, client_id);
        let stored_view = Params::parse(stored.as_bytes())?;
        self.check_authorization(&stored_view, Origin::Pushed)
            .await
            .map_err(crate::endpoints::authorize::Refused::into_error)?;

        let token = NewToken::generate()?;
        let request_uri = format!("{REQUEST_URI_PREFIX}{}", token.value());
        let lifetime = i64::try_from(PUSHED_REQUEST_LIFETIME_SECS).unwrap_or(i64::MAX);
        self.storage()
            .save_pushed_request(PushedRequest {
                request_uri: TokenHash::of(&request_uri),
                client_id: client_id.to_owned(),
                params: stored,
                expires_at: now().saturating_add(lifetime),
            })
            .await?;
        Ok(PushedAuthorization {
            request_uri,
            expires_in: PUSHED_REQUEST_LIFETIME_SECS,
        })
    }
}

/// The request's parameters as stored: without client authentication, and
/// with the authenticated `client_id` (Basic leaves it out of the body).
fn stored_params(params: &Params<'_>, client_id: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    if !params.contains("client_id") {
        out.append_pair("client_id", client_id);
    }
    for (name, value) in params.iter() {
        if !CLIENT_AUTH_PARAMS.contains(&name) {
            out.append_pair(name, value);
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use http::header::CONTENT_TYPE;
    use http::{HeaderMap, HeaderValue, Method};
    use serde_json::json;

    use crate::endpoints::authorize::AuthorizeError;
    use crate::grants::test_support::*;
    use crate::{
        AuthMethod, ClientRecord, GrantType, MemoryStore, ParPolicy, Params, Policy,
        PushedRequestStorage as _, Request, Server, SigningAlg, SigningKey, TokenHash, now, pkce,
    };

    const ISSUER: &str = "https://as.example";

    fn server(par: ParPolicy) -> Server<MemoryStore> {
        server_with(
            Policy::new(GrantType::ALL)
                .with_issuer(ISSUER)
                .with_par(par)
                .with_private_key_jwt(),
        )
    }

    fn authorization(extra: &str) -> String {
        format!(
            "response_type=code&redirect_uri=https%3A%2F%2Fa.example%2Fcb&state=xyz&code_challenge={}&code_challenge_method=S256{extra}",
            pkce::s256_challenge(VERIFIER)
        )
    }

    async fn push(server: &Server<MemoryStore>, basic: Option<(&str, &str)>, body: &str) -> crate::Response {
        let headers = basic_headers(basic);
        server
            .pushed_authorization(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
            .await
    }

    fn basic_headers(basic: Option<(&str, &str)>) -> HeaderMap {
        use base64::Engine as _;
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let Some((id, secret)) = basic {
            let value = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Basic {value}")).unwrap(),
            );
        }
        headers
    }

    async fn authorize(
        server: &Server<MemoryStore>,
        query: &str,
    ) -> Result<crate::PendingAuthorization<ClientRecord>, AuthorizeError> {
        server
            .validate_authorization(&Params::parse(query.as_bytes()).unwrap())
            .await
    }

    fn request_uri_of(response: &crate::Response) -> String {
        assert_eq!(response.status(), 201, "{:?}", response.json());
        let body = response.json();
        assert_eq!(body["expires_in"], 60);
        body["request_uri"].as_str().unwrap().to_owned()
    }

    fn encoded(value: &str) -> String {
        form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }

    #[tokio::test]
    async fn a_pushed_request_is_used_once_by_its_client() {
        let server = server(ParPolicy::Optional);
        let response = push(
            &server,
            Some(("web", "web-secret")),
            &authorization("&scope=read"),
        )
        .await;
        assert_eq!(response.header("cache-control"), Some("no-store"));
        let uri = request_uri_of(&response);
        assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{uri}");
        let uri = encoded(&uri);

        // Another client cannot use it, and does not use it up.
        let stolen = authorize(&server, &format!("client_id=post&request_uri={uri}")).await;
        assert!(matches!(stolen, Err(AuthorizeError::Display(_))), "{stolen:?}");

        let pending = authorize(&server, &format!("client_id=web&request_uri={uri}"))
            .await
            .unwrap();
        assert_eq!(pending.scope().to_string(), "read");
        assert_eq!(pending.state(), Some("xyz"));
        let pushed = pending.pushed_request().unwrap();
        assert!(
            pushed.contains("client_id=web") && !pushed.contains("secret"),
            "{pushed}"
        );
        // The page's form carries the pushed parameters on.
        let resumed = server
            .validate_resumed_authorization(&Params::parse(pushed.as_bytes()).unwrap())
            .await
            .unwrap();
        let code = server.approve(&resumed, "user-1", None).await.unwrap();
        assert!(code.param("code").is_some());

        let replay = authorize(&server, &format!("client_id=web&request_uri={uri}")).await;
        assert!(matches!(replay, Err(AuthorizeError::Display(_))), "{replay:?}");
    }

    #[tokio::test]
    async fn pushed_requests_are_validated_like_authorization_requests() {
        let server = server(ParPolicy::Optional);
        for (basic, body, error) in [
            (
                Some(("web", "web-secret")),
                authorization("&scope=admin"),
                "invalid_scope",
            ),
            (
                Some(("web", "web-secret")),
                authorization("&request_uri=urn%3Ax"),
                "invalid_request",
            ),
            (
                Some(("web", "web-secret")),
                authorization("&client_id=post"),
                "invalid_request",
            ),
            (Some(("web", "wrong")), authorization(""), "invalid_client"),
            (
                Some(("web", "web-secret")),
                authorization("").replace("response_type=code", "response_type=token"),
                "unsupported_response_type",
            ),
        ] {
            let response = push(&server, basic, &body).await;
            assert_eq!(error_of(&response), error, "{body}");
        }
        // A public client pushes too: it authenticates with `none`.
        let response = push(
            &server,
            None,
            &authorization("&client_id=spa").replace("redirect_uri=https%3A%2F%2Fa.example%2Fcb&", ""),
        )
        .await;
        request_uri_of(&response);
    }

    #[tokio::test]
    async fn expired_or_unknown_request_uris_are_refused() {
        let server = server(ParPolicy::Optional);
        let uri = format!("{}expired", crate::par::REQUEST_URI_PREFIX);
        server
            .storage()
            .save_pushed_request(crate::PushedRequest {
                request_uri: TokenHash::of(&uri),
                client_id: "web".into(),
                params: format!("client_id=web&{}", authorization("")),
                expires_at: now() - 1,
            })
            .await
            .unwrap();
        for uri in [uri.as_str(), "urn:ietf:params:oauth:request_uri:nope"] {
            let result = authorize(&server, &format!("client_id=web&request_uri={}", encoded(uri))).await;
            assert!(
                matches!(result, Err(AuthorizeError::Display(_))),
                "{uri}: {result:?}"
            );
        }
        // Another server's request_uri is a request object by reference.
        let query = format!(
            "client_id=web&{}&request_uri=https%3A%2F%2Fevil.example%2Fr",
            authorization("")
        );
        let Err(AuthorizeError::Redirect(response)) = authorize(&server, &query).await else {
            panic!("a request object by reference is redirected")
        };
        assert_eq!(response.param("error"), Some("request_uri_not_supported"));
    }

    #[tokio::test]
    async fn required_par_refuses_plain_requests() {
        let strict_server = server(ParPolicy::Required);
        let server = strict_server;
        let plain = authorize(&server, &format!("client_id=web&{}", authorization(""))).await;
        let Err(AuthorizeError::Redirect(response)) = plain else {
            panic!("{plain:?}")
        };
        assert_eq!(response.param("error"), Some("invalid_request"));
        let uri = request_uri_of(&push(&server, Some(("web", "web-secret")), &authorization("")).await);
        authorize(&server, &format!("client_id=web&request_uri={}", encoded(&uri)))
            .await
            .unwrap();

        // Optional PAR: only the clients that registered the requirement.
        let server = self::server(ParPolicy::Optional);
        server.storage().add_client(
            ClientRecord::confidential("strict", "s")
                .redirect_uris([REDIRECT])
                .grant_types(["authorization_code"])
                .require_pushed_authorization_requests(true),
        );
        authorize(&server, &format!("client_id=web&{}", authorization("")))
            .await
            .unwrap();
        let strict = authorize(&server, &format!("client_id=strict&{}", authorization(""))).await;
        assert!(matches!(strict, Err(AuthorizeError::Redirect(_))), "{strict:?}");
    }

    #[tokio::test]
    async fn without_par_the_endpoint_and_request_uri_are_refused() {
        let server = server_with(Policy::new(GrantType::ALL).with_issuer(ISSUER));
        let response = push(&server, Some(("web", "web-secret")), &authorization("")).await;
        assert_eq!(error_of(&response), "invalid_request");
        let query = format!("client_id=web&{}&request_uri=urn%3Ax", authorization(""));
        let result = authorize(&server, &query).await;
        let Err(AuthorizeError::Redirect(response)) = result else {
            panic!("{result:?}")
        };
        assert_eq!(response.param("error"), Some("request_uri_not_supported"));
    }

    /// `private_key_jwt` at the token endpoint and at this one: the shared
    /// client authentication.
    #[tokio::test]
    async fn private_key_jwt_authenticates_once_per_assertion() {
        let server = server(ParPolicy::Optional);
        let key = SigningKey::generate(SigningAlg::Es256).unwrap();
        let jwks = json!({"keys": [key.public_jwk()]}).to_string();
        server.storage().add_client(
            ClientRecord::private_key_jwt("jwt", jwks)
                .redirect_uris([REDIRECT])
                .grant_types(["client_credentials", "authorization_code"])
                .scope("read"),
        );
        let assertion = |jti: &str, aud: &str| {
            key.sign(&json!({"iss": "jwt", "sub": "jwt", "aud": aud, "exp": now() + 60, "jti": jti}))
                .unwrap()
        };
        let form = |assertion: &str| {
            format!(
                "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
                encoded(crate::assertion::JWT_BEARER)
            )
        };
        let first = assertion("a-1", ISSUER);
        ok_body(&post(&server, None, &form(&first)).await);
        assert_eq!(
            error_of(&post(&server, None, &form(&first)).await),
            "invalid_client"
        );
        let token_url = assertion("a-2", &format!("{ISSUER}/oauth/token"));
        ok_body(&post(&server, None, &form(&token_url)).await);
        let elsewhere = assertion("a-3", "https://other.example");
        assert_eq!(
            error_of(&post(&server, None, &form(&elsewhere)).await),
            "invalid_client"
        );

        // At the PAR endpoint, with the endpoint's URL as audience.
        let par = assertion("a-4", &format!("{ISSUER}/oauth/par"));
        let body = format!(
            "{}&client_id=jwt&client_assertion_type={}&client_assertion={par}",
            authorization(""),
            encoded(crate::assertion::JWT_BEARER)
        );
        request_uri_of(&push(&server, None, &body).await);

        // The registered method is enforced both ways.
        let secret_client = format!("{}&client_id=web", form(&assertion("a-5", ISSUER)));
        assert_eq!(
            error_of(&post(&server, None, &secret_client).await),
            "invalid_client"
        );
        assert_eq!(
            error_of(
                &post(
                    &server,
                    None,
                    "grant_type=client_credentials&client_id=jwt&client_secret=x"
                )
                .await
            ),
            "invalid_client"
        );
        let mut web_assertion =
            json!({"iss": "web", "sub": "web", "aud": ISSUER, "exp": now() + 60, "jti": "w"});
        let web = key.sign(&web_assertion).unwrap();
        assert_eq!(
            error_of(&post(&server, None, &form(&web)).await),
            "invalid_client"
        );
        web_assertion["jti"] = "w2".into();
        // Two methods at once.
        let both = post(
            &server,
            Some(("web", "web-secret")),
            &form(&key.sign(&web_assertion).unwrap()),
        )
        .await;
        assert_eq!(error_of(&both), "invalid_request");
        assert_eq!(
            AuthMethod::from_name("private_key_jwt"),
            Some(AuthMethod::PrivateKeyJwt)
        );
    }

    #[tokio::test]
    async fn private_key_jwt_is_refused_unless_declared() {
        let server = server_with(Policy::new(GrantType::ALL).with_issuer(ISSUER));
        let key = SigningKey::generate(SigningAlg::Es256).unwrap();
        server.storage().add_client(
            ClientRecord::private_key_jwt("jwt", json!({"keys": [key.public_jwk()]}).to_string())
                .grant_types(["client_credentials"]),
        );
        let assertion = key
            .sign(&json!({"iss": "jwt", "sub": "jwt", "aud": ISSUER, "exp": now() + 60, "jti": "x"}))
            .unwrap();
        let body = format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
            encoded(crate::assertion::JWT_BEARER)
        );
        assert_eq!(error_of(&post(&server, None, &body).await), "invalid_client");
    }
}
