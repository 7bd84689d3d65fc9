//! The authorization endpoint (RFC 6749 §4.1.1–§4.1.2.1), with PKCE
//! (RFC 7636), the `iss` response parameter (RFC 9207) and the redirect rules
//! of RFC 9700 §4.1.
//!
//! It runs in two steps so that any web framework can show a login and
//! consent page in between: [`Server::validate_authorization`] checks the
//! request and returns a [`PendingAuthorization`]; after the user decided,
//! [`Server::approve`] issues a code or [`Server::deny`] refuses, each
//! producing the [`AuthorizationResponse`] that sends the user agent back.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use sha2::{Digest as _, Sha256};

use crate::model::{ClientModel, ClientModelExt as _, CodeModel as _, CodeRecord, UnixTime};
use crate::oidc::{Prompt, PromptError};
use crate::server::{Grants, Server, now};
use crate::storage::CodeStorage;
use crate::{
    ErrorCode, GrantType, NewToken, OAuthError, Params, PkceMethod, PkcePolicy, Response, Scope, pkce, scope,
};

/// How the authorization response travels back (OAuth 2.0 Multiple Response
/// Type Encoding Practices, Form Post Response Mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query (the default for `code`).
    Query,
    /// Parameters in the redirect URI's fragment.
    Fragment,
    /// An auto-submitting HTML form posting the parameters.
    FormPost,
}

impl ResponseMode {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Query, Self::Fragment, Self::FormPost]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

/// A validated authorization request waiting for the user's decision.
#[derive(Debug, Clone)]
pub struct PendingAuthorization<C> {
    client: C,
    redirect_uri: String,
    redirect_uri_given: bool,
    scope: Scope,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<PkceMethod>,
    nonce: Option<String>,
    prompt: Prompt,
    max_age: Option<u64>,
    response_mode: ResponseMode,
    /// The form-encoded parameters of the pushed request it came from.
    pushed: Option<String>,
}

/// Where the parameters of an authorization request come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The user agent, at the authorization endpoint.
    Front,
    /// A pushed request: sent by the authenticated client (RFC 9126).
    Pushed,
    /// The application's own page, carrying a request validated before.
    Resumed,
}

/// A refused authorization request, before it is rendered.
#[derive(Debug)]
pub(crate) enum Refused<C> {
    /// The client or redirect URI cannot be trusted.
    Display(OAuthError),
    /// Any other error, with the request it goes back to.
    Redirect(OAuthError, Box<PendingAuthorization<C>>),
}

impl<C: ClientModel> Refused<C> {
    fn into_authorize_error(self, issuer: Option<&str>) -> AuthorizeError {
        match self {
            Self::Display(error) => AuthorizeError::Display(error),
            Self::Redirect(error, pending) => AuthorizeError::Redirect(pending.error(&error, issuer)),
        }
    }

    /// The error alone: what an endpoint answering JSON reports.
    pub(crate) fn into_error(self) -> OAuthError {
        match self {
            Self::Display(error) | Self::Redirect(error, _) => error,
        }
    }
}

impl<C: ClientModel> PendingAuthorization<C> {
    /// The form-encoded parameters of the pushed request (RFC 9126) this
    /// authorization was taken from, `None` for a plain request. The
    /// request_uri is used up: a page carrying the request on to its own
    /// form carries these parameters, and validates them again with
    /// [`Server::validate_resumed_authorization`].
    pub fn pushed_request(&self) -> Option<&str> {
        self.pushed.as_deref()
    }

    /// The client asking for access.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// The requested scope (already checked against the client's).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The `state` to echo.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The redirect URI the response goes to.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The OpenID Connect `nonce`, if any.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The response mode.
    pub fn response_mode(&self) -> ResponseMode {
        self.response_mode
    }

    /// The OpenID Connect `prompt` (empty when absent).
    pub fn prompt(&self) -> Prompt {
        self.prompt
    }

    /// The OpenID Connect `max_age` in seconds, if any.
    pub fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// Whether the user must (re)authenticate before approving, given when
    /// they last authenticated (`None`: no session): always with
    /// `prompt=login` and with `max_age=0` (OpenID Connect Core §3.1.2.1:
    /// the same as `prompt=login`, even for a login within the same second),
    /// and when the last login is older than `max_age`.
    pub fn needs_login(&self, auth_time: Option<UnixTime>, now: UnixTime) -> bool {
        let Some(auth_time) = auth_time else {
            return true;
        };
        let too_old = self.max_age.is_some_and(|max_age| {
            let age = u64::try_from(now.saturating_sub(auth_time)).unwrap_or(0);
            max_age == 0 || age > max_age
        });
        self.prompt.login() || too_old
    }

