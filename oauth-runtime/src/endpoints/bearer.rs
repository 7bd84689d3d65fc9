//! Bearer token validation for resource servers (RFC 6750).

use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

use crate::server::{Grants, Server, now};
use crate::{ErrorCode, OAuthError, Request, Response, Scope, TokenHash};

/// The owner and rights of a valid bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BearerToken {
    /// The user's subject identifier; `None` for client credentials tokens.
    pub subject: Option<String>,
    /// The client the token was issued to.
    pub client_id: String,
    /// The granted scope.
    pub scope: Scope,
    /// When the token expires.
    pub expires_at: i64,
}

/// Why a bearer check failed, rendered per RFC 6750 §3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    /// No credentials at all: `401` with a bare `Bearer` challenge and an
    /// empty body: RFC 6750 §3.1 says a request without credentials gets no
    /// error code.
    #[error("no bearer token")]
    Missing,
    /// A malformed `Authorization` header: `400 invalid_request`.
    #[error("malformed Authorization header")]
    InvalidRequest,
    /// Unknown, expired or revoked: `401 invalid_token`.
    #[error("the access token is invalid, expired or revoked")]
    InvalidToken,
    /// Valid but lacking a needed scope: `403 insufficient_scope`.
    #[error("the access token lacks scope `{0}`")]
    InsufficientScope(String),
    /// Valid, but issued to a client for itself (client credentials): there
    /// is no user, so nothing that needs one (userinfo's claims) can be
    /// answered. `403 insufficient_scope`.
    #[error("the access token was issued to a client, not for a user: it has no user claims")]
    NoUser,
    /// The DPoP proof sent with a DPoP-bound token is missing or invalid:
    /// `401 invalid_dpop_proof` with a `DPoP` challenge (RFC 9449 §7.1).
    #[error("{0}")]
    InvalidDpopProof(String),
    /// The token is bound to a DPoP key and was sent as a bearer token, or
    /// with a proof of another key, or a bearer token was sent as a DPoP
    /// one: `401 invalid_token` with a `DPoP` challenge (RFC 9449 §7.2).
    #[error("the access token must be sent as `Authorization: DPoP` with a proof of the key it is bound to")]
    DpopBound,
    /// Storage failed: `500 server_error`.
    #[error("the token could not be checked")]
    Storage,
    /// Storage is unavailable for now (it timed out or cannot be reached,
    /// see [`OAuthError::storage`]): `503 temporarily_unavailable` with
    /// `Retry-After`.
    #[error("the token cannot be checked right now; retry later")]
    Unavailable,
}

impl BearerError {
    /// The bearer error for a storage failure: [`BearerError::Unavailable`]
    /// when `error` says the storage is unavailable (as
    /// [`OAuthError::storage`] decides, which also logs it),
    /// [`BearerError::Storage`] otherwise.
    pub fn storage(error: &(dyn std::error::Error + 'static)) -> Self {
        Self::from_oauth(&OAuthError::storage(error))
    }

    /// The bearer error for an endpoint error met while checking the token.
    fn from_oauth(error: &OAuthError) -> Self {
        if error.code() == ErrorCode::TemporarilyUnavailable {
            Self::Unavailable
        } else {
            Self::Storage
        }
    }

    /// The HTTP response: status, `WWW-Authenticate` challenge and a JSON
    /// body (none for [`BearerError::Missing`]).
    pub fn into_response(self) -> Response {
        let (status, challenge) = match &self {
            Self::Missing => (StatusCode::UNAUTHORIZED, "Bearer realm=\"granted\"".to_owned()),
            Self::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "Bearer realm=\"granted\", error=\"invalid_request\"".to_owned(),
            ),
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"granted\", error=\"invalid_token\", error_description=\"the access token is invalid, expired or revoked\"".to_owned(),
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!(
                    "Bearer realm=\"granted\", error=\"insufficient_scope\", scope=\"{}\"",
                    OAuthError::new(ErrorCode::InsufficientScope, scope.clone()).description()
                ),
            ),
            Self::NoUser => (
                StatusCode::FORBIDDEN,
                format!(
                    "Bearer realm=\"granted\", error=\"insufficient_scope\", error_description=\"{self}\""
                ),
            ),
            Self::InvalidDpopProof(_) | Self::DpopBound => {
                let code = if matches!(self, Self::DpopBound) {
                    ErrorCode::InvalidToken
                } else {
                    ErrorCode::InvalidDpopProof
                };
                (
                    StatusCode::UNAUTHORIZED,
                    format!(
                        "DPoP algs=\"{}\", error=\"{code}\", error_description=\"{}\"",
                        crate::dpop::ALGORITHMS.join(" "),
                        OAuthError::new(code, self.to_string()).description()
                    ),
                )
            }
            Self::Storage => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, String::new()),
        };
        // The body goes through `OAuthError`, like every error description:
        // only RFC 6749 characters, whatever a variant holds.
        let code = match &self {
            // RFC 6750 §3.1: no credentials sent, no error code: the bare
            // challenge alone says what to send.
            Self::Missing => None,
            Self::InvalidRequest => Some(ErrorCode::InvalidRequest),
            Self::InvalidToken | Self::DpopBound => Some(ErrorCode::InvalidToken),
            Self::InvalidDpopProof(_) => Some(ErrorCode::InvalidDpopProof),
            Self::InsufficientScope(_) | Self::NoUser => Some(ErrorCode::InsufficientScope),
            Self::Storage => Some(ErrorCode::ServerError),
            Self::Unavailable => Some(ErrorCode::TemporarilyUnavailable),
        };
        let body = code.map(|code| OAuthError::new(code, self.to_string()).to_json());
        let mut response = match body {
            Some(body) => Response::from_json(status, &body),
            None => Response::empty(status),
        };
        if let Ok(value) = HeaderValue::from_str(&challenge)
            && !challenge.is_empty()
        {
            response.insert_header(WWW_AUTHENTICATE, value);
        }
        if matches!(self, Self::Unavailable) {
            response.insert_header(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Extracts the token of an `Authorization: Bearer` header (RFC 6750 §2.1).
///
/// # Errors
///
/// [`BearerError::Missing`] without the header or with another scheme,
/// [`BearerError::InvalidRequest`] when it is repeated or malformed.
pub fn bearer_token<'a>(request: &Request<'a>) -> Result<&'a str, BearerError> {
    match presented_token(request, false)? {
        (Scheme::Bearer, token) => Ok(token),
        (Scheme::Dpop, _) => Err(BearerError::Missing),
    }
}

