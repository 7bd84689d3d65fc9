//! The login and consent page in front of the authorization endpoint.
//!
//! `GET /oauth/authorize` validates the request and shows the page; the form
//! posts back to `POST /oauth/authorize` with the request's parameters as
//! hidden fields, a CSRF token bound to a cookie (double submit, compared in
//! constant time), and the user's decision. A signed-in user (session cookie)
//! sees only the consent part, unless OpenID Connect's `prompt=login` or
//! `max_age` asks for a new login; `prompt=none` answers at once from the
//! session and the consents given in it, or with `login_required` /
//! `consent_required`.

use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{CONTENT_SECURITY_POLICY, COOKIE, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse as _;
use granted::axum::{OAuthRequest, into_axum};
use granted::endpoints::authorize::escape;
use granted::{
    AuthorizeError, ClientModel as _, LoginSession, NewToken, Params, PendingAuthorization, Response, Scope,
    Server, SessionStorage as _, SignIn, TokenHash, UnixTime, UserModel as _,
};

use crate::csrf::CsrfKey;
use crate::store::ExampleStore;

/// A login session just started (see [`Login::start_session`]).
pub(crate) struct StartedSession {
    /// The cookie's value: the session's secret, given only to the browser.
    pub(crate) cookie: String,
    /// The session's key in the storage (the SHA-256 of the cookie).
    pub(crate) id: TokenHash,
    pub(crate) subject: String,
    pub(crate) auth_time: UnixTime,
}

pub(crate) const CSRF_COOKIE: &str = "granted_csrf";
pub(crate) const SESSION_COOKIE: &str = "granted_session";
/// The prefix of cookies on an https issuer: the browser then accepts them
/// only when `Secure`, with `Path=/` and no `Domain` (no subdomain can plant one).
const HOST_PREFIX: &str = "__Host-";
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The fields of the consent and device forms that are not part of the
/// request the form was made for (the CSRF token covers all the others).
pub(crate) const FORM_FIELDS: [&str; 4] = ["username", "password", "decision", "csrf"];

/// The state the login handlers share.
pub struct Login {
    pub server: Arc<Server<ExampleStore>>,
    pub secure_cookies: bool,
    /// The key of the form's CSRF tokens, shared by every instance.
    pub csrf: CsrfKey,
}

/// `GET /oauth/authorize`
pub async fn show(login: Arc<Login>, request: OAuthRequest) -> axum::response::Response {
    let pending = match login.server.authorize(&request.as_request()).await {
        Ok(pending) => pending,
        Err(error) => return into_axum(error.into_response()),
    };
    // A pushed request (RFC 9126) is used up now: the form carries its
    // parameters, not the request_uri.
    let query = match pending.pushed_request() {
        Some(pushed) => Params::parse(pushed.as_bytes()),
        None => request.as_request().query(),
    };
    let params = match query {
        Ok(params) => params,
        Err(error) => return into_axum(AuthorizeError::Display(error).into_response()),
    };
    let session = match login.session(request.headers(), &pending).await {
        Ok(session) => session,
        Err(error) => return into_axum(AuthorizeError::Display(error).into_response()),
    };
    if pending.prompt().none() {
        // OpenID Connect Core §3.1.2.1: answer without showing any page.
        let Some((_, session)) = session else {
            return into_axum(login.server.login_required(&pending).into_response());
        };
        if !session.has_consented(pending.client().client_id(), pending.scope()) {
            return into_axum(login.server.consent_required(&pending).into_response());
        }
        return match login
            .server
            .approve_session(&pending, &session.subject, session.auth_time, None)
            .await
        {
            Ok(redirect) => into_axum(redirect.into_response()),
            Err(error) => into_axum(error.into_response()),
        };
    }
    login.page(
        request.headers(),
        &pending,
        &params,
        session.map(|(_, s)| s.username),
        None,
    )
}

/// `POST /oauth/authorize`
pub async fn submit(login: Arc<Login>, request: OAuthRequest) -> axum::response::Response {
    let runtime_request = request.as_request();
    let params = match runtime_request.form() {
        Ok(params) => params,
        Err(error) => return into_axum(AuthorizeError::Display(error).into_response()),
    };
    if !login.csrf_matches(request.headers(), &params) {
        let error = granted::OAuthError::invalid_request(
            "the form expired or was not sent from this page: go back and reload it",
        );
        return into_axum(AuthorizeError::Display(error).into_response());
    }
    // The form's request parameters are bound to its CSRF token (checked
    // above): this page rendered them from a request validated on `GET`.
    let pending = match login.server.validate_resumed_authorization(&params).await {
        Ok(pending) => pending,
        Err(error) => return into_axum(error.into_response()),
    };
    if params.get("decision") != Some("approve") {
        return into_axum(login.server.deny(&pending).into_response());
    }
    let session = match login.session(request.headers(), &pending).await {
        Ok(session) => session,
        Err(error) => return into_axum(AuthorizeError::Display(error).into_response()),
    };
    let (session_id, subject, auth_time, new_cookie) = match session {
        Some((id, session)) => (id, session.subject, session.auth_time, None),
        None => match login.check_password(&params, request.peer()).await {
            Ok(SignIn::Valid(user)) => match login.start_session(request.headers(), &user).await {
                Ok(started) => (
                    started.id,
                    started.subject,
                    started.auth_time,
                    Some(started.cookie),
                ),
                Err(error) => return into_axum(AuthorizeError::Display(error).into_response()),
            },
            Ok(SignIn::LockedOut(retry_after)) => {
                let message = "Too many failed sign-ins: try again later.";
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                return login.refusal(
                    request.headers(),
                    &pending,
                    &params,
                    StatusCode::TOO_MANY_REQUESTS,
                    message,
                    seconds,
                );
            }
            Ok(_) => {
                return login.page(
                    request.headers(),
                    &pending,
                    &params,
                    None,
                    Some("Invalid username or password."),
                );
            }
            Err(error) if error.code() == granted::ErrorCode::TemporarilyUnavailable => {
                let message = "The server is busy: try again in a moment.";
                let seconds = error.retry_after().unwrap_or(1);
                return login.refusal(
                    request.headers(),
                    &pending,
                    &params,
                    StatusCode::SERVICE_UNAVAILABLE,
                    message,
                    seconds,
                );
            }
            Err(error) => return into_axum(error.into_response()),
        },
    };
    // Without it a later `prompt=none` asks for consent again: no harm.
    if let Err(error) = login
        .server
        .storage()
        .add_consent(&session_id, pending.client().client_id(), pending.scope())
        .await
    {
        tracing::warn!(%error, "recording a consent in the login session failed");
    }
    let mut response = match login
        .server
        .approve_session(&pending, &subject, auth_time, None)
        .await
    {
        Ok(redirect) => into_axum(redirect.into_response()),
        Err(error) => into_axum(error.into_response()),
    };
    login.set_session_cookie(&mut response, new_cookie.as_deref());
    response
}

impl Login {
    /// The live session of the request's cookie, unless `prompt=login` or
    /// `max_age` asks for a new login. Sessions are in the storage, so a
    /// session made on another instance sharing it counts too.
    async fn session(
        &self,
        headers: &HeaderMap,
        pending: &PendingAuthorization<granted::ClientRecord>,
    ) -> Result<Option<(TokenHash, LoginSession)>, granted::OAuthError> {
        let Some(cookie) = self.cookie_value(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let id = TokenHash::of(&cookie);
        let now = granted::now();
        let session = self
            .server
            .storage()
            .session(&id, now)
            .await
            .map_err(|e| granted::OAuthError::storage(&e))?;
        Ok(session
            .filter(|session| !pending.needs_login(Some(session.auth_time), now))
            .map(|session| (id, session)))
    }

    /// The live session of the request's cookie, whatever the request (the
    /// device verification page: no `prompt` or `max_age` there).
    pub(crate) async fn live_session(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(TokenHash, LoginSession)>, granted::OAuthError> {
        let Some(cookie) = self.cookie_value(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let id = TokenHash::of(&cookie);
        let session = self
            .server
            .storage()
            .session(&id, granted::now())
            .await
            .map_err(|e| granted::OAuthError::storage(&e))?;
        Ok(session.map(|session| (id, session)))
    }

    /// Starts a session for `user`, who just signed in, ending the one the
    /// browser had (its session cookie in `headers`): one browser, one
    /// session, so that signing in as another user (`prompt=login`) leaves
    /// nothing of the first one usable. Returns the new session.
    pub(crate) async fn start_session(
        &self,
        headers: &HeaderMap,
        user: &granted::UserRecord,
    ) -> Result<StartedSession, granted::OAuthError> {
        let previous = self
            .cookie_value(headers, SESSION_COOKIE)
            .map(|value| TokenHash::of(&value));
        let cookie = NewToken::generate().map_err(|_| granted::OAuthError::server_error())?;
        let now = granted::now();
        let ttl = i64::try_from(SESSION_TTL.as_secs()).unwrap_or(i64::MAX);
        let subject = user.subject().to_owned();
        let session = LoginSession::new(&subject, user.username(), now, now.saturating_add(ttl));
        let id = cookie.hash();
        self.server
            .storage()
            .start_session(&id, session, previous.as_ref())
            .await
            .map_err(|e| granted::OAuthError::storage(&e))?;
        Ok(StartedSession {
            cookie: cookie.into_value(),
            id,
            subject,
            auth_time: now,
        })
    }

    /// Adds the cookie of a session started by this request, if one was.
    pub(crate) fn set_session_cookie(&self, response: &mut axum::response::Response, cookie: Option<&str>) {
        if let Some(session) = cookie {
            let cookie = self.cookie(SESSION_COOKIE, session, "Lax", SESSION_TTL.as_secs());
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
    }

    /// Checks the form's username and password through the runtime's
    /// [`granted::sign_in`]: the same failure budgets (per username, per
    /// address) and the same bounded argon2 pool as the password grant.
    pub(crate) async fn check_password(
        &self,
        params: &Params<'_>,
        peer: Option<std::net::IpAddr>,
    ) -> Result<SignIn<granted::UserRecord>, granted::OAuthError> {
        let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
            return Ok(SignIn::Invalid);
        };
        granted::sign_in(
            self.server.storage(),
            self.server.policy(),
            username,
            password,
            peer,
        )
        .await
    }

    /// The page again with `message`, answered `status` with `Retry-After`.
    fn refusal(
        &self,
        headers: &HeaderMap,
        pending: &PendingAuthorization<granted::ClientRecord>,
        params: &Params<'_>,
        status: StatusCode,
        message: &str,
        retry_after: u64,
    ) -> axum::response::Response {
        let mut page = self.page(headers, pending, params, None, Some(message));
        *page.status_mut() = status;
        page.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        page
    }

    /// A `Set-Cookie` value; on an https issuer `__Host-` prefixed and `Secure`.
    pub(crate) fn cookie(&self, name: &str, value: &str, same_site: &str, max_age: u64) -> String {
        let (prefix, secure) = if self.secure_cookies {
            (HOST_PREFIX, "; Secure")
        } else {
            ("", "")
        };
        format!("{prefix}{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}")
    }

    /// The value of this server's cookie `name` (prefixed on https).
    pub(crate) fn cookie_value(&self, headers: &HeaderMap, name: &str) -> Option<String> {
        if self.secure_cookies {
            cookie(headers, &format!("{HOST_PREFIX}{name}"))
        } else {
            cookie(headers, name)
        }
    }

    /// The browser's CSRF value: its cookie's, or a new one (one value for
    /// every open tab; each form's token binds to it).
    pub(crate) fn browser_value(&self, headers: &HeaderMap) -> Result<String, granted::OAuthError> {
        match self.cookie_value(headers, CSRF_COOKIE) {
            Some(value) => Ok(value),
            None => NewToken::generate()
                .map(NewToken::into_value)
                .map_err(|_| granted::OAuthError::server_error()),
        }
    }

    /// Whether the posted form carries a token this server issued for this
    /// browser and the request the form was made for (its other fields: the
    /// authorization request, or the device's user code).
    pub(crate) fn csrf_matches(&self, headers: &HeaderMap, params: &Params<'_>) -> bool {
        match (self.cookie_value(headers, CSRF_COOKIE), params.get("csrf")) {
            (Some(browser), Some(token)) => {
                self.csrf
                    .verify(token, &browser, params, &FORM_FIELDS, granted::now())
            }
            _ => false,
        }
    }

    /// Renders the page, with a fresh CSRF token in a cookie and the form.
    fn page(
        &self,
        headers: &HeaderMap,
        pending: &PendingAuthorization<granted::ClientRecord>,
        params: &Params<'_>,
        signed_in_as: Option<String>,
        message: Option<&str>,
    ) -> axum::response::Response {
        let browser = match self.browser_value(headers) {
            Ok(value) => value,
            Err(error) => return into_axum(error.into_response()),
        };
        let csrf = self.csrf.issue(&browser, params, &FORM_FIELDS, granted::now());
        let hidden: String = params
            .iter()
            .filter(|(name, _)| !FORM_FIELDS.contains(name))
            .map(|(name, value)| {
                format!(
                    r#"<input type="hidden" name="{}" value="{}">"#,
                    escape(name),
                    escape(value)
                )
            })
            .collect();
        let scopes = scope_items(pending.scope());
        let credentials = credentials_html(signed_in_as.as_deref());
        let alert = alert_html(message);
        let body = format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {client}</title><link rel="stylesheet" href="/assets/login.css"></head>
<body><main>
<h1>Authorize <span class="client">{client}</span></h1>
{alert}
<p><strong>{client}</strong> asks for access to your account with these permissions:</p>
<ul class="scopes">{scopes}</ul>
<form method="post" action="/oauth/authorize">
{hidden}<input type="hidden" name="csrf" value="{csrf}">
{credentials}
<div class="actions">
<button type="submit" name="decision" value="approve" class="approve">Allow</button>
<button type="submit" name="decision" value="deny" class="deny" formnovalidate>Deny</button>
</div>
</form>
<p class="redirect">You will be sent back to <code>{redirect}</code>.</p>
</main></body></html>"#,
            client = escape(pending.client().client_id()),
            redirect = escape(pending.redirect_uri()),
            csrf = escape(&csrf),
        );
        let mut response = Response::html(
            if message.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            },
            body,
        );
        let csp = format!(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
            origin_of(pending.redirect_uri())
                .map(|o| format!(" {o}"))
                .unwrap_or_default()
        );
        if let Ok(value) = HeaderValue::from_str(&csp) {
            response.insert_header(CONTENT_SECURITY_POLICY, value);
        }
        let mut response = into_axum(response);
        let out = response.headers_mut();
        out.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        out.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        let cookie = self.cookie(CSRF_COOKIE, &browser, "Strict", 3600);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            out.append(SET_COOKIE, value);
        }
        response
    }
}

/// The page's stylesheet (served from our origin so the CSP needs no inline style).
pub async fn stylesheet() -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("login.css"),
    )
        .into_response()
}