    fn respond(&self, params: Vec<(&'static str, String)>, issuer: Option<&str>) -> AuthorizationResponse {
        let mut params = params;
        if let Some(state) = &self.state {
            params.push(("state", state.clone()));
        }
        if let Some(issuer) = issuer {
            params.push(("iss", issuer.to_owned()));
        }
        AuthorizationResponse {
            redirect_uri: self.redirect_uri.clone(),
            mode: self.response_mode,
            params,
        }
    }

    fn error(&self, error: &OAuthError, issuer: Option<&str>) -> AuthorizationResponse {
        self.respond(
            vec![
                ("error", error.code().as_str().to_owned()),
                ("error_description", error.description().to_owned()),
            ],
            issuer,
        )
    }
}

/// Why an authorization request was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: show the error to
    /// the user and never redirect (RFC 6749 §4.1.2.1).
    Display(OAuthError),
    /// Any other error: send the user agent back to the client with it.
    Redirect(AuthorizationResponse),
}

impl AuthorizeError {
    /// Renders the error: an HTML error page for [`AuthorizeError::Display`],
    /// the redirect otherwise.
    pub fn into_response(self) -> Response {
        match self {
            Self::Display(error) => error_page(&error),
            Self::Redirect(redirect) => redirect.into_response(),
        }
    }
}

/// Where the user agent goes next, with the response parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    redirect_uri: String,
    mode: ResponseMode,
    params: Vec<(&'static str, String)>,
}

impl AuthorizationResponse {
    /// A response parameter, e.g. `"code"` or `"error"`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The redirect target with the parameters in its query or fragment;
    /// `None` for `form_post`.
    pub fn location(&self) -> Option<String> {
        let separator = match self.mode {
            ResponseMode::Query if self.redirect_uri.contains('?') => '&',
            ResponseMode::Query => '?',
            ResponseMode::Fragment => '#',
            ResponseMode::FormPost => return None,
        };
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.params.iter().map(|(n, v)| (*n, v.as_str())))
            .finish();
        Some(format!("{}{separator}{encoded}", self.redirect_uri))
    }

    /// A `302` to [`AuthorizationResponse::location`], or for `form_post` an
    /// auto-submitting form whose only script is allowed by its hash.
    pub fn into_response(self) -> Response {
        if let Some(location) = self.location() {
            return Response::redirect(&location);
        }
        let inputs: String = self
            .params
            .iter()
            .map(|(n, v)| {
                format!(
                    r#"<input type="hidden" name="{}" value="{}">"#,
                    escape(n),
                    escape(v)
                )
            })
            .collect();
        let body = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Continue</title></head><body>\
             <form method=\"post\" action=\"{}\">{inputs}<noscript><button type=\"submit\">Continue</button>\
             </noscript></form><script>{FORM_POST_SCRIPT}</script></body></html>",
            escape(&self.redirect_uri)
        );
        let mut response = Response::html(StatusCode::OK, body);
        let csp = format!(
            "default-src 'none'; script-src 'sha256-{}'; base-uri 'none'; frame-ancestors 'none'",
            STANDARD.encode(Sha256::digest(FORM_POST_SCRIPT.as_bytes()))
        );
        if let Ok(value) = http::HeaderValue::from_str(&csp) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
        response
    }
}

