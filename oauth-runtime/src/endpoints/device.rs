//! The device authorization endpoint (RFC 8628 §3.1–§3.2) and the two
//! steps of the verification page in front of it: finding the authorization
//! of a user code (under the user-code failure budget), and recording the
//! user's decision.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use http::StatusCode;
use serde::Serialize;

use crate::client_auth::authenticate;
use crate::device::{
    DeviceAuthorization, DeviceStatus, POLL_INTERVAL_SECS, VERIFICATION_PATH, generate_user_code,
    not_enabled, user_code_hash,
};
use crate::model::{ClientModel as _, ClientModelExt as _};
use crate::server::{Grants, Server, now};
use crate::throttle::{source_key, unix_millis};
use crate::{GrantType, NewToken, OAuthError, Request, Response, Scope, TokenHash, scope};

/// The answer of the device authorization endpoint (RFC 8628 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeviceAuthorizationResponse {
    /// The device code, for the token endpoint only.
    pub device_code: String,
    /// The code the user enters, `XXXX-XXXX`.
    pub user_code: String,
    /// The verification page.
    pub verification_uri: String,
    /// The verification page with the user code filled in.
    pub verification_uri_complete: String,
    /// The lifetime of both codes in seconds.
    pub expires_in: u64,
    /// How many seconds the device waits between polls.
    pub interval: i64,
}

/// A device authorization found by its user code, waiting for the user's
/// decision: what the verification page shows (the client and the scope)
/// before the user approves or denies.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PendingDevice<C> {
    /// The client that asked.
    pub client: C,
    /// The scope it asked for.
    pub scope: Scope,
    /// The user code, normalized and shown as `XXXX-XXXX`.
    pub user_code: String,
    /// When the codes expire.
    pub expires_at: crate::UnixTime,
    user_code_hash: TokenHash,
}

/// Why the verification page cannot show a user code's authorization.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceLookupError {
    /// No pending, unexpired authorization has this user code (or it is not
    /// a user code at all). Counted against the source's budget.
    #[error("the code is invalid, expired or already used")]
    NotFound,
    /// Too many wrong codes from this source: refused, even the right code,
    /// until the lock-out passes.
    #[error("too many wrong codes: try again in {} s", retry_after.as_secs().max(1))]
    LockedOut {
        /// How long the lock-out lasts.
        retry_after: Duration,
    },
    /// Storage failed, or the policy does not enable the device grant.
    #[error("{0}")]
    Failed(OAuthError),
}

/// The budget's key for a source address; requests without one share a key.
fn budget_key(source: Option<IpAddr>) -> TokenHash {
    source.map_or_else(|| TokenHash::digest("device:unknown-source"), source_key)
}

impl<S: Grants> Server<S> {
    /// Handles a device authorization request and renders the response:
    /// `200` with the RFC 8628 §3.2 JSON (`Cache-Control: no-store`), or the
    /// RFC 6749 error JSON.
    pub async fn device_authorization(&self, request: &Request<'_>) -> Response {
        match self.start_device_authorization(request).await {
            Ok(started) => Response::from_json(StatusCode::OK, &started),
            Err(error) => {
                tracing::debug!(error = %error, "device authorization request refused");
                error.into_response()
            }
        }
    }

    /// Authenticates the client as at the token endpoint, checks that it
    /// may use the device grant and the scope it asks for, and stores a new
    /// device authorization (both codes hashed).
    ///
    /// # Errors
    ///
    /// `invalid_request` when the policy does not enable the device grant;
    /// `invalid_client` when client authentication fails;
    /// `unauthorized_client` when the client may not use the grant;
    /// `invalid_scope` for a scope outside the client's; `server_error`
    /// without an issuer (the verification URI is the issuer's) or on
    /// storage failure.
    pub async fn start_device_authorization(
        &self,
        request: &Request<'_>,
    ) -> Result<DeviceAuthorizationResponse, OAuthError> {
        let policy = self.policy();
        if !policy.enables(GrantType::DeviceCode) {
            return Err(not_enabled());
        }
        let params = request.form()?;
        let client = authenticate(self, request, &params).await?.client;
        if !client.allows_grant(GrantType::DeviceCode.as_str()) {
            return Err(OAuthError::unauthorized_client(
                "the client may not use the device authorization grant",
            ));
        }
        let scope = scope::resolve(params.get("scope"), &client.allowed_scope())?;
        let Some(issuer) = policy.issuer() else {
            tracing::error!("the device grant needs the issuer: set it with `Policy::with_issuer`");
            return Err(OAuthError::server_error());
        };
        let device_code = NewToken::generate()?;
        let user_code = generate_user_code()?;
        let user_code_hash = user_code_hash(&user_code).ok_or_else(OAuthError::server_error)?;
        let lifetime = policy.device_code_ttl().as_secs();
        self.storage()
            .save_device_authorization(DeviceAuthorization {
                device_code: device_code.hash(),
                user_code: user_code_hash,
                client_id: client.client_id().to_owned(),
                scope,
                expires_at: now().saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
                interval: POLL_INTERVAL_SECS,
                last_polled_at: None,
                status: DeviceStatus::Pending,
            })
            .await?;
        let verification_uri = format!("{issuer}{VERIFICATION_PATH}");
        Ok(DeviceAuthorizationResponse {
            verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
            verification_uri,
            device_code: device_code.into_value(),
            user_code,
            expires_in: lifetime,
            interval: POLL_INTERVAL_SECS,
        })
    }

