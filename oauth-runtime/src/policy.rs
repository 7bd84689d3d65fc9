//! The server's policy: which grants are enabled and with which options,
//! token lifetimes, and the declared scopes. `#[granted::server]` builds it
//! from the attribute; lifetimes and the issuer can be changed at start-up.

use std::time::Duration;

use crate::Offload;
use crate::oidc::SigningAlg;
use crate::throttle::{AuthFailureLimit, AuthFailureLimiter, PasswordBudgets};

/// A grant type of the token endpoint (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code` (RFC 6749 §4.1) with PKCE (RFC 7636).
    AuthorizationCode,
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// `password` (RFC 6749 §4.3): insecure, opt-in only.
    Password,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
    DeviceCode,
}

impl GrantType {
    /// Every grant granted implements.
    pub const ALL: [GrantType; 5] = [
        Self::AuthorizationCode,
        Self::ClientCredentials,
        Self::Password,
        Self::RefreshToken,
        Self::DeviceCode,
    ];

    /// The wire name, e.g. `"authorization_code"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => crate::device::DEVICE_CODE_GRANT_TYPE,
        }
    }

    /// Parses a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

/// How PKCE is enforced for the authorization code grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PkcePolicy {
    /// `S256` only; required for public clients, optional for confidential ones.
    #[default]
    S256,
    /// `S256` required for every client.
    Required,
    /// `S256` or `plain` (opt-in: `plain` protects nothing against a reader
    /// of the authorization request); required for public clients.
    AllowPlain,
}

/// Whether pushed authorization requests (RFC 9126) are accepted or
/// required, when the policy enables them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParPolicy {
    /// `POST /oauth/par` is served; plain authorization requests are still
    /// accepted, except from clients registered with
    /// `require_pushed_authorization_requests`.
    Optional,
    /// Every authorization request must be pushed first.
    Required,
}

/// Whether the token endpoint binds tokens to DPoP keys (RFC 9449):
/// `#[granted::server(dpop)]` declares [`DpopPolicy::Optional`],
/// `dpop(required)` [`DpopPolicy::Required`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DpopPolicy {
    /// No DPoP: a `DPoP` header is ignored and tokens are bearer tokens.
    #[default]
    Off,
    /// A token request with a proof gets tokens bound to its key; one
    /// without (from a client not registered with
    /// `dpop_bound_access_tokens`) gets bearer tokens.
    Optional,
    /// Every token request needs a proof.
    Required,
}

impl DpopPolicy {
    /// Whether DPoP proofs are honoured at all.
    pub const fn is_enabled(self) -> bool {
        !matches!(self, Self::Off)
    }
}

/// The declared policy of a server.
///
/// ```
/// use std::time::Duration;
/// use oauth_runtime::{GrantType, Policy};
///
/// let policy = Policy::new([GrantType::ClientCredentials])
///     .with_access_token_ttl(Duration::from_secs(600));
/// assert!(policy.enables(GrantType::ClientCredentials));
/// assert!(!policy.enables(GrantType::Password));
/// assert_eq!(policy.access_token_ttl(), Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Where password checks run; inline when `None`.
    offload: Option<Offload>,
    /// The failure budgets of the password paths.
    password_budgets: PasswordBudgets,
    /// The failure budget of user-code entry (device grant), per source.
    user_code_budget: AuthFailureLimiter,
    /// How long device codes and user codes live.
    device_code_ttl: Duration,
    grants: Vec<GrantType>,
    pkce: PkcePolicy,
    rotate_refresh_tokens: bool,
    access_token_ttl: Duration,
    refresh_token_ttl: Duration,
    code_ttl: Duration,
    scopes_supported: Vec<String>,
    issuer: Option<String>,
    openid: Option<SigningAlg>,
    par: Option<ParPolicy>,
    private_key_jwt: bool,
    dpop: DpopPolicy,
    /// The key of DPoP server nonces; no nonces are required without it.
    dpop_nonces: Option<crate::dpop::NonceKey>,
}