const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A minimal error page for errors that must not redirect.
fn error_page(error: &OAuthError) -> Response {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
         <body><h1>Authorization error</h1><p><code>{}</code>: {}</p></body></html>",
        error.code(),
        escape(error.description())
    );
    // A request the server could not handle (storage failed or is
    // unavailable) is the server's fault, not the client's: 500 or 503.
    let status = if error.status().is_server_error() {
        error.status()
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = Response::html(status, body);
    response.insert_header(
        http::header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    if let Some(seconds) = error.retry_after() {
        response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
    }
    response
}

impl<S: Grants> Server<S> {
    /// Validates the query of a `GET` to the authorization endpoint.
    ///
    /// # Errors
    ///
    /// As [`Server::validate_authorization`]; a query that cannot be read
    /// (e.g. a repeated parameter) is [`AuthorizeError::Display`].
    pub async fn authorize(
        &self,
        request: &crate::Request<'_>,
    ) -> Result<PendingAuthorization<S::Client>, AuthorizeError> {
        let params = request.query().map_err(AuthorizeError::Display)?;
        self.validate_authorization(&params).await
    }

    /// Validates an authorization request (the query of `GET /authorize`).
    ///
    /// With pushed authorization requests enabled (RFC 9126), a request of
    /// `client_id` and a `request_uri` this server issued
    /// (`urn:ietf:params:oauth:request_uri:...`) takes the pushed request, once: it is
    /// gone afterwards, and its parameters are the request's
    /// ([`PendingAuthorization::pushed_request`]). When the policy or the
    /// client requires pushed requests, any other request is refused.
    ///
    /// # Errors
    ///
    /// [`AuthorizeError::Display`] when the client or redirect URI is missing,
    /// unknown or not registered, or the `request_uri` is unknown, expired,
    /// already used or pushed by another client (or the query cannot be read
    /// at all); [`AuthorizeError::Redirect`] for every other error.
    pub async fn validate_authorization(
        &self,
        params: &Params<'_>,
    ) -> Result<PendingAuthorization<S::Client>, AuthorizeError> {
        let issuer = self.policy().issuer();
        // Only this server's own request_uris name pushed requests; any other
        // is a request object by reference (RFC 9101), not supported.
        let pushed = params
            .get("request_uri")
            .is_some_and(|uri| uri.starts_with(crate::par::REQUEST_URI_PREFIX));
        if self.policy().par().is_some() && pushed {
            return self
                .take_pushed(params)
                .await
                .map_err(|r| r.into_authorize_error(issuer));
        }
        self.check_authorization(params, Origin::Front)
            .await
            .map_err(|r| r.into_authorize_error(issuer))
    }

    /// Validates the parameters of an authorization request that this
    /// server already validated with [`Server::authorize`] and that the
    /// application carried on through its own login and consent page, under
    /// integrity protection (the example server MACs them into its CSRF
    /// token): the same checks, except that the request is not required to
    /// be pushed, as it was when it came in. Never call it with parameters
    /// a user agent could have chosen freely.
    ///
    /// # Errors
    ///
    /// As [`Server::validate_authorization`].
    pub async fn validate_resumed_authorization(
        &self,
        params: &Params<'_>,
    ) -> Result<PendingAuthorization<S::Client>, AuthorizeError> {
        self.check_authorization(params, Origin::Resumed)
            .await
            .map_err(|r| r.into_authorize_error(self.policy().issuer()))
    }

    /// Takes the pushed request `request_uri` of `client_id` and validates it.
    async fn take_pushed(
        &self,
        params: &Params<'_>,
    ) -> Result<PendingAuthorization<S::Client>, Refused<S::Client>> {
        let client_id = params.require("client_id").map_err(Refused::Display)?;
        let request_uri = params.require("request_uri").map_err(Refused::Display)?;
        let unusable = || {
            Refused::Display(OAuthError::invalid_request(
                "request_uri is unknown, expired or already used",
            ))
        };
        if !request_uri.starts_with(crate::par::REQUEST_URI_PREFIX) {
            return Err(unusable());
        }
        let pushed = self
            .storage()
            .take_pushed_request(&crate::TokenHash::of(request_uri), client_id)
            .await
            .map_err(Refused::Display)?
            .filter(|p| p.client_id == client_id && p.expires_at > now())
            .ok_or_else(unusable)?;
        let stored = Params::parse(pushed.params.as_bytes()).map_err(Refused::Display)?;
        if stored.get("client_id") != Some(client_id) {
            return Err(unusable());
        }
        let mut pending = self.check_authorization(&stored, Origin::Pushed).await?;
        pending.pushed = Some(pushed.params);
        Ok(pending)
    }

    /// Every check of an authorization request from `origin`.
    pub(crate) async fn check_authorization(
        &self,
        params: &Params<'_>,
        origin: Origin,
    ) -> Result<PendingAuthorization<S::Client>, Refused<S::Client>> {
        let client_id = params.require("client_id").map_err(Refused::Display)?;
        let client = self
            .storage()
            .client(client_id)
            .await
            .map_err(|e| Refused::Display(OAuthError::storage(&e)))?
            .ok_or_else(|| Refused::Display(OAuthError::invalid_client("unknown client_id")))?;
        let given = params.get("redirect_uri");
        let redirect_uri = resolve_redirect_uri(&client, given).map_err(Refused::Display)?;

        // From here on the redirect URI is trusted: errors go back to it.
        let mut pending = PendingAuthorization {
            client,
            redirect_uri,
            redirect_uri_given: given.is_some(),
            scope: Scope::empty(),
            state: params.get("state").map(str::to_owned),
            code_challenge: None,
            code_challenge_method: None,
            nonce: params.get("nonce").map(str::to_owned),
            prompt: Prompt::default(),
            max_age: None,
            response_mode: ResponseMode::Query,
            pushed: None,
        };
        match params.get("response_mode").map(ResponseMode::from_name) {
            None => {}
            Some(Some(mode)) => pending.response_mode = mode,
            Some(None) => {
                let error = OAuthError::invalid_request("unsupported response_mode");
                return Err(Refused::Redirect(error, Box::new(pending)));
            }
        }
        if origin == Origin::Front && self.requires_pushed_request(&pending.client) {
            let error = OAuthError::invalid_request(
                "authorization requests of this client must be pushed first (RFC 9126): POST them to the \
                 pushed authorization request endpoint and send the request_uri",
            );
            return Err(Refused::Redirect(error, Box::new(pending)));
        }
        match self.check_request(params, &mut pending) {
            Ok(()) => Ok(pending),
            Err(error) => Err(Refused::Redirect(error, Box::new(pending))),
        }
    }

    /// RFC 9126 §5, §6: the policy or the client's registration requires
    /// pushed requests.
    fn requires_pushed_request(&self, client: &S::Client) -> bool {
        match self.policy().par() {
            Some(crate::ParPolicy::Required) => true,
            Some(_) => client.requires_pushed_authorization_requests(),
            None => false,
        }
    }

    /// The checks whose failures redirect back to the client.
    fn check_request(
        &self,
        params: &Params<'_>,
        pending: &mut PendingAuthorization<S::Client>,
    ) -> Result<(), OAuthError> {
        // OpenID Connect Core §6.1, §6.2 / RFC 9101: request objects, by
        // value or by reference, are not supported; say so by name.
        match (params.contains("request"), params.contains("request_uri")) {
            (true, true) => {
                return Err(OAuthError::invalid_request(
                    "request and request_uri cannot be sent together",
                ));
            }
            (true, false) => {
                return Err(OAuthError::new(
                    ErrorCode::RequestNotSupported,
                    "the request parameter (a request object) is not supported",
                ));
            }
            (false, true) => {
                return Err(OAuthError::new(
                    ErrorCode::RequestUriNotSupported,
                    "the request_uri parameter is not supported",
                ));
            }
            (false, false) => {}
        }
        match params.get("response_type") {
            None => return Err(OAuthError::invalid_request("missing parameter `response_type`")),
            Some("code") if self.policy().enables(GrantType::AuthorizationCode) => {}
            Some(_) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    "only response_type=code is supported",
                ));
            }
        }
        if !pending.client.allows_grant(GrantType::AuthorizationCode.as_str()) {
            return Err(OAuthError::unauthorized_client(
                "the client may not use the authorization code grant",
            ));
        }
        pending.scope = scope::resolve(params.get("scope"), &pending.client.allowed_scope())?;
        pending.prompt = Prompt::parse(params.get("prompt")).map_err(|e| {
            // The offending value is request input: not echoed.
            OAuthError::invalid_request(match e {
                PromptError::NoneWithOthers => "prompt=none cannot be combined with other values",
                _ => "prompt holds an unsupported value: use none, login, consent or select_account",
            })
        })?;
        pending.max_age = params
            .get("max_age")
            .map(|age| {
                age.parse::<u64>()
                    .map_err(|_| OAuthError::invalid_request("max_age must be a number of seconds"))
            })
            .transpose()?;
        let (challenge, method) = self.check_pkce(params, pending.client.is_public())?;
        pending.code_challenge = challenge;
        pending.code_challenge_method = method;
        Ok(())
    }

    /// RFC 7636 §4.3, §4.4.1: the challenge is checked here so that a bad one
    /// never becomes a code.
    fn check_pkce(
        &self,
        params: &Params<'_>,
        public: bool,
    ) -> Result<(Option<String>, Option<PkceMethod>), OAuthError> {
        let policy = self.policy().pkce();
        let Some(challenge) = params.get("code_challenge") else {
            if params.contains("code_challenge_method") {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method was sent without code_challenge",
                ));
            }
            if public || policy == PkcePolicy::Required {
                return Err(OAuthError::invalid_request(
                    "PKCE is required: send code_challenge and code_challenge_method=S256",
                ));
            }
            return Ok((None, None));
        };
        let method = match params.get("code_challenge_method") {
            // RFC 7636 §4.3 defaults to plain; we only accept that where plain is allowed.
            None => PkceMethod::Plain,
            Some(name) => PkceMethod::from_name(name)
                .ok_or_else(|| OAuthError::invalid_request("unsupported code_challenge_method"))?,
        };
        if method == PkceMethod::Plain && policy != PkcePolicy::AllowPlain {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256 on this server",
            ));
        }
        if !pkce::is_valid_verifier(challenge) {
            return Err(OAuthError::invalid_request("code_challenge is malformed"));
        }
        Ok((Some(challenge.to_owned()), Some(method)))
    }
}

