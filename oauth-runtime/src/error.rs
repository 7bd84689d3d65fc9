//! The RFC 6749 error model: error codes as data, one error type that renders
//! itself as the JSON body and status the RFC prescribes.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use http::StatusCode;

/// An OAuth 2.0 error code (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1).
///
/// The code decides the HTTP status of the error response; see
/// [`ErrorCode::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid, expired, revoked or
    /// was issued to another client.
    InvalidGrant,
    /// The client is not allowed to use this grant or response type.
    UnauthorizedClient,
    /// The grant type is unknown or not enabled on this server.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, or wider than allowed.
    InvalidScope,
    /// The resource owner or the server denied the request.
    AccessDenied,
    /// The response type is not supported by this server.
    UnsupportedResponseType,
    /// An unexpected condition (for example a storage failure) stopped the request.
    ServerError,
    /// The server cannot handle the request right now (overload, maintenance).
    TemporarilyUnavailable,
    /// A bearer token is missing, expired, revoked or malformed (RFC 6750).
    InvalidToken,
    /// A bearer token lacks the scope a resource needs (RFC 6750).
    InsufficientScope,
    /// `prompt=none`, but the user must log in (OpenID Connect Core §3.1.2.6).
    LoginRequired,
    /// `prompt=none`, but the user must consent (OpenID Connect Core §3.1.2.6).
    ConsentRequired,
    /// `prompt=none`, but the user must interact otherwise (OpenID Connect Core §3.1.2.6).
    InteractionRequired,
    /// The authorization request carried a `request` object, which this
    /// server does not support (OpenID Connect Core §6, RFC 9101).
    RequestNotSupported,
    /// The authorization request carried a `request_uri`, which this server
    /// does not support (OpenID Connect Core §6, RFC 9101).
    RequestUriNotSupported,
    /// A DPoP proof is missing where required, malformed, or does not match
    /// the request (RFC 9449 §5, §7.1).
    InvalidDpopProof,
    /// The DPoP proof must carry the server's nonce, sent in the `DPoP-Nonce`
    /// header of this answer (RFC 9449 §8).
    UseDpopNonce,
    /// The user has not yet decided on the device authorization: poll
    /// again after the interval (RFC 8628 §3.5).
    AuthorizationPending,
    /// The device polls too fast: the interval is raised by 5 seconds
    /// (RFC 8628 §3.5).
    SlowDown,
    /// The device code has expired (RFC 8628 §3.5).
    ExpiredToken,
}

impl ErrorCode {
    /// The code as it appears on the wire, e.g. `"invalid_grant"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }

    /// The HTTP status an endpoint answers with for this code.
    ///
    /// `invalid_client` is `400` here; it becomes `401` with a
    /// `WWW-Authenticate` challenge when the client authenticated with HTTP
    /// Basic (see [`OAuthError::with_basic_challenge`]).
    pub const fn status(self) -> StatusCode {
        match self {
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth 2.0 error response: a code, a human-readable description, and
/// how to render it.
///
/// The description and the `error_uri` only ever hold the characters RFC 6749
/// §5.2 allows (`%x20-21 / %x23-5B / %x5D-7E`, no space in a URI): every
/// constructor goes through [`OAuthError::new`] (and [`OAuthError::with_uri`]),
/// which replace anything else, so no path can put a quote, a control
/// character or non-ASCII text from a request into a response. Descriptions
/// should still not quote request input; see [`is_description_char`].
///
/// ```
/// use oauth_runtime::{ErrorCode, OAuthError};
///
/// let err = OAuthError::new(ErrorCode::InvalidGrant, "the code has expired");
/// let response = err.into_response();
/// assert_eq!(response.status(), 400);
/// assert_eq!(
///     response.json(),
///     serde_json::json!({"error": "invalid_grant", "error_description": "the code has expired"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    code: ErrorCode,
    description: Cow<'static, str>,
    uri: Option<Cow<'static, str>>,
    /// A status other than the code's own: `415` for an encoded body.
    status: Option<StatusCode>,
    basic_challenge: bool,
    /// Seconds for `Retry-After`.
    retry_after: Option<u64>,
    /// Answered `429 Too Many Requests` (a lock-out).
    too_many: bool,
}

impl OAuthError {
    /// A new error with the given code and description. Characters RFC 6749
    /// §5.2 does not allow in `error_description` are replaced by `?`.
    ///
    /// ```
    /// use oauth_runtime::{ErrorCode, OAuthError};
    ///
    /// let err = OAuthError::new(ErrorCode::InvalidRequest, "bad \"value\"\r\n\0é");
    /// assert_eq!(err.description(), "bad ?value?????");
    /// ```
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: sanitize_description(description.into()),
            uri: None,
            status: None,
            basic_challenge: false,
            retry_after: None,
            too_many: false,
        }
    }