impl Policy {
    /// A policy enabling `grants`, with S256 PKCE, rotating refresh tokens,
    /// and lifetimes of 1 h (access), 30 d (refresh) and 60 s (code).
    pub fn new(grants: impl IntoIterator<Item = GrantType>) -> Self {
        let mut enabled = Vec::new();
        for grant in grants {
            if !enabled.contains(&grant) {
                enabled.push(grant);
            }
        }
        Self {
            offload: None,
            password_budgets: PasswordBudgets::default(),
            user_code_budget: AuthFailureLimiter::new(AuthFailureLimit::default()),
            device_code_ttl: Duration::from_secs(600),
            grants: enabled,
            pkce: PkcePolicy::default(),
            rotate_refresh_tokens: true,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            code_ttl: Duration::from_secs(60),
            scopes_supported: Vec::new(),
            issuer: None,
            openid: None,
            par: None,
            private_key_jwt: false,
            dpop: DpopPolicy::Off,
            dpop_nonces: None,
        }
    }

    /// Serves pushed authorization requests (RFC 9126), optional or required
    /// (`#[granted::server(par)]`, `par(required)`). A declaration: the
    /// storage must keep pushed requests
    /// ([`Grants::take_pushed_request`](crate::Grants::take_pushed_request)).
    #[must_use]
    pub fn with_par(mut self, par: ParPolicy) -> Self {
        self.par = Some(par);
        self
    }

    /// Whether pushed authorization requests are served, and how.
    pub fn par(&self) -> Option<ParPolicy> {
        self.par
    }

    /// Accepts `private_key_jwt` client authentication (RFC 7523 §2.2,
    /// `#[granted::server(client_auth(private_key_jwt))]`). A declaration:
    /// the storage must remember assertion ids
    /// ([`Grants::record_assertion_jti`](crate::Grants::record_assertion_jti)).
    #[must_use]
    pub fn with_private_key_jwt(mut self) -> Self {
        self.private_key_jwt = true;
        self
    }

    /// Whether `private_key_jwt` client authentication is accepted.
    pub fn private_key_jwt(&self) -> bool {
        self.private_key_jwt
    }

    /// Sets the failure budget of user-code entry on the device
    /// verification page, keyed per source address (default: 10 wrong codes
    /// in 60 s lock the address for 60 s). With a store
    /// ([`AuthFailureLimiter::with_store`], e.g. under
    /// [`FailureScope::USER_CODE`](crate::throttle::FailureScope::USER_CODE)),
    /// instances share it.
    #[must_use]
    pub fn with_user_code_budget(mut self, budget: AuthFailureLimiter) -> Self {
        self.user_code_budget = budget;
        self
    }

    /// The failure budget of user-code entry.
    pub fn user_code_budget(&self) -> &AuthFailureLimiter {
        &self.user_code_budget
    }

    /// Sets how long device codes and user codes live (RFC 8628 §3.2
    /// `expires_in`; default 10 minutes).
    #[must_use]
    pub fn with_device_code_ttl(mut self, ttl: Duration) -> Self {
        self.device_code_ttl = ttl;
        self
    }

    /// How long device codes and user codes live.
    pub fn device_code_ttl(&self) -> Duration {
        self.device_code_ttl
    }

    /// Sets the PKCE policy.
    #[must_use]
    pub fn with_pkce(mut self, pkce: PkcePolicy) -> Self {
        self.pkce = pkce;
        self
    }

    /// Runs password verification (argon2, tens of milliseconds of CPU)
    /// through `offload`, so that it does not stall the async executor.
    #[must_use]
    pub fn with_offload(mut self, offload: Offload) -> Self {
        self.offload = Some(offload);
        self
    }

    /// Where password checks run, if not inline.
    pub fn offload(&self) -> Option<&Offload> {
        self.offload.as_ref()
    }