impl<S: Grants + CodeStorage> Server<S> {
    /// Issues a code for the user `subject`, who just authenticated and
    /// granted `scope` (at most the requested scope; `None` grants all of it).
    ///
    /// # Errors
    ///
    /// [`AuthorizeError::Redirect`] with `invalid_scope` when `scope` is wider
    /// than requested, or `server_error` when storage fails.
    pub async fn approve(
        &self,
        pending: &PendingAuthorization<S::Client>,
        subject: &str,
        scope: Option<Scope>,
    ) -> Result<AuthorizationResponse, AuthorizeError> {
        self.approve_session(pending, subject, now(), scope).await
    }

    /// As [`Server::approve`] for a user who authenticated earlier, at
    /// `auth_time` (a login session): the id_token's `auth_time`. Check
    /// [`PendingAuthorization::needs_login`] first.
    ///
    /// # Errors
    ///
    /// As [`Server::approve`].
    pub async fn approve_session(
        &self,
        pending: &PendingAuthorization<S::Client>,
        subject: &str,
        auth_time: UnixTime,
        scope: Option<Scope>,
    ) -> Result<AuthorizationResponse, AuthorizeError> {
        let issuer = self.policy().issuer();
        let redirect = |e: OAuthError| AuthorizeError::Redirect(pending.error(&e, issuer));
        let scope = match scope {
            Some(scope) if !scope.is_subset_of(&pending.scope) => {
                return Err(redirect(OAuthError::invalid_scope(
                    "the granted scope is wider than the requested one",
                )));
            }
            Some(scope) => scope,
            None => pending.scope.clone(),
        };
        let code = NewToken::generate().map_err(redirect)?;
        let ttl = i64::try_from(self.policy().code_ttl().as_secs()).unwrap_or(i64::MAX);
        let record = CodeRecord {
            code: code.hash(),
            client_id: pending.client.client_id().to_owned(),
            redirect_uri: pending.redirect_uri_given.then(|| pending.redirect_uri.clone()),
            scope,
            subject: subject.to_owned(),
            code_challenge: pending.code_challenge.clone(),
            code_challenge_method: pending.code_challenge_method,
            nonce: pending.nonce.clone(),
            auth_time: Some(auth_time),
            expires_at: now().saturating_add(ttl),
        };
        self.storage()
            .save_code(S::Code::from_record(record))
            .await
            .map_err(|e| redirect(OAuthError::storage(&e)))?;
        Ok(pending.respond(vec![("code", code.into_value())], issuer))
    }

