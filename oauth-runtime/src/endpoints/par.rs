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