    /// Replaces the failure budgets every password path shares (the
    /// password grant, a login page calling [`sign_in`](crate::sign_in)).
    /// By default 10 failures in 60 s lock a username for 60 s, and 30 lock
    /// a source address.
    #[must_use]
    pub fn with_password_budgets(mut self, budgets: PasswordBudgets) -> Self {
        self.password_budgets = budgets;
        self
    }

    /// The failure budgets of the password paths.
    pub fn password_budgets(&self) -> &PasswordBudgets {
        &self.password_budgets
    }

    /// Whether refresh tokens rotate on use (the default, RFC 9700 §4.14).
    #[must_use]
    pub fn with_refresh_rotation(mut self, rotate: bool) -> Self {
        self.rotate_refresh_tokens = rotate;
        self
    }

    /// Sets the access token lifetime.
    #[must_use]
    pub fn with_access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Sets the refresh token lifetime.
    #[must_use]
    pub fn with_refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = ttl;
        self
    }

    /// Sets the authorization code lifetime.
    #[must_use]
    pub fn with_code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// Declares the scopes the server knows (`scopes_supported` in metadata).
    #[must_use]
    pub fn with_scopes_supported<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the issuer identifier (RFC 8414, RFC 9207).
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Declares OpenID Connect on the code flow, signing id_tokens with `alg`
    /// (`#[granted::server(openid(...))]` declares it in the policy of the
    /// storage). A declaration only: a server serves OpenID Connect when it
    /// is built with an [`OpenIdSetup`](crate::OpenIdSetup), which brings
    /// the signing keys and the issuer ([`Server::with_setup`](crate::Server::with_setup));
    /// [`Server::new`](crate::Server::new) serves OAuth 2.0 alone.
    #[must_use]
    pub fn with_openid(mut self, alg: SigningAlg) -> Self {
        self.openid = Some(alg);
        self
    }

    /// Declares DPoP (`#[granted::server(dpop)]` declares it in the policy
    /// of the storage; [`Server::configure`](crate::Server::configure)
    /// keeps it as declared).
    #[must_use]
    pub fn with_dpop(mut self, dpop: DpopPolicy) -> Self {
        self.dpop = dpop;
        self
    }

    /// The DPoP policy.
    pub fn dpop(&self) -> DpopPolicy {
        self.dpop
    }

    /// Requires server nonces in DPoP proofs at the token endpoint (RFC 9449
    /// §8), issued and checked under `key`: every instance of a deployment
    /// must use the same key (the example server keeps its secret in the
    /// store). A deployment setting, changed at start-up with
    /// [`Server::configure`](crate::Server::configure).
    ///
    /// ```
    /// use oauth_runtime::dpop::NonceKey;
    /// use oauth_runtime::{DpopPolicy, GrantType, Policy};
    ///
    /// let key = NonceKey::new(b"a long, random, shared secret").unwrap();
    /// let policy = Policy::new([GrantType::ClientCredentials])
    ///     .with_dpop(DpopPolicy::Optional)
    ///     .with_dpop_nonces(key);
    /// assert!(policy.dpop_nonces().is_some());
    /// ```
    #[must_use]
    pub fn with_dpop_nonces(mut self, key: crate::dpop::NonceKey) -> Self {
        self.dpop_nonces = Some(key);
        self
    }

    /// The key of DPoP server nonces, when nonces are required.
    pub fn dpop_nonces(&self) -> Option<&crate::dpop::NonceKey> {
        self.dpop_nonces.as_ref()
    }

    /// The policy without OpenID Connect.
    pub(crate) fn without_openid(mut self) -> Self {
        self.openid = None;
        self
    }

    /// Keeps only what the storage compiled in: the grants in `allowed`, and
    /// OpenID Connect as declared.
    pub(crate) fn restrict_to(mut self, allowed: &[GrantType], openid: Option<SigningAlg>) -> Self {
        self.grants.retain(|g| allowed.contains(g));
        self.openid = openid;
        self
    }

    /// Keeps the extensions as the storage declared them (`declared`).
    pub(crate) fn keep_extensions_of(mut self, declared: &Policy) -> Self {
        self.par = declared.par;
        self.private_key_jwt = declared.private_key_jwt;
        self.dpop = declared.dpop;
        self
    }

    /// Whether `grant` is enabled.
    pub fn enables(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }

    /// The enabled grants, in declaration order.
    pub fn grants(&self) -> &[GrantType] {
        &self.grants
    }

    /// The PKCE policy.
    pub fn pkce(&self) -> PkcePolicy {
        self.pkce
    }

    /// Whether refresh tokens rotate.
    pub fn rotates_refresh_tokens(&self) -> bool {
        self.rotate_refresh_tokens
    }

    /// The access token lifetime.
    pub fn access_token_ttl(&self) -> Duration {
        self.access_token_ttl
    }

    /// The refresh token lifetime.
    pub fn refresh_token_ttl(&self) -> Duration {
        self.refresh_token_ttl
    }

    /// The authorization code lifetime.
    pub fn code_ttl(&self) -> Duration {
        self.code_ttl
    }

    /// The declared scopes.
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes_supported
    }

    /// The issuer, when set.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The id_token signing algorithm, when OpenID Connect is enabled.
    pub fn openid(&self) -> Option<SigningAlg> {
        self.openid
    }
}

