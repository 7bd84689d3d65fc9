//! Client authentication at the token endpoint (RFC 6749 §2.3.1):
//! `client_secret_basic`, `client_secret_post`, `none` for public clients,
//! and, when the policy accepts it, `private_key_jwt` (RFC 7523 §2.2, see
//! [`crate::assertion`]). Every endpoint that authenticates clients (token,
//! revocation, introspection, pushed authorization requests) calls
//! [`authenticate`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;

use crate::assertion::{self, JWT_BEARER, UnverifiedAssertion};
use crate::endpoints::metadata::EndpointPaths;
use crate::model::{AuthMethod, ClientModel};
use crate::server::{Grants, Server, now};
use crate::{OAuthError, Params, Request, verify_client_secret};

/// A client that proved who it is.
#[derive(Debug)]
pub struct AuthenticatedClient<C> {
    /// The client's model, as storage returned it.
    pub client: C,
    /// How it authenticated.
    pub method: AuthMethod,
}

/// Credentials as presented, before they are checked.
#[derive(Debug)]
struct Presented<'a> {
    client_id: String,
    secret: Option<crate::Secret>,
    method: AuthMethod,
    /// A client assertion, as sent and as read (unverified).
    assertion: Option<(&'a str, UnverifiedAssertion)>,
}

/// Authenticates the client of a request to `server`'s token, revocation,
/// introspection or pushed authorization request endpoint.
///
/// # Errors
///
/// `invalid_request` when two methods are used at once or the Basic header is
/// malformed; `invalid_client` when the client is unknown, uses another
/// method than it is registered with, its secret is wrong (`401` with a
/// Basic challenge when Basic was used), or its client assertion does not
/// verify, is replayed, or `private_key_jwt` is not enabled.
pub async fn authenticate<S: Grants>(
    server: &Server<S>,
    request: &Request<'_>,
    params: &Params<'_>,
) -> Result<AuthenticatedClient<S::Client>, OAuthError> {
    let storage = server.storage();
    let presented = presented_credentials(request, params)?;
    let used_basic = presented.method == AuthMethod::ClientSecretBasic;
    let fail = |description: &'static str| {
        let err = OAuthError::invalid_client(description);
        if used_basic {
            err.with_basic_challenge()
        } else {
            err
        }
    };

    let client = storage
        .client(&presented.client_id)
        .await
        .map_err(|e| OAuthError::storage(&e))?;
    let Some(client) = client else {
        // Spend the same work as a real check so timing does not reveal ids.
        if let Some(secret) = &presented.secret {
            let _ = verify_client_secret(secret.expose(), &crate::hash_client_secret(""));
        }
        return Err(fail("client authentication failed"));
    };

    let Some(registered) = client.auth_method() else {
        return Err(fail(
            "the client is registered with an unsupported authentication method",
        ));
    };
    if registered != presented.method {
        return Err(fail(match registered {
            AuthMethod::ClientSecretBasic => "the client must authenticate with client_secret_basic",
            AuthMethod::ClientSecretPost => "the client must authenticate with client_secret_post",
            AuthMethod::None => "the client is public and must not send a secret",
            AuthMethod::PrivateKeyJwt => "the client must authenticate with private_key_jwt",
        }));
    }
    if let Some((token, parsed)) = &presented.assertion {
        check_assertion(server, &client, token, parsed)
            .await
            .map_err(|e| {
                tracing::debug!(error = %e, "client assertion refused");
                fail("client authentication failed")
            })?;
        return Ok(AuthenticatedClient {
            client,
            method: presented.method,
        });
    }
    match (&presented.secret, client.secret_hash()) {
        (None, None) => {}
        (Some(secret), Some(stored)) if verify_client_secret(secret.expose(), stored) => {}
        _ => return Err(fail("client authentication failed")),
    }
    Ok(AuthenticatedClient {
        client,
        method: presented.method,
    })
}

