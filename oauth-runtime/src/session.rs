//! Login sessions: the users signed in on an application's login page,
//! kept by the storage ([`SessionStorage`](crate::storage::SessionStorage))
//! so that a session started on one instance is honoured by every instance
//! sharing the storage.

use crate::{Scope, UnixTime};

/// A signed-in user, stored under the SHA-256 of the session cookie.
///
/// ```
/// use oauth_runtime::{LoginSession, Scope};
///
/// let mut session = LoginSession::new("user-1", "alice", 1_000, 1_000 + 8 * 3600);
/// session.consents.push(("web".into(), Scope::parse("read write").unwrap()));
/// assert!(session.has_consented("web", &Scope::parse("read").unwrap()));
/// assert!(!session.has_consented("other", &Scope::parse("read").unwrap()));
/// assert!(session.is_live(2_000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginSession {
    /// The user's stable subject identifier.
    pub subject: String,
    /// The username the user signed in with (shown on the consent page).
    pub username: String,
    /// When the user typed their password (the id_token's `auth_time`).
    pub auth_time: UnixTime,
    /// When the session ends.
    pub expires_at: UnixTime,
    /// What the user approved during this session, per client: OpenID
    /// Connect's `prompt=none` may reuse it.
    pub consents: Vec<(String, Scope)>,
}

impl LoginSession {
    /// A session without consents yet.
    pub fn new(
        subject: impl Into<String>,
        username: impl Into<String>,
        auth_time: UnixTime,
        expires_at: UnixTime,
    ) -> Self {
        Self {
            subject: subject.into(),
            username: username.into(),
            auth_time,
            expires_at,
            consents: Vec::new(),
        }
    }

    /// Whether the user approved `scope` (or more) for `client_id` in this session.
    pub fn has_consented(&self, client_id: &str, scope: &Scope) -> bool {
        self.consents
            .iter()
            .any(|(client, granted)| client == client_id && scope.is_subset_of(granted))
    }

    /// Whether the session is still valid at `now`.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.expires_at > now
    }
}