/// The value of cookie `name`, if sent.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// `scheme://host[:port]` of an http(s) URI, for the CSP's form-action (the
/// form's redirect goes there).
fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    valid.then(|| format!("{scheme}://{host}"))
}

/// The scopes asked for, as the list items of a consent page.
pub(crate) fn scope_items(scope: &Scope) -> String {
    scope
        .iter()
        .map(|s| format!("<li><code>{}</code> — {}</li>", escape(s), scope_text(s)))
        .collect()
}

/// Who is signed in, or the sign-in fields when nobody is.
pub(crate) fn credentials_html(signed_in_as: Option<&str>) -> String {
    match signed_in_as {
        Some(name) => format!(r#"<p class="who">Signed in as <strong>{}</strong>.</p>"#, escape(name)),
        None => r#"<fieldset><legend>Sign in</legend>
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
</fieldset>"#
            .to_owned(),
    }
}

/// A message for the user, announced to screen readers; nothing without one.
pub(crate) fn alert_html(message: Option<&str>) -> String {
    message
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, escape(m)))
        .unwrap_or_default()
}

fn scope_text(scope: &str) -> &'static str {
    match scope {
        "openid" => "confirm who you are",
        "profile" => "read your name",
        "email" => "read your email address",
        "read" => "read your data",
        "write" => "change your data",
        _ => "an application-specific permission",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_of_keeps_scheme_host_and_port_only() {
        assert_eq!(
            origin_of("http://127.0.0.1:9000/cb?x=1").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            origin_of("https://a.example/cb").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(origin_of("com.example.app:/cb"), None);
        assert_eq!(origin_of("https://x; script-src *").as_deref(), None);
    }
}
