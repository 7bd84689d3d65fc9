//! Framework-independent HTTP request and response types.

use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, PRAGMA};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use std::net::IpAddr;

use crate::{ErrorCode, OAuthError, Params};

/// The largest form body an endpoint accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An HTTP request as an OAuth endpoint sees it, borrowed from whatever web
/// framework received it.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method, header::CONTENT_TYPE};
/// use oauth_runtime::Request;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
/// let request = Request::new(&Method::POST, &headers).with_body(b"grant_type=client_credentials");
/// assert_eq!(request.form().unwrap().get("grant_type"), Some("client_credentials"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    method: &'a Method,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    body: &'a [u8],
    peer: Option<IpAddr>,
    path: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A request with a method and headers, no query and an empty body.
    pub fn new(method: &'a Method, headers: &'a HeaderMap) -> Self {
        Self {
            method,
            headers,
            query: None,
            body: &[],
            peer: None,
            path: None,
        }
    }

    /// Sets the address the request came from: the password paths count
    /// failures per address ([`PasswordBudgets`](crate::throttle::PasswordBudgets)).
    /// Behind a reverse proxy, pass the client's address the proxy reports,
    /// not the proxy's.
    #[must_use]
    pub fn with_peer(mut self, peer: Option<IpAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// The address the request came from, when known.
    pub fn peer(&self) -> Option<IpAddr> {
        self.peer
    }

    /// Sets the request's path (`/oauth/token`): DPoP proofs name the URL
    /// they were made for, which the server rebuilds from its issuer's
    /// origin and this path.
    #[must_use]
    pub fn with_path(mut self, path: &'a str) -> Self {
        self.path = Some(path);
        self
    }

    /// The request's path, when set.
    pub fn path(&self) -> Option<&'a str> {
        self.path
    }

    /// Sets the raw query string (without `?`).
    #[must_use]
    pub fn with_query(mut self, query: Option<&'a str>) -> Self {
        self.query = query;
        self
    }

    /// Sets the raw body.
    #[must_use]
    pub fn with_body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        self.method
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }

    /// The `Authorization` header, if present exactly once and readable.
    ///
    /// # Errors
    ///
    /// `invalid_request` when the header is repeated or not visible ASCII.
    pub fn authorization(&self) -> Result<Option<&'a str>, OAuthError> {
        let mut values = self.headers.get_all(AUTHORIZATION).iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(
                "the Authorization header is repeated",
            ));
        }
        first
            .to_str()
            .map(Some)
            .map_err(|_| OAuthError::invalid_request("the Authorization header is not readable"))
    }

    /// The query parameters.
    ///
    /// # Errors
    ///
    /// `invalid_request` for a repeated parameter.
    pub fn query(&self) -> Result<Params<'a>, OAuthError> {
        Params::parse(self.query.unwrap_or_default().as_bytes())
    }

    /// Refuses a body sent with a `Content-Encoding` other than `identity`
    /// (`gzip`, `br`, ...): endpoints read bodies as sent, and a compressed
    /// form read as text would be garbage, or a decompression bomb if
    /// inflated.
    ///
    /// # Errors
    ///
    /// `invalid_request` with status `415` ([`OAuthError::unsupported_media_type`]).
    pub fn check_content_encoding(&self) -> Result<(), OAuthError> {
        let identity = self.headers.get_all(CONTENT_ENCODING).iter().all(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .all(|coding| coding.is_empty() || coding.eq_ignore_ascii_case("identity"))
            })
        });
        if identity {
            Ok(())
        } else {
            Err(OAuthError::unsupported_media_type(
                "the body must not be sent with a Content-Encoding",
            ))
        }
    }

    /// The form body of a `POST`, checked strictly: method `POST`, no
    /// `Content-Encoding` ([`Request::check_content_encoding`]), content
    /// type `application/x-www-form-urlencoded`, at most [`MAX_BODY_BYTES`],
    /// no repeated parameter.
    ///
    /// # Errors
    ///
    /// `invalid_request` naming what is wrong (with status `415` for an
    /// encoded body).
    pub fn form(&self) -> Result<Params<'a>, OAuthError> {
        if self.method != Method::POST {
            return Err(OAuthError::invalid_request("this endpoint accepts POST only"));
        }
        self.check_content_encoding()?;
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        if self.body.len() > MAX_BODY_BYTES {
            return Err(OAuthError::invalid_request("the body is too large"));
        }
        if self.query.is_some_and(|q| !q.is_empty()) {
            // Credentials and codes must not travel in URLs (RFC 6749 §3.2).
            return Err(OAuthError::invalid_request(
                "parameters must be sent in the body, not the query string",
            ));
        }
        Params::parse(self.body)
    }
}