    /// Refuses the request on the user's behalf: `access_denied`.
    pub fn deny(&self, pending: &PendingAuthorization<S::Client>) -> AuthorizationResponse {
        let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        pending.error(&error, self.policy().issuer())
    }

    /// Answers `prompt=none` when the user would have to log in:
    /// `login_required` (OpenID Connect Core §3.1.2.6).
    pub fn login_required(&self, pending: &PendingAuthorization<S::Client>) -> AuthorizationResponse {
        let error = OAuthError::new(ErrorCode::LoginRequired, "the user must log in");
        pending.error(&error, self.policy().issuer())
    }

    /// Answers `prompt=none` when the user would have to consent:
    /// `consent_required` (OpenID Connect Core §3.1.2.6).
    pub fn consent_required(&self, pending: &PendingAuthorization<S::Client>) -> AuthorizationResponse {
        let error = OAuthError::new(ErrorCode::ConsentRequired, "the user must consent");
        pending.error(&error, self.policy().issuer())
    }
}

/// The redirect URI to use: the given one if it is registered, compared by
/// exact string match (RFC 9700 §4.1.3); or the only registered one.
fn resolve_redirect_uri(client: &impl ClientModel, given: Option<&str>) -> Result<String, OAuthError> {
    match given {
        Some(given) => {
            if client.redirect_uris().any(|uri| uri == given) {
                Ok(given.to_owned())
            } else {
                Err(OAuthError::invalid_request(
                    "redirect_uri is not registered for this client",
                ))
            }
        }
        None => {
            let mut registered = client.redirect_uris();
            match (registered.next(), registered.next()) {
                (Some(only), None) => Ok(only.to_owned()),
                _ => Err(OAuthError::invalid_request(
                    "redirect_uri is required: the client has several registered",
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::test_support::*;
    use crate::{GrantType, MemoryStore, Policy};

    const ISSUER: &str = "https://as.example";

    fn server() -> Server<MemoryStore> {
        server_with(Policy::new(GrantType::ALL).with_issuer(ISSUER))
    }

    fn challenge() -> String {
        pkce::s256_challenge(VERIFIER)
    }

    fn query(extra: &str) -> String {
        format!(
            "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fa.example%2Fcb&state=xyz&code_challenge={}&code_challenge_method=S256{extra}",
            challenge()
        )
    }

    async fn validate(
        server: &Server<MemoryStore>,
        query: &str,
    ) -> Result<PendingAuthorization<crate::ClientRecord>, AuthorizeError> {
        let params = Params::parse(query.as_bytes()).unwrap();
        server.validate_authorization(&params).await
    }

    fn redirected(
        result: Result<PendingAuthorization<crate::ClientRecord>, AuthorizeError>,
    ) -> AuthorizationResponse {
        match result {
            Err(AuthorizeError::Redirect(r)) => r,
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    fn displayed(result: Result<PendingAuthorization<crate::ClientRecord>, AuthorizeError>) -> OAuthError {
        match result {
            Err(AuthorizeError::Display(e)) => e,
            other => panic!("expected an error page, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn approve_redirects_with_code_state_and_iss_and_the_code_redeems() {
        let server = server();
        let pending = validate(&server, &query("&scope=read")).await.unwrap();
        assert_eq!(pending.scope().to_string(), "read");
        let response = server.approve(&pending, "user-1", None).await.unwrap();
        assert_eq!(response.param("state"), Some("xyz"));
        assert_eq!(response.param("iss"), Some(ISSUER));
        let location = response.location().unwrap();
        assert!(location.starts_with("https://a.example/cb?code="), "{location}");
        assert!(location.contains("&iss=https%3A%2F%2Fas.example"));

        let code = response.param("code").unwrap();
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier={VERIFIER}"
        );
        let tokens = ok_body(&post(&server, Some(("web", "web-secret")), &body).await);
        assert_eq!(tokens["scope"], "read");

        let http = response.into_response();
        assert_eq!(http.status(), 302);
        assert!(
            http.header("location")
                .unwrap()
                .starts_with("https://a.example/cb?code=")
        );
    }

    #[tokio::test]
    async fn request_objects_are_refused_by_name_and_redirected() {
        let server = server();
        for (extra, error) in [
            ("&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
            (
                "&request_uri=https%3A%2F%2Fclient.example%2Fr%2F1",
                "request_uri_not_supported",
            ),
            ("&request=x&request_uri=y", "invalid_request"),
        ] {
            let response = redirected(validate(&server, &query(extra)).await);
            assert_eq!(response.param("error"), Some(error), "{extra}");
            assert_eq!(response.param("state"), Some("xyz"), "{extra}");
            assert_eq!(response.param("iss"), Some(ISSUER), "{extra}");
            let location = response.location().unwrap_or_default();
            assert!(location.starts_with("https://a.example/cb?"), "{location}");
        }
        // An unknown client still gets the error page, never a redirect.
        let unknown = query("&request=x").replace("client_id=web", "client_id=nobody");
        displayed(validate(&server, &unknown).await);
    }

    #[tokio::test]
    async fn a_code_minted_for_one_client_fails_for_another() {
        let server = server();
        let pending = validate(&server, &query("")).await.unwrap();
        let code = server.approve(&pending, "user-1", None).await.unwrap();
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier={VERIFIER}&client_id=post&client_secret=post-secret",
            code.param("code").unwrap()
        );
        assert_eq!(error_of(&post(&server, None, &body).await), "invalid_grant");
    }

    #[tokio::test]
    async fn deny_redirects_with_access_denied_state_and_iss() {
        let server = server();
        let pending = validate(&server, &query("")).await.unwrap();
        let response = server.deny(&pending);
        assert_eq!(response.param("error"), Some("access_denied"));
        assert_eq!(response.param("state"), Some("xyz"));
        assert_eq!(response.param("iss"), Some(ISSUER));
        assert!(response.param("code").is_none());
    }

    #[tokio::test]
    async fn unregistered_redirect_uris_show_an_error_and_never_redirect() {
        let server = server();
        for uri in [
            "https://a.example/cb/../evil",
            "https://a.example/cb?x=1",
            "https://a.example.evil/cb",
            "https://a.example/cb/",
            "https://A.example/cb",
            "https://a.example:443/cb",
            "https://a.example@evil.example/cb",
            "https://a.example/cb#frag",
            "http://a.example/cb",
            "https://a.example/CB",
        ] {
            let encoded: String = form_urlencoded::byte_serialize(uri.as_bytes()).collect();
            let query = format!(
                "response_type=code&client_id=web&redirect_uri={encoded}&code_challenge={}&code_challenge_method=S256",
                challenge()
            );
            let error = displayed(validate(&server, &query).await);
            assert_eq!(error.code(), ErrorCode::InvalidRequest, "{uri}");
        }
    }

    #[tokio::test]
    async fn unknown_or_missing_client_shows_an_error() {
        let server = server();
        let error = displayed(
            validate(
                &server,
                "response_type=code&client_id=ghost&redirect_uri=https%3A%2F%2Fa.example%2Fcb",
            )
            .await,
        );
        assert_eq!(error.code(), ErrorCode::InvalidClient);
        displayed(
            validate(
                &server,
                "response_type=code&redirect_uri=https%3A%2F%2Fa.example%2Fcb",
            )
            .await,
        );
        let page = displayed(validate(&server, "response_type=code&client_id=ghost").await);
        let response = AuthorizeError::Display(page).into_response();
        assert_eq!(response.status(), 400);
        assert!(response.header("location").is_none());
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
    }

    #[tokio::test]
    async fn redirect_uri_may_be_omitted_only_with_a_single_registration() {
        let server = server();
        let spa = format!(
            "response_type=code&client_id=spa&code_challenge={}&code_challenge_method=S256",
            challenge()
        );
        assert_eq!(validate(&server, &spa).await.unwrap().redirect_uri(), REDIRECT);
        // `web` registers two URIs.
        let web = format!(
            "response_type=code&client_id=web&code_challenge={}&code_challenge_method=S256",
            challenge()
        );
        displayed(validate(&server, &web).await);
    }

    #[tokio::test]
    async fn repeated_parameters_show_an_error() {
        let server = server();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        );
        let query = format!("{}&redirect_uri=https%3A%2F%2Fevil.example", query(""));
        let request = crate::Request::new(&http::Method::GET, &headers).with_query(Some(&query));
        assert!(matches!(
            server.authorize(&request).await,
            Err(AuthorizeError::Display(_))
        ));
    }

    #[tokio::test]
    async fn errors_after_the_redirect_uri_is_trusted_redirect_with_state_and_iss() {
        let server = server();
        let cases = [
            ("response_type=token", "unsupported_response_type"),
            ("scope=admin", "invalid_scope"),
            ("response_mode=jwt", "invalid_request"),
            ("request=eyJ", "request_not_supported"),
            ("request_uri=urn%3Ax", "request_uri_not_supported"),
        ];
        for (extra, expected) in cases {
            let q = query(&format!("&{extra}")).replace(
                "response_type=code&",
                if extra.starts_with("response_type") {
                    ""
                } else {
                    "response_type=code&"
                },
            );
            let response = redirected(validate(&server, &q).await);
            assert_eq!(response.param("error"), Some(expected), "{extra}");
            assert_eq!(response.param("state"), Some("xyz"));
            assert_eq!(response.param("iss"), Some(ISSUER));
        }
        let no_type = query("").replace("response_type=code&", "");
        assert_eq!(
            redirected(validate(&server, &no_type).await).param("error"),
            Some("invalid_request")
        );
    }

    #[tokio::test]
    async fn client_without_the_code_grant_is_unauthorized_client() {
        let server = server();
        let store = server.storage();
        store.add_client(
            crate::ClientRecord::confidential("cc-only", "x")
                .redirect_uris([REDIRECT])
                .grant_types(["client_credentials"]),
        );
        let q = format!(
            "response_type=code&client_id=cc-only&code_challenge={}&code_challenge_method=S256",
            challenge()
        );
        assert_eq!(
            redirected(validate(&server, &q).await).param("error"),
            Some("unauthorized_client")
        );
    }

    #[tokio::test]
    async fn pkce_rules_at_the_authorization_endpoint() {
        let server = server();
        let spa_no_pkce = "response_type=code&client_id=spa";
        assert_eq!(
            redirected(validate(&server, spa_no_pkce).await).param("error"),
            Some("invalid_request")
        );
        let plain =
            format!("response_type=code&client_id=spa&code_challenge={VERIFIER}&code_challenge_method=plain");
        assert_eq!(
            redirected(validate(&server, &plain).await).param("error"),
            Some("invalid_request")
        );
        let implicit_plain = format!("response_type=code&client_id=spa&code_challenge={VERIFIER}");
        assert_eq!(
            redirected(validate(&server, &implicit_plain).await).param("error"),
            Some("invalid_request")
        );
        let bad_method =
            format!("response_type=code&client_id=spa&code_challenge={VERIFIER}&code_challenge_method=S512");
        assert_eq!(
            redirected(validate(&server, &bad_method).await).param("error"),
            Some("invalid_request")
        );
        let short = "response_type=code&client_id=spa&code_challenge=abc&code_challenge_method=S256";
        assert_eq!(
            redirected(validate(&server, short).await).param("error"),
            Some("invalid_request")
        );
        let method_only = "response_type=code&client_id=spa&code_challenge_method=S256";
        assert_eq!(
            redirected(validate(&server, method_only).await).param("error"),
            Some("invalid_request")
        );
        // Confidential clients may omit PKCE under the default policy.
        let web = "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fa.example%2Fcb";
        validate(&server, web).await.unwrap();
        let strict = server_with(Policy::new(GrantType::ALL).with_pkce(PkcePolicy::Required));
        assert!(validate(&strict, web).await.is_err());
        let lax = server_with(Policy::new(GrantType::ALL).with_pkce(PkcePolicy::AllowPlain));
        validate(&lax, &plain).await.unwrap();
    }

    #[tokio::test]
    async fn approve_may_narrow_but_not_widen_the_scope() {
        let server = server();
        let pending = validate(&server, &query("&scope=read")).await.unwrap();
        let wider = server
            .approve(&pending, "user-1", Some(Scope::parse("read write").unwrap()))
            .await;
        match wider {
            Err(AuthorizeError::Redirect(r)) => assert_eq!(r.param("error"), Some("invalid_scope")),
            other => panic!("{other:?}"),
        }
        let pending = validate(&server, &query("")).await.unwrap();
        let narrower = server
            .approve(&pending, "user-1", Some(Scope::parse("write").unwrap()))
            .await
            .unwrap();
        assert!(narrower.param("code").is_some());
    }

    #[tokio::test]
    async fn response_modes_fragment_and_form_post() {
        let server = server();
        let pending = validate(&server, &query("&response_mode=fragment"))
            .await
            .unwrap();
        let location = server.deny(&pending).location().unwrap();
        assert!(
            location.starts_with("https://a.example/cb#error=access_denied"),
            "{location}"
        );

        let pending = validate(
            &server,
            &query("&response_mode=form_post").replace("state=xyz", "state=%22%3E%3Cx%3E"),
        )
        .await
        .unwrap();
        let response = server.approve(&pending, "user-1", None).await.unwrap();
        assert!(response.location().is_none());
        let page = response.into_response();
        assert_eq!(page.status(), 200);
        let html = String::from_utf8(page.body().to_vec()).unwrap();
        assert!(html.contains(r#"action="https://a.example/cb""#));
        assert!(html.contains("&quot;&gt;&lt;x&gt;"), "state is escaped: {html}");
        assert!(!html.contains("\"><x>"));
        assert!(
            page.header("content-security-policy")
                .unwrap()
                .contains("script-src 'sha256-")
        );
    }

    #[tokio::test]
    async fn redirect_uri_with_a_query_keeps_it() {
        let server = server();
        server.storage().add_client(
            crate::ClientRecord::confidential("q", "x")
                .redirect_uris(["https://q.example/cb?tenant=1"])
                .grant_types(["authorization_code"]),
        );
        let pending = validate(&server, "response_type=code&client_id=q").await.unwrap();
        let location = server.deny(&pending).location().unwrap();
        assert!(
            location.starts_with("https://q.example/cb?tenant=1&error=access_denied"),
            "{location}"
        );
    }

    #[tokio::test]
    async fn codes_are_stored_hashed_with_the_code_ttl() {
        let server =
            server_with(Policy::new(GrantType::ALL).with_code_ttl(std::time::Duration::from_secs(5)));
        let pending = validate(&server, &query("&nonce=n-1")).await.unwrap();
        let response = server.approve(&pending, "user-1", None).await.unwrap();
        let code = response.param("code").unwrap();
        let stored = server
            .storage()
            .take_code(&crate::TokenHash::of(code))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.nonce.as_deref(), Some("n-1"));
        assert_eq!(stored.subject, "user-1");
        assert!(stored.expires_at <= now() + 5);
        assert!(!format!("{stored:?}").contains(code));
    }
}