/// How an access token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `Authorization: Bearer` (RFC 6750).
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// The token of the `Authorization` header and its scheme; `DPoP` only
/// when `dpop` (the server enables it), any other scheme is no token.
fn presented_token<'a>(request: &Request<'a>, dpop: bool) -> Result<(Scheme, &'a str), BearerError> {
    let header = request.authorization().map_err(|_| BearerError::InvalidRequest)?;
    let Some(header) = header else {
        return Err(BearerError::Missing);
    };
    let Some((scheme, token)) = header.split_once(' ') else {
        return Err(BearerError::Missing);
    };
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Err(BearerError::Missing);
    };
    let token = token.trim();
    let b64token = |c: u8| c.is_ascii_alphanumeric() || b"-._~+/=".contains(&c);
    if token.is_empty() || !token.bytes().all(b64token) {
        return Err(BearerError::InvalidRequest);
    }
    Ok((scheme, token))
}

impl<S: Grants> Server<S> {
    /// Validates the bearer token of a request to a protected resource, and
    /// that it holds every token of `required` scope.
    ///
    /// With DPoP enabled, a token bound to a key must come as
    /// `Authorization: DPoP <token>` with a `DPoP` proof of that key for
    /// this request (method, URL from the issuer's origin and
    /// [`Request::with_path`], `ath`); as `Bearer` it is refused. Plain
    /// bearer tokens work as before.
    ///
    /// # Errors
    ///
    /// A [`BearerError`] that renders the right RFC 6750 response.
    pub async fn authenticate_bearer(
        &self,
        request: &Request<'_>,
        required: &Scope,
    ) -> Result<BearerToken, BearerError> {
        let (scheme, token) = presented_token(request, self.policy().dpop().is_enabled())?;
        let proof = match scheme {
            Scheme::Bearer => None,
            Scheme::Dpop => Some(
                self.dpop_proof(request, Some(token), false)
                    .await
                    .map_err(|error| match error.code() {
                        ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce => {
                            BearerError::InvalidDpopProof(error.description().to_owned())
                        }
                        _ => BearerError::from_oauth(&error),
                    })?
                    .ok_or_else(|| {
                        BearerError::InvalidDpopProof("a DPoP token needs a DPoP proof".to_owned())
                    })?,
            ),
        };
        let record = crate::lookup::access_token(self.storage(), &TokenHash::of(token))
            .await
            .map_err(|error| BearerError::from_oauth(&error))?
            .map(|found| found.record)
            .filter(|record| record.expires_at > now())
            .ok_or(BearerError::InvalidToken)?;
        // RFC 9449 §7: a bound token only with a proof of its key, and a
        // proof only with a token bound to it.
        if record.jkt.as_deref() != proof.as_ref().map(|p| p.jkt.as_str()) {
            return Err(BearerError::DpopBound);
        }
        if let Some(missing) = required.first_outside(&record.scope) {
            return Err(BearerError::InsufficientScope(missing.to_owned()));
        }
        Ok(BearerToken {
            subject: record.subject,
            client_id: record.client_id,
            scope: record.scope,
            expires_at: record.expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use http::header::AUTHORIZATION;
    use http::{HeaderMap, HeaderValue, Method};

    use super::*;
    use crate::MemoryStore;
    use crate::grants::test_support::*;
    use crate::storage::Storage as _;

    async fn check(
        server: &Server<MemoryStore>,
        header: Option<&str>,
        required: &str,
    ) -> Result<BearerToken, BearerError> {
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert(AUTHORIZATION, HeaderValue::from_str(h).unwrap());
        }
        let request = Request::new(&Method::GET, &headers);
        server
            .authenticate_bearer(&request, &Scope::parse(required).unwrap())
            .await
    }

    async fn user_token(server: &Server<MemoryStore>) -> String {
        let tokens = ok_body(
            &post(
                server,
                Some(("web", "web-secret")),
                "grant_type=password&username=alice&password=wonderland&scope=read",
            )
            .await,
        );
        tokens["access_token"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn valid_token_yields_owner_scope_and_client() {
        let server = server();
        let token = user_token(&server).await;
        let bearer = check(&server, Some(&format!("Bearer {token}")), "read")
            .await
            .unwrap();
        assert_eq!(bearer.subject.as_deref(), Some("user-1"));
        assert_eq!(bearer.client_id, "web");
        assert_eq!(bearer.scope.to_string(), "read");
    }

    #[tokio::test]
    async fn missing_invalid_and_insufficient_render_per_rfc_6750() {
        let server = server();
        let token = user_token(&server).await;

        let missing = check(&server, None, "").await.unwrap_err().into_response();
        assert_eq!(missing.status(), 401);
        assert_eq!(
            missing.header("www-authenticate"),
            Some("Bearer realm=\"granted\"")
        );
        // RFC 6750 §3.1: no credentials sent, so no error code at all.
        assert!(missing.body().is_empty(), "{:?}", missing.json());
        assert_eq!(missing.header("cache-control"), Some("no-store"));

        let invalid = check(&server, Some("Bearer nope"), "")
            .await
            .unwrap_err()
            .into_response();
        assert_eq!(invalid.status(), 401);
        assert!(
            invalid
                .header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_token\"")
        );

        let insufficient = check(&server, Some(&format!("Bearer {token}")), "write")
            .await
            .unwrap_err()
            .into_response();
        assert_eq!(insufficient.status(), 403);
        assert!(
            insufficient
                .header("www-authenticate")
                .unwrap()
                .contains("error=\"insufficient_scope\"")
        );

        let malformed = check(&server, Some("Bearer a b"), "").await.unwrap_err();
        assert_eq!(malformed, BearerError::InvalidRequest);
        assert_eq!(
            check(&server, Some("Basic abc"), "").await.unwrap_err(),
            BearerError::Missing
        );
    }

    #[test]
    fn whatever_a_variant_holds_its_answer_holds_only_rfc_6749_characters() {
        let response = BearerError::InsufficientScope("a\"b\r\nc\\é".into()).into_response();
        assert_eq!(response.status(), 403);
        let description = response.json()["error_description"].as_str().unwrap().to_owned();
        assert!(
            description.chars().all(crate::is_description_char),
            "{description:?}"
        );
        let challenge = response.header("www-authenticate").unwrap();
        assert!(challenge.ends_with("scope=\"a?b??c??\""), "{challenge}");
    }

    #[test]
    fn an_unavailable_storage_is_503_with_retry_after_and_a_failing_one_500() {
        let unavailable = BearerError::storage(&std::io::Error::other(crate::StorageUnavailable));
        assert_eq!(unavailable, BearerError::Unavailable);
        let response = unavailable.into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(response.json()["error"], "temporarily_unavailable");
        let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        assert_eq!(BearerError::storage(&timed_out), BearerError::Unavailable);

        let failed = BearerError::storage(&std::io::Error::other("disk on fire"));
        assert_eq!(failed, BearerError::Storage);
        let response = failed.into_response();
        assert_eq!(response.status(), 500);
        assert_eq!(response.json()["error"], "server_error");
        assert!(response.header("retry-after").is_none());
    }

    #[tokio::test]
    async fn revoked_token_fails() {
        let server = server();
        let token = user_token(&server).await;
        let family = server
            .storage()
            .access_token(&TokenHash::of(&token))
            .await
            .unwrap()
            .unwrap()
            .family;
        server.storage().revoke_token_family(&family).await.unwrap();
        assert_eq!(
            check(&server, Some(&format!("Bearer {token}")), "")
                .await
                .unwrap_err(),
            BearerError::InvalidToken
        );
    }
}
