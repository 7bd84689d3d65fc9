//! Pushed authorization requests (RFC 9126): the record storage keeps, and
//! the glue `#[granted::server(par)]` generates calls. The endpoint is
//! [`Server::push_authorization_request`](crate::Server::push_authorization_request).

use crate::storage::PushedRequestStorage;
use crate::{OAuthError, TokenHash, UnixTime};

/// The prefix of every `request_uri` this server issues (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a pushed request stays usable, in seconds: long enough for the
/// client to redirect the user agent, short enough that a leaked
/// `request_uri` is soon worthless (RFC 9126 §2.2 suggests 5 to 600).
pub const PUSHED_REQUEST_LIFETIME_SECS: u64 = 60;

/// A pushed authorization request as storage keeps it: the hash of its
/// `request_uri`, never the value itself.
///
/// ```
/// use oauth_runtime::TokenHash;
/// use oauth_runtime::par::{PushedRequest, REQUEST_URI_PREFIX};
///
/// let uri = format!("{REQUEST_URI_PREFIX}abc");
/// let pushed = PushedRequest {
///     request_uri: TokenHash::of(&uri),
///     client_id: "web".into(),
///     params: "response_type=code&client_id=web".into(),
///     expires_at: 1_700_000_060,
/// };
/// assert_eq!(pushed.request_uri, TokenHash::of(&uri));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    /// SHA-256 of the `request_uri`.
    pub request_uri: TokenHash,
    /// The client that pushed it: only this client may use it.
    pub client_id: String,
    /// The authorization request's parameters, form-urlencoded (client
    /// authentication parameters left out).
    pub params: String,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// The error of the endpoint when the policy serves no pushed requests.
pub(crate) fn not_enabled() -> OAuthError {
    OAuthError::invalid_request("pushed authorization requests are not enabled on this server")
}

/// Stores a pushed request: what `Grants::save_pushed_request` does for a
/// storage declaring `par`.
///
/// # Errors
///
/// `server_error` (or `temporarily_unavailable`) when storage fails.
pub async fn save<S: PushedRequestStorage>(storage: &S, request: PushedRequest) -> Result<(), OAuthError> {
    storage
        .save_pushed_request(request)
        .await
        .map_err(|e| OAuthError::storage(&e))
}

/// Takes a pushed request: what `Grants::take_pushed_request` does for a
/// storage declaring `par`.
///
/// # Errors
///
/// `server_error` (or `temporarily_unavailable`) when storage fails.
pub async fn take<S: PushedRequestStorage>(
    storage: &S,
    request_uri: &TokenHash,
    client_id: &str,
) -> Result<Option<PushedRequest>, OAuthError> {
    storage
        .take_pushed_request(request_uri, client_id)
        .await
        .map_err(|e| OAuthError::storage(&e))
}
