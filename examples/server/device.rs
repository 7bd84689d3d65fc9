//! The device verification page (RFC 8628 §3.3): the user enters the code
//! their device shows (or arrives with it from `verification_uri_complete`),
//! sees which client asks for which scopes, signs in (the same session,
//! password check and CSRF protection as the authorization page) and
//! approves or denies.
//!
//! `GET /device` shows the code entry form; `GET /device?user_code=...`
//! looks the code up (wrong codes spend the source address's budget) and
//! shows the confirmation page. Nothing is ever approved by following a
//! link: only the confirmation form, posted with its CSRF token, decides
//! (`POST /device`), and it shows the code and the client so that a user
//! sent a phishing link can see it is not their device's.

use std::sync::Arc;

use axum::http::header::{CONTENT_SECURITY_POLICY, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use granted::axum::{OAuthRequest, into_axum};
use granted::endpoints::authorize::escape;
use granted::{ClientModel as _, ClientRecord, DeviceLookupError, Params, PendingDevice, Response, SignIn};

use crate::login::{CSRF_COOKIE, FORM_FIELDS, Login, alert_html, credentials_html, scope_items};

/// `GET /device`
pub async fn show(login: Arc<Login>, request: OAuthRequest) -> axum::response::Response {
    let query = match request.as_request().query() {
        Ok(query) => query,
        Err(_) => return entry_page(StatusCode::BAD_REQUEST, Some("The address is malformed.")),
    };
    let Some(user_code) = query.get("user_code") else {
        return entry_page(StatusCode::OK, None);
    };
    let pending = match login.find_device(user_code, &request).await {
        Ok(pending) => pending,
        Err(error) => return lookup_refused(&error),
    };
    let signed_in = match login.live_session(request.headers()).await {
        Ok(session) => session.map(|(_, s)| s.username),
        Err(error) => return into_axum(error.into_response()),
    };
    login.confirmation(request.headers(), &pending, signed_in, None)
}

/// `POST /device`
pub async fn submit(login: Arc<Login>, request: OAuthRequest) -> axum::response::Response {
    let runtime_request = request.as_request();
    let params = match runtime_request.form() {
        Ok(params) => params,
        Err(_) => return entry_page(StatusCode::BAD_REQUEST, Some("The form is malformed.")),
    };
    if !login.csrf_matches(request.headers(), &params) {
        return entry_page(
            StatusCode::BAD_REQUEST,
            Some("The form expired or was not sent from this page: enter the code again."),
        );
    }
    let Some(user_code) = params.get("user_code") else {
        return entry_page(StatusCode::BAD_REQUEST, None);
    };
    let pending = match login.find_device(user_code, &request).await {
        Ok(pending) => pending,
        Err(error) => return lookup_refused(&error),
    };
    if params.get("decision") != Some("approve") {
        return match login.server.decide_device_authorization(&pending, None).await {
            Ok(_) => done_page("Access denied. The device will not be signed in."),
            Err(error) => into_axum(error.into_response()),
        };
    }
    let session = match login.live_session(request.headers()).await {
        Ok(session) => session,
        Err(error) => return into_axum(error.into_response()),
    };
    let (subject, auth_time, new_cookie) = match session {
        Some((_, session)) => (session.subject, session.auth_time, None),
        None => match login.check_password(&params, request.peer()).await {
            Ok(SignIn::Valid(user)) => match login.start_session(request.headers(), &user).await {
                Ok(started) => (started.subject, started.auth_time, Some(started.cookie)),
                Err(error) => return into_axum(error.into_response()),
            },
            Ok(SignIn::LockedOut(retry_after)) => {
                let mut page = login.confirmation(
                    request.headers(),
                    &pending,
                    None,
                    Some("Too many failed sign-ins: try again later."),
                );
                *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                page.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
                return page;
            }
            Ok(_) => {
                return login.confirmation(
                    request.headers(),
                    &pending,
                    None,
                    Some("Invalid username or password."),
                );
            }
            Err(error) => return into_axum(error.into_response()),
        },
    };
    let mut response = match login
        .server
        .decide_device_authorization(&pending, Some((&subject, auth_time)))
        .await
    {
        Ok(true) => done_page("Device approved. You can return to your device."),
        Ok(false) => entry_page(
            StatusCode::BAD_REQUEST,
            Some("This code was already used: start again on your device."),
        ),
        Err(error) => into_axum(error.into_response()),
    };
    login.set_session_cookie(&mut response, new_cookie.as_deref());
    response
}

/// The entry page again, or `429` while the source is locked out.
fn lookup_refused(error: &DeviceLookupError) -> axum::response::Response {
    match error {
        DeviceLookupError::NotFound => entry_page(
            StatusCode::BAD_REQUEST,
            Some("That code is invalid, expired or already used. Check the code on your device."),
        ),
        DeviceLookupError::LockedOut { retry_after } => {
            let mut page = entry_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many wrong codes: try again later."),
            );
            page.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
            page
        }
        DeviceLookupError::Failed(error) => into_axum(error.clone().into_response()),
        _ => entry_page(StatusCode::BAD_REQUEST, None),
    }
}