/// Verifies a client assertion for `client` and uses up its `jti`.
async fn check_assertion<S: Grants>(
    server: &Server<S>,
    client: &S::Client,
    token: &str,
    parsed: &UnverifiedAssertion,
) -> Result<(), AssertionRefused> {
    let policy = server.policy();
    if !policy.private_key_jwt() {
        return Err(AssertionRefused::NotEnabled);
    }
    // Without an issuer there is no audience to check the assertion against.
    let issuer = policy.issuer().ok_or(AssertionRefused::NoIssuer)?;
    let jwks = client.jwks().ok_or(AssertionRefused::NoKeys)?;
    let now = now();
    let verified = assertion::verify(token, parsed, client.client_id(), jwks, &audiences(issuer), now)?;
    let key = assertion::jti_key(client.client_id(), &verified.jti);
    // Kept past `exp` by the leeway, during which the assertion still verifies.
    let keep_until = verified.expires_at.saturating_add(assertion::LEEWAY_SECS);
    match server.storage().record_assertion_jti(&key, keep_until).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(AssertionRefused::Replayed),
        Err(error) => Err(AssertionRefused::Storage(error)),
    }
}

/// Why an assertion of a known client was refused (logged, never answered).
#[derive(Debug, thiserror::Error)]
enum AssertionRefused {
    #[error("private_key_jwt is not enabled")]
    NotEnabled,
    #[error("the server has no issuer to check the audience against")]
    NoIssuer,
    #[error("the client registered no jwks")]
    NoKeys,
    #[error(transparent)]
    Assertion(#[from] assertion::AssertionError),
    #[error("the client assertion's jti was already used")]
    Replayed,
    #[error("recording the jti failed: {0}")]
    Storage(OAuthError),
}

/// The audiences an assertion may name (RFC 7523 §3, OpenID Connect Core
/// §9): the issuer, or the URL of an endpoint that authenticates clients.
fn audiences(issuer: &str) -> Vec<String> {
    let issuer = issuer.trim_end_matches('/');
    let paths = EndpointPaths::default();
    let mut audiences = vec![issuer.to_owned()];
    for path in [
        &paths.token,
        &paths.pushed_authorization_request,
        &paths.revocation,
        &paths.introspection,
    ] {
        audiences.push(format!("{issuer}{path}"));
    }
    audiences
}

/// The client id a request presents, from HTTP Basic, the form body or the
/// `sub` of a client assertion, without checking anything: what a rate
/// limiter keys failed authentications by. `None` when the request names
/// no client readably.
pub fn presented_client_id(request: &Request<'_>) -> Option<String> {
    match request.authorization() {
        Ok(Some(header)) => {
            if let Ok(Some((client_id, _))) = parse_basic(header) {
                return Some(client_id);
            }
        }
        Ok(None) => {}
        Err(_) => return None,
    }
    let form = request.form().ok()?;
    if let Some(client_id) = form.get("client_id") {
        return Some(client_id.to_owned());
    }
    let assertion = form.get("client_assertion")?;
    assertion::parse(assertion).ok().map(|a| a.subject)
}

fn presented_credentials<'a>(
    request: &Request<'_>,
    params: &'a Params<'_>,
) -> Result<Presented<'a>, OAuthError> {
    let basic = match request.authorization()? {
        Some(header) => parse_basic(header)?,
        None => None,
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let assertion_type = params.get("client_assertion_type");
    let assertion = params.get("client_assertion");

    if assertion_type.is_some() || assertion.is_some() {
        if basic.is_some() || body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "the client used more than one authentication method",
            ));
        }
        let (Some(assertion_type), Some(assertion)) = (assertion_type, assertion) else {
            return Err(OAuthError::invalid_request(
                "client_assertion and client_assertion_type are sent together",
            ));
        };
        if assertion_type != JWT_BEARER {
            return Err(OAuthError::invalid_client("unsupported client_assertion_type"));
        }
        let parsed = assertion::parse(assertion)
            .map_err(|_| OAuthError::invalid_client("client authentication failed"))?;
        if body_id.is_some_and(|id| id != parsed.subject) {
            return Err(OAuthError::invalid_client(
                "client_id differs from the subject of the client assertion",
            ));
        }
        return Ok(Presented {
            client_id: parsed.subject.clone(),
            secret: None,
            method: AuthMethod::PrivateKeyJwt,
            assertion: Some((assertion, parsed)),
        });
    }

    if let Some((client_id, secret)) = basic {
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "the client used more than one authentication method",
            ));
        }
        if body_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the one in the Authorization header",
            ));
        }
        return Ok(Presented {
            client_id,
            secret: Some(crate::Secret::new(secret)),
            method: AuthMethod::ClientSecretBasic,
            assertion: None,
        });
    }
    let Some(client_id) = body_id else {
        return Err(OAuthError::invalid_client("client authentication is required").with_basic_challenge());
    };
    Ok(Presented {
        client_id: client_id.to_owned(),
        secret: body_secret.map(crate::Secret::new),
        method: if body_secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        },
        assertion: None,
    })
}