    /// An error answered `429 Too Many Requests` with `Retry-After`: a
    /// name locked out after too many failures (see
    /// [`throttle`](crate::throttle)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use oauth_runtime::{ErrorCode, OAuthError};
    ///
    /// let response = OAuthError::too_many_attempts(
    ///     ErrorCode::InvalidGrant,
    ///     "too many failed sign-ins; retry later",
    ///     Duration::from_millis(1500),
    /// )
    /// .into_response();
    /// assert_eq!(response.status(), 429);
    /// assert_eq!(response.headers()["retry-after"], "2");
    /// ```
    pub fn too_many_attempts(
        code: ErrorCode,
        description: impl Into<Cow<'static, str>>,
        retry_after: std::time::Duration,
    ) -> Self {
        let mut error = Self::new(code, description).with_retry_after(retry_after);
        error.too_many = true;
        error
    }

    /// `temporarily_unavailable` (503, `Retry-After: 1`) with a description.
    pub fn temporarily_unavailable(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, description)
            .with_retry_after(std::time::Duration::from_secs(1))
    }

    /// Adds `Retry-After` to the response, in whole seconds rounded up (at
    /// least 1), so that a retry never comes too early.
    #[must_use]
    pub fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_client` with a description.
    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// `invalid_grant` with a description.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_scope` with a description.
    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// `unauthorized_client` with a description.
    pub fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }

    /// `invalid_request` answered with `415 Unsupported Media Type`: a body
    /// the endpoint cannot read as sent, such as one with a
    /// `Content-Encoding` other than `identity`.
    pub fn unsupported_media_type(description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ..Self::new(ErrorCode::InvalidRequest, description)
        }
    }

    /// `server_error`: the description is generic so that nothing internal leaks.
    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }

    /// Logs a storage failure and turns it into an error that reveals
    /// nothing about it to the client: `temporarily_unavailable` (503) when
    /// the storage timed out or said it is unavailable — a
    /// [`StorageUnavailable`], or an [`std::io::Error`] of kind
    /// [`TimedOut`](std::io::ErrorKind::TimedOut), anywhere in the error's
    /// source chain — and `server_error` (500) otherwise.
    pub fn storage(error: &(dyn std::error::Error + 'static)) -> Self {
        if is_unavailable(error) {
            tracing::warn!(error = %error, "storage unavailable");
            return Self::temporarily_unavailable(
                "the server is temporarily unable to complete the request; retry later",
            );
        }
        tracing::error!(error = %error, "storage failure");
        Self::server_error()
    }

    /// Adds an `error_uri` to the response. Characters RFC 6749 §5.2 does
    /// not allow in it (space, `"`, `\\`, controls, non-ASCII) are
    /// percent-encoded.
    #[must_use]
    pub fn with_uri(mut self, uri: impl Into<Cow<'static, str>>) -> Self {
        self.uri = Some(sanitize_uri(uri.into()));
        self
    }

    /// Marks the error as a failed HTTP Basic authentication: it then answers
    /// `401` with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    #[must_use]
    pub fn with_basic_challenge(mut self) -> Self {
        self.basic_challenge = true;
        self
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The `Retry-After` seconds, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The `error_uri`, if any.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        if self.too_many {
            StatusCode::TOO_MANY_REQUESTS
        } else if self.basic_challenge {
            StatusCode::UNAUTHORIZED
        } else {
            self.status.unwrap_or_else(|| self.code.status())
        }
    }

    /// The RFC 6749 §5.2 JSON body.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::with_capacity(3);
        body.insert("error".into(), self.code.as_str().into());
        body.insert("error_description".into(), self.description.as_ref().into());
        if let Some(uri) = &self.uri {
            body.insert("error_uri".into(), uri.as_ref().into());
        }
        serde_json::Value::Object(body)
    }

    /// Renders the error as a token-endpoint response: JSON body, status,
    /// `Cache-Control: no-store`, and the Basic challenge when due.
    pub fn into_response(self) -> crate::Response {
        let mut response = crate::Response::from_json(self.status(), &self.to_json());
        response.set_error_code(self.code);
        if let Some(seconds) = self.retry_after {
            response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        if self.basic_challenge && !self.too_many {
            response.insert_header(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"oauth\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// Whether `c` may appear in an `error_description` (RFC 6749 §5.2:
/// `%x20-21 / %x23-5B / %x5D-7E`, printable ASCII without `"` and `\\`).
///
/// ```
/// use oauth_runtime::is_description_char;
///
/// assert!("scope is not allowed: (read)".chars().all(is_description_char));
/// assert!(!['"', '\\', '\n', '\0', 'é'].into_iter().any(is_description_char));
/// ```
pub const fn is_description_char(c: char) -> bool {
    matches!(c, ' '..='!' | '#'..='[' | ']'..='~')
}

/// The description with every character outside [`is_description_char`]
/// replaced by `?`; borrowed text that needs nothing stays borrowed.
fn sanitize_description(text: Cow<'static, str>) -> Cow<'static, str> {
    if text.chars().all(is_description_char) {
        return text;
    }
    Cow::Owned(
        text.chars()
            .map(|c| if is_description_char(c) { c } else { '?' })
            .collect(),
    )
}

/// The URI with every byte outside RFC 6749's `error_uri` set
/// (`%x21 / %x23-5B / %x5D-7E`) percent-encoded.
fn sanitize_uri(uri: Cow<'static, str>) -> Cow<'static, str> {
    let allowed = |b: u8| b != b' ' && b.is_ascii() && is_description_char(char::from(b));
    if uri.bytes().all(allowed) {
        return uri;
    }
    let mut out = String::with_capacity(uri.len() + 8);
    for b in uri.bytes() {
        if allowed(b) {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    Cow::Owned(out)
}

/// A request value as a description may quote it: short, and only letters,
/// digits and `_ - . : /`; `None` for anything else, which a description
/// then names without quoting. Keeps request input (quotes, markup, control
/// characters, long text) out of error responses.
pub(crate) fn plain(value: &str) -> Option<&str> {
    let plain_char = |b: u8| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b);
    (!value.is_empty() && value.len() <= 64 && value.bytes().all(plain_char)).then_some(value)
}

/// A storage error meaning "not now": the database did not answer in time
/// or is overloaded. Put it in the source chain of a storage error (or use an
/// [`std::io::Error`] of kind [`TimedOut`](std::io::ErrorKind::TimedOut)) and
/// the endpoints answer `temporarily_unavailable` (503) instead of
/// `server_error` (500); see [`OAuthError::storage`].
///
/// ```
/// use oauth_runtime::{ErrorCode, OAuthError, StorageUnavailable};
///
/// let error = std::io::Error::other(StorageUnavailable);
/// assert_eq!(OAuthError::storage(&error).code(), ErrorCode::TemporarilyUnavailable);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, thiserror::Error)]
#[error("the storage is temporarily unavailable")]
pub struct StorageUnavailable;

/// Whether a storage error, or any error in its source chain, says "retry
/// later". An `io::Error`'s `source` skips the error it wraps, so that one
/// is looked at too.
fn is_unavailable(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<StorageUnavailable>() {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && (io.kind() == std::io::ErrorKind::TimedOut
                || io.get_ref().is_some_and(|inner| inner.is::<StorageUnavailable>()))
        {
            return true;
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("wrapped: {0}")]
    struct Wrapper(#[source] Box<dyn std::error::Error + Send + Sync>);

    #[test]
    fn timeouts_and_unavailable_storage_answer_temporarily_unavailable() {
        let unavailable: Vec<Box<dyn std::error::Error + Send + Sync>> = vec![
            Box::new(StorageUnavailable),
            Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, "slow")),
            Box::new(std::io::Error::other(StorageUnavailable)),
            Box::new(Wrapper(Box::new(std::io::Error::from(
                std::io::ErrorKind::TimedOut,
            )))),
            Box::new(Wrapper(Box::new(StorageUnavailable))),
        ];
        for error in unavailable {
            let err = OAuthError::storage(&*error);
            assert_eq!(err.code(), ErrorCode::TemporarilyUnavailable, "{error}");
            assert_eq!(err.status(), 503);
            assert!(!err.description().contains("slow"), "nothing internal leaks");
        }
        let failures: Vec<Box<dyn std::error::Error + Send + Sync>> = vec![
            Box::new(std::io::Error::other("disk full")),
            Box::new(Wrapper(Box::new(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            )))),
        ];
        for error in failures {
            assert_eq!(
                OAuthError::storage(&*error).code(),
                ErrorCode::ServerError,
                "{error}"
            );
        }
    }

    #[test]
    fn every_code_has_its_wire_name_and_status() {
        let cases = [
            (ErrorCode::InvalidRequest, "invalid_request", 400),
            (ErrorCode::InvalidClient, "invalid_client", 400),
            (ErrorCode::InvalidGrant, "invalid_grant", 400),
            (ErrorCode::UnauthorizedClient, "unauthorized_client", 400),
            (ErrorCode::UnsupportedGrantType, "unsupported_grant_type", 400),
            (ErrorCode::InvalidScope, "invalid_scope", 400),
            (ErrorCode::AccessDenied, "access_denied", 400),
            (
                ErrorCode::UnsupportedResponseType,
                "unsupported_response_type",
                400,
            ),
            (ErrorCode::ServerError, "server_error", 500),
            (ErrorCode::TemporarilyUnavailable, "temporarily_unavailable", 503),
            (ErrorCode::InvalidToken, "invalid_token", 401),
            (ErrorCode::InsufficientScope, "insufficient_scope", 403),
            (ErrorCode::LoginRequired, "login_required", 400),
            (ErrorCode::ConsentRequired, "consent_required", 400),
            (ErrorCode::InteractionRequired, "interaction_required", 400),
            (ErrorCode::RequestNotSupported, "request_not_supported", 400),
            (
                ErrorCode::RequestUriNotSupported,
                "request_uri_not_supported",
                400,
            ),
            (ErrorCode::InvalidDpopProof, "invalid_dpop_proof", 400),
            (ErrorCode::UseDpopNonce, "use_dpop_nonce", 400),
            (ErrorCode::AuthorizationPending, "authorization_pending", 400),
            (ErrorCode::SlowDown, "slow_down", 400),
            (ErrorCode::ExpiredToken, "expired_token", 400),
        ];
        for (code, name, status) in cases {
            assert_eq!(code.as_str(), name);
            assert_eq!(code.status().as_u16(), status, "{name}");
        }
    }

    #[test]
    fn basic_challenge_answers_401_with_www_authenticate() {
        let response = OAuthError::invalid_client("bad secret")
            .with_basic_challenge()
            .into_response();
        assert_eq!(response.status(), 401);
        let challenge = response.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Basic"), "{challenge}");
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(response.header("pragma"), Some("no-cache"));
    }

    #[test]
    fn descriptions_hold_only_rfc_6749_characters() {
        let hostile = "x\"<script>\\\r\n\0\u{7f}é\u{202e}";
        let err = OAuthError::invalid_request(hostile.to_owned());
        assert_eq!(err.description(), "x?<script>???????");
        assert!(err.description().chars().all(is_description_char));
        assert!(err.to_string().chars().all(is_description_char));
        // Allowed text, borrowed or owned, is kept as it is.
        let plain = "scope `read` is not allowed (RFC 6749 s3.3) ~!#[]";
        assert_eq!(OAuthError::invalid_scope(plain).description(), plain);
        assert_eq!(OAuthError::invalid_scope(plain.to_owned()).description(), plain);
        for c in ['\u{20}', '\u{21}', '\u{23}', '\u{5b}', '\u{5d}', '\u{7e}'] {
            assert!(is_description_char(c), "{c:?}");
        }
        for c in ['\u{1f}', '\u{22}', '\u{5c}', '\u{7f}', '\u{80}'] {
            assert!(!is_description_char(c), "{c:?}");
        }
    }

    #[test]
    fn error_uris_are_percent_encoded_outside_the_rfc_6749_set() {
        let err = OAuthError::invalid_request("x").with_uri("https://docs.example/a b\"\\é\n");
        assert_eq!(err.uri(), Some("https://docs.example/a%20b%22%5C%C3%A9%0A"));
        let fine = "https://docs.example/errors#invalid_request";
        assert_eq!(OAuthError::invalid_request("x").with_uri(fine).uri(), Some(fine));
    }

    #[test]
    fn only_plain_values_may_be_quoted() {
        for value in ["read", "user:email", "https://api.example/read", "a_b-c.d"] {
            assert_eq!(plain(value), Some(value));
        }
        let long = "a".repeat(65);
        for value in ["", "<script>", "a\"b", "a b", "x\r\n", "é", long.as_str()] {
            assert_eq!(plain(value), None, "{value:?}");
        }
    }

    #[test]
    fn unsupported_media_type_is_invalid_request_with_415() {
        let response = OAuthError::unsupported_media_type("encoded").into_response();
        assert_eq!(response.status(), 415);
        assert_eq!(response.error_code(), Some(ErrorCode::InvalidRequest));
        assert_eq!(response.json()["error"], "invalid_request");
    }

    #[test]
    fn error_uri_is_rendered_when_set() {
        let err = OAuthError::invalid_request("x").with_uri("https://docs.example/x");
        assert_eq!(err.to_json()["error_uri"], "https://docs.example/x");
        assert!(
            OAuthError::invalid_request("x")
                .to_json()
                .get("error_uri")
                .is_none()
        );
    }
}