    /// Finds the pending authorization of a user code as typed (case,
    /// dashes and spaces do not matter), for the verification page to show
    /// before the user decides. Every code that finds nothing counts against
    /// the budget of `source` ([`Policy::user_code_budget`](crate::Policy::user_code_budget));
    /// once it is spent, every code is refused until the lock-out passes.
    ///
    /// # Errors
    ///
    /// [`DeviceLookupError`].
    pub async fn find_device_authorization(
        &self,
        user_code: &str,
        source: Option<IpAddr>,
    ) -> Result<PendingDevice<S::Client>, DeviceLookupError> {
        if !self.policy().enables(GrantType::DeviceCode) {
            return Err(DeviceLookupError::Failed(not_enabled()));
        }
        let budget = self.policy().user_code_budget();
        let key = budget_key(source);
        if let Err(retry_after) = budget.check_at(&key, Instant::now()) {
            return Err(DeviceLookupError::LockedOut { retry_after });
        }
        let found = match user_code_hash(user_code) {
            Some(hash) => self
                .storage()
                .device_authorization_by_user_code(&hash)
                .await
                .map_err(DeviceLookupError::Failed)?,
            None => None,
        };
        let now = now();
        let found = found.filter(|f| f.status == DeviceStatus::Pending && f.expires_at > now);
        let client = match &found {
            Some(found) => self
                .storage()
                .client(&found.client_id)
                .await
                .map_err(|e| DeviceLookupError::Failed(OAuthError::storage(&e)))?,
            None => None,
        };
        let (Some(found), Some(client)) = (found, client) else {
            budget
                .record_failure_async_at(key, Instant::now(), unix_millis())
                .await;
            return Err(DeviceLookupError::NotFound);
        };
        let normalized = crate::device::normalize_user_code(user_code).unwrap_or_default();
        let (first, second) = normalized.split_at(normalized.len() / 2);
        Ok(PendingDevice {
            client,
            scope: found.scope,
            user_code: format!("{first}-{second}"),
            expires_at: found.expires_at,
            user_code_hash: found.user_code,
        })
    }

    /// Records the user's decision on a device authorization the page
    /// showed: `Some((subject, auth_time))` approves for that user, `None`
    /// denies. `false` when it was decided already (or has gone).
    ///
    /// # Errors
    ///
    /// `server_error` (or `temporarily_unavailable`) when storage fails.
    pub async fn decide_device_authorization(
        &self,
        pending: &PendingDevice<S::Client>,
        approved_for: Option<(&str, crate::UnixTime)>,
    ) -> Result<bool, OAuthError> {
        let status = match approved_for {
            Some((subject, auth_time)) => DeviceStatus::Approved {
                subject: subject.to_owned(),
                auth_time,
            },
            None => DeviceStatus::Denied,
        };
        self.storage()
            .decide_device_authorization(&pending.user_code_hash, status)
            .await
    }
}

#[cfg(test)]
mod tests {
    use http::header::{AUTHORIZATION, CONTENT_TYPE};
    use http::{HeaderMap, HeaderValue, Method};

    use super::DeviceLookupError;
    use crate::grants::test_support::*;
    use crate::throttle::{AuthFailureLimit, AuthFailureLimiter};
    use crate::{MemoryStore, Request, Server};

    const ISSUER: &str = "https://as.example";

    fn device_server(max_failures: u32) -> Server<MemoryStore> {
        server_with(
            all_grants()
                .with_issuer(ISSUER)
                .with_user_code_budget(AuthFailureLimiter::new(
                    AuthFailureLimit::default().with_max_failures(max_failures),
                )),
        )
    }

    async fn user_code(server: &Server<MemoryStore>) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic d2ViOndlYi1zZWNyZXQ="),
        );
        let response = server
            .device_authorization(&Request::new(&Method::POST, &headers).with_body(b"scope=read"))
            .await;
        response.json()["user_code"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn the_page_finds_a_code_however_typed_and_shows_the_client() {
        let server = device_server(10);
        let code = user_code(&server).await;
        let typed = code.to_lowercase().replace('-', " ");
        let pending = server.find_device_authorization(&typed, None).await.unwrap();
        assert_eq!(pending.user_code, code);
        assert_eq!(crate::model::ClientModel::client_id(&pending.client), "web");
        assert_eq!(pending.scope.to_string(), "read");
        assert!(
            server
                .decide_device_authorization(&pending, Some(("user-1", 0)))
                .await
                .unwrap()
        );
        // Decided: the page no longer finds it.
        assert!(matches!(
            server.find_device_authorization(&code, None).await,
            Err(DeviceLookupError::NotFound)
        ));
    }

    #[tokio::test]
    async fn wrong_codes_spend_the_sources_budget_then_even_the_right_one_is_refused() {
        let server = device_server(3);
        let code = user_code(&server).await;
        let source = Some("192.0.2.7".parse().unwrap());
        for wrong in ["BBBB-BBBB", "not a code", "CCCC-CCCC"] {
            assert!(matches!(
                server.find_device_authorization(wrong, source).await,
                Err(DeviceLookupError::NotFound)
            ));
        }
        assert!(matches!(
            server.find_device_authorization(&code, source).await,
            Err(DeviceLookupError::LockedOut { .. })
        ));
        // Another source is not locked.
        assert!(
            server
                .find_device_authorization(&code, Some("192.0.2.8".parse().unwrap()))
                .await
                .is_ok()
        );
    }
}