/// Parses `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`.
/// Another scheme is not client authentication and yields `None`.
fn parse_basic(header: &str) -> Result<Option<(String, String)>, OAuthError> {
    let (scheme, credentials) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = || OAuthError::invalid_client("malformed Basic credentials").with_basic_challenge();
    let decoded = STANDARD.decode(credentials.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok(Some((id, secret)))
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(component: &str) -> Option<String> {
    // Most ids and secrets have nothing to decode: one copy instead of two.
    if !component.contains(['+', '%']) {
        return Some(component.to_owned());
    }
    let spaced = component.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_components_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret+x"));
        assert_eq!(
            parse_basic(&header).unwrap(),
            Some(("my app".to_owned(), "s:cret x".to_owned()))
        );
    }

    #[test]
    fn secret_may_contain_colons() {
        let header = format!("basic {}", STANDARD.encode("app:a:b"));
        assert_eq!(parse_basic(&header).unwrap().unwrap().1, "a:b");
    }

    #[test]
    fn malformed_basic_is_invalid_client_with_challenge() {
        for bad in ["Basic !!!", "Basic", "Basic Zm9v", "Basic OnNlY3JldA=="] {
            let err = parse_basic(bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidClient, "{bad}");
            assert_eq!(err.status(), 401);
        }
    }

    #[test]
    fn presented_client_id_reads_basic_then_the_form() {
        use http::header::{AUTHORIZATION, CONTENT_TYPE};
        use http::{HeaderMap, HeaderValue, Method};
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let form = Request::new(&Method::POST, &headers).with_body(b"client_id=post&x=1");
        assert_eq!(presented_client_id(&form).as_deref(), Some("post"));
        let basic = format!("Basic {}", STANDARD.encode("my%20app:secret"));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&basic).unwrap());
        let request = Request::new(&Method::POST, &headers).with_body(b"grant_type=x");
        assert_eq!(presented_client_id(&request).as_deref(), Some("my app"));
        headers.remove(AUTHORIZATION);
        let repeated = Request::new(&Method::POST, &headers).with_body(b"client_id=a&client_id=b");
        assert_eq!(presented_client_id(&repeated), None);
    }

    #[test]
    fn presented_client_id_reads_a_client_assertions_subject() {
        use http::header::CONTENT_TYPE;
        use http::{HeaderMap, HeaderValue, Method};
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let key = crate::SigningKey::generate(crate::SigningAlg::Es256).unwrap();
        let assertion = key.sign(&serde_json::json!({"sub": "jwt-client"})).unwrap();
        let body = format!("client_assertion_type=x&client_assertion={assertion}");
        let request = Request::new(&Method::POST, &headers).with_body(body.as_bytes());
        // Unverified: only what a failure budget is keyed by.
        assert_eq!(presented_client_id(&request).as_deref(), Some("jwt-client"));
        let garbage = Request::new(&Method::POST, &headers).with_body(b"client_assertion=abc");
        assert_eq!(presented_client_id(&garbage), None);
    }

    #[test]
    fn other_schemes_are_not_client_auth() {
        assert_eq!(parse_basic("Bearer abc").unwrap(), None);
    }
}