/// An HTTP response produced by an endpoint, for any web framework to send.
#[derive(Debug, Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    error: Option<ErrorCode>,
}

impl Response {
    /// A JSON response with `Cache-Control: no-store` and `Pragma: no-cache`,
    /// as every token-endpoint answer must carry (RFC 6749 §5.1).
    pub fn from_json(status: StatusCode, body: &impl serde::Serialize) -> Self {
        // Serializing our own plain structs and maps cannot fail.
        let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        Self {
            status,
            headers,
            body,
            error: None,
        }
    }

    /// A `302 Found` to `location`, never cached.
    pub fn redirect(location: &str) -> Self {
        let mut headers = HeaderMap::with_capacity(3);
        // A location we build is always a valid header value; fall back to an
        // empty body rather than panic if a caller passes control characters.
        if let Ok(value) = HeaderValue::from_str(location) {
            headers.insert(http::header::LOCATION, value);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        Self {
            status: StatusCode::FOUND,
            headers,
            body: Vec::new(),
            error: None,
        }
    }

    /// An HTML page, never cached, not to be framed.
    pub fn html(status: StatusCode, body: String) -> Self {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html;charset=UTF-8"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        headers.insert(http::header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        Self {
            status,
            headers,
            body: body.into_bytes(),
            error: None,
        }
    }

    /// A response with no body.
    pub fn empty(status: StatusCode) -> Self {
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        Self {
            status,
            headers,
            body: Vec::new(),
            error: None,
        }
    }

    /// Adds or replaces a header.
    pub fn insert_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    /// Records the OAuth error code this response answers, for callers
    /// (rate limiting, metrics) to read without parsing the body.
    pub(crate) fn set_error_code(&mut self, code: ErrorCode) {
        self.error = Some(code);
    }

    /// The OAuth error code of an error response produced by
    /// [`OAuthError::into_response`]; `None` for any other response.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.error
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// Splits the response into status, headers and body.
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Vec<u8>) {
        (self.status, self.headers, self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_headers(encoding: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let Some(encoding) = encoding {
            headers.append(CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        headers
    }

    #[test]
    fn an_encoded_form_is_415_invalid_request() {
        for encoding in ["gzip", "br", "deflate", "identity, gzip", "x-unknown"] {
            let headers = form_headers(Some(encoding));
            let request = Request::new(&Method::POST, &headers).with_body(b"grant_type=client_credentials");
            let error = request.form().expect_err(encoding);
            assert_eq!(error.code(), ErrorCode::InvalidRequest, "{encoding}");
            assert_eq!(error.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{encoding}");
        }
        let mut both = form_headers(Some("identity"));
        both.append(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let request = Request::new(&Method::POST, &both).with_body(b"a=b");
        assert_eq!(
            request.form().map(|_| ()).map_err(|e| e.status()),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
    }

    #[test]
    fn identity_or_no_encoding_is_read() {
        for encoding in [None, Some("identity"), Some("IDENTITY"), Some("")] {
            let headers = form_headers(encoding);
            let request = Request::new(&Method::POST, &headers).with_body(b"grant_type=client_credentials");
            let params = request.form().expect("a plain form");
            assert_eq!(params.get("grant_type"), Some("client_credentials"));
        }
    }
}