impl Login {
    /// The pending authorization `user_code` names (a code that finds
    /// nothing spends the source's guessing budget).
    async fn find_device(
        &self,
        user_code: &str,
        request: &OAuthRequest,
    ) -> Result<PendingDevice<ClientRecord>, DeviceLookupError> {
        self.server
            .find_device_authorization(user_code, request.peer())
            .await
    }

    /// The confirmation page: the code, the client and its scopes, the
    /// sign-in fields unless signed in, and Allow / Deny.
    fn confirmation(
        &self,
        headers: &HeaderMap,
        pending: &PendingDevice<ClientRecord>,
        signed_in_as: Option<String>,
        message: Option<&str>,
    ) -> axum::response::Response {
        let browser = match self.browser_value(headers) {
            Ok(value) => value,
            Err(error) => return into_axum(error.into_response()),
        };
        let bound = form_urlencoded::Serializer::new(String::new())
            .append_pair("user_code", &pending.user_code)
            .finish();
        let csrf = match Params::parse(bound.as_bytes()) {
            Ok(params) => self.csrf.issue(&browser, &params, &FORM_FIELDS, granted::now()),
            Err(error) => return into_axum(error.into_response()),
        };
        let scopes = scope_items(&pending.scope);
        let credentials = credentials_html(signed_in_as.as_deref());
        let alert = alert_html(message);
        let body = format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connect a device: {client}</title><link rel="stylesheet" href="/assets/login.css"></head>
<body><main>
<h1>Connect a device to <span class="client">{client}</span></h1>
{alert}
<p>Check that your device shows this code: <strong class="user-code" id="user-code">{code}</strong>.
If it does not, or you did not start this on a device of your own, choose Deny.</p>
<p><strong>{client}</strong> asks for access to your account with these permissions:</p>
<ul class="scopes">{scopes}</ul>
<form method="post" action="/device">
<input type="hidden" name="user_code" value="{code}"><input type="hidden" name="csrf" value="{csrf}">
{credentials}
<div class="actions">
<button type="submit" name="decision" value="approve" class="approve">Allow</button>
<button type="submit" name="decision" value="deny" class="deny" formnovalidate>Deny</button>
</div>
</form>
</main></body></html>"#,
            client = escape(pending.client.client_id()),
            code = escape(&pending.user_code),
            csrf = escape(&csrf),
        );
        let status = if message.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        let mut response = html(status, body);
        let cookie = self.cookie(CSRF_COOKIE, &browser, "Strict", 3600);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
        response
    }
}

/// The code entry form (a `GET` form: looking a code up changes nothing).
fn entry_page(status: StatusCode, message: Option<&str>) -> axum::response::Response {
    let alert = alert_html(message);
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connect a device</title><link rel="stylesheet" href="/assets/login.css"></head>
<body><main>
<h1>Connect a device</h1>
{alert}
<form method="get" action="/device">
<label for="user_code">Enter the code shown on your device</label>
<input id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX" required autofocus>
<div class="actions"><button type="submit" class="approve">Continue</button></div>
</form>
</main></body></html>"#
    );
    html(status, body)
}

/// The page after the decision.
fn done_page(message: &str) -> axum::response::Response {
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connect a device</title><link rel="stylesheet" href="/assets/login.css"></head>
<body><main><h1>Connect a device</h1><p class="done" role="status">{}</p></main></body></html>"#,
        escape(message)
    );
    html(StatusCode::OK, body)
}

/// An HTML page that cannot be framed, sniffed or cached, posting only here.
fn html(status: StatusCode, body: String) -> axum::response::Response {
    let mut response = Response::html(status, body);
    response.insert_header(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    let mut response = into_axum(response);
    let out = response.headers_mut();
    out.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    out.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    out.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}
