//! The OpenID Connect userinfo endpoint (Core §5.3): the standard claims of
//! the token's user that its scope releases (§5.4), and `sub`.

use http::StatusCode;
use serde_json::{Map, Value};

use crate::oidc::OPENID_SCOPE;
use crate::server::{Grants, Server};
use crate::storage::ClaimsStorage;
use crate::{BearerError, Request, Response, Scope};

impl<S: Grants + ClaimsStorage> Server<S> {
    /// Answers a `GET` or `POST` to the userinfo endpoint: `200` with the
    /// claims, or the RFC 6750 error of the bearer check.
    pub async fn userinfo(&self, request: &Request<'_>) -> Response {
        match self.userinfo_claims(request).await {
            Ok(claims) => {
                let mut response = Response::from_json(StatusCode::OK, &claims);
                response.insert_header(
                    http::header::CACHE_CONTROL,
                    http::HeaderValue::from_static("no-store"),
                );
                response
            }
            Err(error) => error.into_response(),
        }
    }

    /// The claims userinfo releases for the request's bearer token: `sub` and
    /// the standard claims of its granted scopes.
    ///
    /// # Errors
    ///
    /// [`BearerError::InsufficientScope`] without `openid`;
    /// [`BearerError::NoUser`] (`403 insufficient_scope`) for a valid token
    /// without a user (client credentials); [`BearerError::InvalidToken`]
    /// for a token whose user no longer exists; the other bearer errors.
    pub async fn userinfo_claims(&self, request: &Request<'_>) -> Result<Map<String, Value>, BearerError> {
        let openid = Scope::from_tokens([OPENID_SCOPE]);
        let bearer = self.authenticate_bearer(request, &openid).await?;
        let subject = bearer.subject.ok_or(BearerError::NoUser)?;
        let claims = self
            .storage()
            .user_claims(&subject)
            .await
            .map_err(|error| BearerError::storage(&error))?
            .ok_or(BearerError::InvalidToken)?;
        let mut released = Map::new();
        released.insert("sub".into(), Value::from(subject));
        released.extend(claims.released(&bearer.scope));
        Ok(released)
    }
}