/// Parses a duration such as `"60s"`, `"15m"`, `"1h"` or `"30d"`: a positive
/// whole number followed by one unit.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(oauth_runtime::parse_duration("15m"), Ok(Duration::from_secs(900)));
/// assert!(oauth_runtime::parse_duration("0s").is_err());
/// assert!(oauth_runtime::parse_duration("1w").is_err());
/// ```
///
/// # Errors
///
/// [`DurationError`] saying what is wrong.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or(DurationError::MissingUnit)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| DurationError::MissingNumber)?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(DurationError::UnknownUnit(unit.to_owned())),
    };
    if number == 0 {
        return Err(DurationError::Zero);
    }
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or(DurationError::TooLong)
}

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// No digits before the unit.
    #[error("a duration starts with a whole number, e.g. `60s`")]
    MissingNumber,
    /// Digits but no unit.
    #[error("a duration needs a unit: `s`, `m`, `h` or `d`")]
    MissingUnit,
    /// A unit other than s, m, h, d.
    #[error("unknown duration unit `{0}`: use `s`, `m`, `h` or `d`")]
    UnknownUnit(String),
    /// Zero length.
    #[error("a duration of zero would expire at once")]
    Zero,
    /// Too long to represent.
    #[error("the duration is too long")]
    TooLong,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_each_unit() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(2_592_000)));
        assert_eq!(parse_duration("60"), Err(DurationError::MissingUnit));
        assert_eq!(parse_duration("s"), Err(DurationError::MissingNumber));
        assert_eq!(parse_duration("-1s"), Err(DurationError::MissingNumber));
        assert_eq!(
            parse_duration("5ms"),
            Err(DurationError::UnknownUnit("ms".into()))
        );
        assert_eq!(
            parse_duration("99999999999999999999d"),
            Err(DurationError::MissingNumber)
        );
        assert_eq!(parse_duration("999999999999999999d"), Err(DurationError::TooLong));
    }

    #[test]
    fn grant_names_round_trip() {
        for grant in GrantType::ALL {
            assert_eq!(GrantType::from_name(grant.as_str()), Some(grant));
        }
        assert_eq!(GrantType::from_name("implicit"), None);
    }

    #[test]
    fn policy_dedups_grants() {
        let policy = Policy::new([GrantType::RefreshToken, GrantType::RefreshToken]);
        assert_eq!(policy.grants(), [GrantType::RefreshToken]);
    }
}
