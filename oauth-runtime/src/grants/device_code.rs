//! The device authorization grant's token request (RFC 8628 §3.4–§3.5):
//! the device polls with its device code until the user decided.
//!
//! While the authorization is pending each poll is recorded, and a poll
//! sooner than the interval after the previous one answers `slow_down` and
//! raises the interval by 5 seconds for good. Once the user decided, the
//! authorization is taken from storage atomically, so its tokens (or its
//! `access_denied`) are answered once; any later use of the device code is
//! `invalid_grant`.

use crate::device::{DeviceStatus, SLOW_DOWN_SECS};
use crate::model::{ClientModel, CodeRecord, SubjectToken};
use crate::oidc::{OPENID_SCOPE, id_token};
use crate::server::{GrantRequest, TokenResponse};
use crate::storage::DeviceStorage;
use crate::{ErrorCode, OAuthError, TokenHash};

use super::{Issue, mint, refresh_for, save, storage_error};

/// What an unknown, used or foreign device code gets: one answer, so that a
/// client cannot tell another client's device code from no code.
const INVALID_DEVICE_CODE: &str = "the device code is invalid or already used";

/// Exchanges a device code for tokens once the user approved.
///
/// # Errors
///
/// `invalid_request` without `device_code`; `authorization_pending` while
/// the user has not decided; `slow_down` when polled sooner than the
/// interval; `access_denied` when the user denied; `expired_token` after
/// the codes expired; `invalid_grant` for an unknown or used device code or
/// one issued to another client; `server_error` on storage failure.
pub async fn exchange<S>(
    storage: &S,
    request: GrantRequest<'_, S::Client>,
) -> Result<TokenResponse, OAuthError>
where
    S: DeviceStorage,
    S::Token: SubjectToken,
{
    let hash = TokenHash::of(request.params.require("device_code")?);
    let client = request.client;
    let now = request.now;
    let found = storage
        .device_authorization(&hash)
        .await
        .map_err(storage_error)?
        .filter(|found| found.client_id == client.client_id())
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_DEVICE_CODE))?;
    if found.expires_at <= now {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device code has expired: start a new device authorization",
        ));
    }
    if found.status == DeviceStatus::Pending {
        let too_fast = found
            .last_polled_at
            .is_some_and(|last| now.saturating_sub(last) < found.interval);
        let interval = if too_fast {
            found.interval.saturating_add(SLOW_DOWN_SECS)
        } else {
            found.interval
        };
        storage
            .record_device_poll(&hash, now, interval)
            .await
            .map_err(storage_error)?;
        return Err(if too_fast {
            OAuthError::new(
                ErrorCode::SlowDown,
                "polling too fast: the interval is raised by 5 seconds",
            )
        } else {
            OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not yet approved or denied the request",
            )
        });
    }
    // Decided: taken once, whatever the outcome.
    let taken = storage
        .take_device_authorization(&hash, client.client_id())
        .await
        .map_err(storage_error)?
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_DEVICE_CODE))?;
    let (subject, auth_time) = match taken.status {
        DeviceStatus::Approved { subject, auth_time } => (subject, auth_time),
        DeviceStatus::Denied => {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the authorization request",
            ));
        }
        DeviceStatus::Pending => return Err(OAuthError::invalid_grant(INVALID_DEVICE_CODE)),
    };
    let (record, mut response) = mint(
        request.policy,
        now,
        Issue {
            client_id: client.client_id(),
            subject: Some(subject.clone()),
            scope: taken.scope.clone(),
            refresh_scope: None,
            family: None,
            refresh: refresh_for(request.policy, client),
            jkt: request.dpop_jkt,
        },
    )?;
    // OpenID Connect: an id_token only when the user granted `openid`.
    if let Some(alg) = request
        .policy
        .openid()
        .filter(|_| taken.scope.contains(OPENID_SCOPE))
    {
        let as_code = CodeRecord {
            code: hash,
            client_id: taken.client_id.clone(),
            redirect_uri: None,
            scope: taken.scope.clone(),
            subject,
            code_challenge: None,
            code_challenge_method: None,
            nonce: None,
            auth_time: Some(auth_time),
            expires_at: taken.expires_at,
        };
        response.id_token = Some(id_token::issue(&request, alg, &as_code, &response.access_token)?);
    }
    save(storage, record).await?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use crate::device::{DeviceStatus, user_code_hash};
    use crate::grants::test_support::*;
    use crate::storage::{DeviceStorage as _, Storage as _};
    use crate::{MemoryStore, Request, Server, TokenHash, now};

    type TestServer = Server<MemoryStore>;

    const ISSUER: &str = "https://as.example";

    fn server() -> TestServer {
        server_with(all_grants().with_issuer(ISSUER))
    }

    /// Form headers, with Basic credentials when given.
    fn form_headers(basic: Option<(&str, &str)>) -> http::HeaderMap {
        use base64::Engine as _;
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let Some((id, secret)) = basic {
            let value = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
            );
            headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&value).unwrap(),
            );
        }
        headers
    }

    /// Starts a device authorization for `client` (Basic when `secret`).
    async fn start(server: &TestServer, client: &str, secret: Option<&str>) -> serde_json::Value {
        let body = match secret {
            Some(_) => "scope=read".to_owned(),
            None => format!("client_id={client}&scope=read"),
        };
        let headers = form_headers(secret.map(|s| (client, s)));
        let response = server
            .device_authorization(&Request::new(&http::Method::POST, &headers).with_body(body.as_bytes()))
            .await;
        assert_eq!(response.status(), 200, "{:?}", response.json());
        response.json()
    }

    fn poll_body(device_code: &str) -> String {
        format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={device_code}")
    }

    async fn poll(server: &TestServer, device_code: &str) -> crate::Response {
        post(server, Some(("web", "web-secret")), &poll_body(device_code)).await
    }

    /// Sets the last poll far enough back that the next poll is on time.
    async fn rewind_poll(server: &TestServer, device_code: &str) {
        server
            .storage()
            .record_device_poll(&TokenHash::of(device_code), now() - 3600, 5)
            .await
            .unwrap();
    }

    async fn decide(server: &TestServer, user_code: &str, status: DeviceStatus) -> bool {
        server
            .storage()
            .decide_device_authorization(&user_code_hash(user_code).unwrap(), status)
            .await
            .unwrap()
    }

    fn approved() -> DeviceStatus {
        DeviceStatus::Approved {
            subject: "user-1".into(),
            auth_time: now(),
        }
    }

    #[tokio::test]
    async fn the_device_authorization_response_follows_rfc_8628() {
        let server = server();
        let body = start(&server, "web", Some("web-secret")).await;
        let user_code = body["user_code"].as_str().unwrap();
        assert_eq!(user_code.len(), 9);
        assert!(body["device_code"].as_str().unwrap().len() >= 43);
        assert_eq!(body["interval"], 5);
        assert_eq!(body["expires_in"], 600);
        assert_eq!(body["verification_uri"], format!("{ISSUER}/device"));
        assert_eq!(
            body["verification_uri_complete"],
            format!("{ISSUER}/device?user_code={user_code}")
        );
        // Stored by hashes only.
        let stored = server
            .storage()
            .device_authorization_by_user_code(&user_code_hash(user_code).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.device_code,
            TokenHash::of(body["device_code"].as_str().unwrap())
        );
        assert!(!format!("{stored:?}").contains(user_code));
    }

    #[tokio::test]
    async fn pending_then_slow_down_then_tokens_once() {
        let server = server();
        let body = start(&server, "web", Some("web-secret")).await;
        let device_code = body["device_code"].as_str().unwrap();
        let user_code = body["user_code"].as_str().unwrap();

        assert_eq!(
            error_of(&poll(&server, device_code).await),
            "authorization_pending"
        );
        // At once again: too fast, and the interval stays raised.
        assert_eq!(error_of(&poll(&server, device_code).await), "slow_down");
        let stored = server
            .storage()
            .device_authorization(&TokenHash::of(device_code))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.interval, 10);

        assert!(decide(&server, user_code, approved()).await);
        // Decided once: a second decision changes nothing.
        assert!(!decide(&server, user_code, DeviceStatus::Denied).await);
        rewind_poll(&server, device_code).await;
        let response = poll(&server, device_code).await;
        let tokens = ok_body(&response);
        assert_eq!(tokens["scope"], "read");
        assert!(tokens["refresh_token"].is_string());
        let stored = server
            .storage()
            .access_token(&TokenHash::of(tokens["access_token"].as_str().unwrap()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.subject.as_deref(), Some("user-1"));
        // Single use.
        rewind_poll(&server, device_code).await;
        assert_eq!(error_of(&poll(&server, device_code).await), "invalid_grant");
    }

    #[tokio::test]
    async fn denied_is_access_denied_once() {
        let server = server();
        let body = start(&server, "web", Some("web-secret")).await;
        let device_code = body["device_code"].as_str().unwrap();
        assert!(decide(&server, body["user_code"].as_str().unwrap(), DeviceStatus::Denied).await);
        assert_eq!(error_of(&poll(&server, device_code).await), "access_denied");
        assert_eq!(error_of(&poll(&server, device_code).await), "invalid_grant");
    }

    #[tokio::test]
    async fn an_expired_device_code_is_expired_token() {
        let server = server_with(
            crate::Policy::new(crate::GrantType::ALL)
                .with_issuer(ISSUER)
                .with_device_code_ttl(std::time::Duration::ZERO),
        );
        let body = start(&server, "web", Some("web-secret")).await;
        let device_code = body["device_code"].as_str().unwrap();
        assert_eq!(error_of(&poll(&server, device_code).await), "expired_token");
    }

    #[tokio::test]
    async fn another_clients_device_code_is_invalid_grant_and_stays_usable() {
        let server = server();
        let body = start(&server, "spa", None).await;
        let device_code = body["device_code"].as_str().unwrap();
        assert!(decide(&server, body["user_code"].as_str().unwrap(), approved()).await);
        let unknown = poll(&server, "no-such-code").await;
        let foreign = poll(&server, device_code).await;
        assert_eq!(error_of(&foreign), "invalid_grant");
        assert_eq!(foreign.body(), unknown.body());
        // The rightful client still redeems it.
        let response = post(
            &server,
            None,
            &format!("{}&client_id=spa", poll_body(device_code)),
        )
        .await;
        ok_body(&response);
    }

    #[tokio::test]
    async fn the_grant_needs_the_clients_permission_and_a_known_scope() {
        let server = server();
        // `svc` may only use client_credentials.
        let headers = form_headers(Some(("svc", "svc-secret")));
        let response = server
            .device_authorization(&Request::new(&http::Method::POST, &headers).with_body(b"scope=read"))
            .await;
        assert_eq!(error_of(&response), "unauthorized_client");
        let headers = form_headers(Some(("web", "web-secret")));
        let response = server
            .device_authorization(&Request::new(&http::Method::POST, &headers).with_body(b"scope=admin"))
            .await;
        assert_eq!(error_of(&response), "invalid_scope");
        let response = server
            .device_authorization(&Request::new(&http::Method::POST, &headers).with_body(b"scope=read"))
            .await;
        assert_eq!(response.status(), 200);
        let headers = form_headers(Some(("web", "wrong")));
        let response = server
            .device_authorization(&Request::new(&http::Method::POST, &headers).with_body(b"scope=read"))
            .await;
        assert_eq!(error_of(&response), "invalid_client");
    }
}
