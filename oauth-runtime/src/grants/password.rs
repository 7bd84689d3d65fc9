//! The resource owner password credentials grant (RFC 6749 §4.3). Insecure
//! (RFC 9700 §2.4 forbids it) and therefore opt-in only.

use std::net::IpAddr;
use std::time::Duration;

use crate::model::{ClientModel as _, ClientModelExt as _, SubjectToken, UserModel};
use crate::offload::OffloadError;
use crate::server::{GrantRequest, TokenResponse};
use crate::storage::UserStorage;
use crate::{ErrorCode, OAuthError, Policy, scope, verify_password, verify_password_of_unknown_user};

use super::{Issue, issue, refresh_for, storage_error};

/// The one answer for an unknown user and a wrong password, so that neither
/// the body nor the status tells them apart.
const BAD_CREDENTIALS: &str = "invalid username or password";

/// Exchanges a username and password for tokens.
///
/// # Errors
///
/// `invalid_request` for a missing username or password; `invalid_scope` for
/// a scope outside the client's; `invalid_grant` for wrong credentials, and
/// `429` (`invalid_grant`, `Retry-After`) while the username or the source
/// address is locked out; `temporarily_unavailable` when too many password
/// checks are waiting.
pub async fn exchange<S>(
    storage: &S,
    request: GrantRequest<'_, S::Client>,
) -> Result<TokenResponse, OAuthError>
where
    S: UserStorage,
    S::Token: SubjectToken,
{
    let params = request.params;
    let username = params.require("username")?;
    let password = params.require("password")?;
    let client = request.client;
    let scope = scope::resolve(params.get("scope"), &client.allowed_scope())?;

    let user = match sign_in(storage, request.policy, username, password, request.peer).await? {
        SignIn::Valid(user) => user,
        SignIn::Invalid => return Err(OAuthError::invalid_grant(BAD_CREDENTIALS)),
        SignIn::LockedOut(retry_after) => return Err(locked_out(retry_after)),
    };
    let subject = user.subject().to_owned();
    issue(
        storage,
        request.policy,
        request.now,
        Issue {
            client_id: client.client_id(),
            subject: Some(subject),
            scope,
            refresh_scope: None,
            family: None,
            refresh: refresh_for(request.policy, client),
            jkt: request.dpop_jkt,
        },
    )
    .await
}

/// The answer while a username or address is locked out.
fn locked_out(retry_after: Duration) -> OAuthError {
    OAuthError::too_many_attempts(
        ErrorCode::InvalidGrant,
        "too many failed sign-ins; retry later",
        retry_after,
    )
}

/// The outcome of [`sign_in`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SignIn<U> {
    /// The password is the user's.
    Valid(U),
    /// An unknown user or a wrong password (one answer for both).
    Invalid,
    /// Too many failures for this username or from this address: refused
    /// without checking, for this long.
    LockedOut(Duration),
}

/// Checks a username and password the way every password path must: the
/// [`PasswordBudgets`](crate::throttle::PasswordBudgets) of the policy first
/// (a locked-out username or address is refused even with the right
/// password, which would otherwise stand out from the refusals and let the
/// guessing go on), then the user's argon2 hash through the policy's
/// bounded offload, with the same work for an unknown user; a failure
/// counts against the username and the address (in the budgets' shared
/// store too, when they have one: a store error is logged, never the
/// answer).
///
/// The password grant calls it; so must a login page, so that one budget
/// covers both.
///
/// # Errors
///
/// The storage's error, and `temporarily_unavailable` (503) when the
/// offload has no room for another password check.
pub async fn sign_in<S: UserStorage>(
    storage: &S,
    policy: &Policy,
    username: &str,
    password: &str,
    peer: Option<IpAddr>,
) -> Result<SignIn<S::User>, OAuthError> {
    let budgets = policy.password_budgets();
    if let Err(retry_after) = budgets.check(username, peer) {
        return Ok(SignIn::LockedOut(retry_after));
    }
    let user = storage.user_by_username(username).await.map_err(storage_error)?;
    let hash = user.as_ref().map(|user| user.password_hash().to_owned());
    match (verify_user_password(policy, password, hash).await?, user) {
        (true, Some(user)) => Ok(SignIn::Valid(user)),
        _ => {
            budgets.record_failure_async(username, peer).await;
            Ok(SignIn::Invalid)
        }
    }
}

/// Verifies `password` against a user's argon2 hash, or spends the same work
/// for an unknown user (`None`) so that both answer alike, on the policy's
/// offload when it has one ([`Policy::with_offload`]). It counts no
/// failure: password paths call [`sign_in`].
///
/// # Errors
///
/// `temporarily_unavailable` when the offload has no room for another
/// check ([`Offload::with_limit`](crate::Offload::with_limit)),
/// `server_error` when the offload did not run it.
pub async fn verify_user_password(
    policy: &Policy,
    password: &str,
    hash: Option<String>,
) -> Result<bool, OAuthError> {
    let check = move |password: &str| match &hash {
        Some(hash) => verify_password(password, hash),
        None => {
            verify_password_of_unknown_user(password);
            false
        }
    };
    match policy.offload() {
        None => Ok(check(password)),
        Some(offload) => {
            let password = password.to_owned();
            offload
                .run(move || check(&password))
                .await
                .map_err(|error| match error {
                    OffloadError::Busy => {
                        tracing::warn!("too many password checks at once: refused one");
                        OAuthError::temporarily_unavailable(
                            "too many sign-ins are being checked; retry in a moment",
                        )
                    }
                    _ => {
                        tracing::error!("the password check did not run on the offload");
                        OAuthError::server_error()
                    }
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::grants::test_support::*;
    use crate::{GrantType, Policy, TokenHash, storage::Storage as _};

    #[tokio::test]
    async fn issues_tokens_for_the_user_with_refresh_when_the_client_may_refresh() {
        let server = server();
        let response = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=password&username=alice&password=wonderland&scope=read",
        )
        .await;
        let body = ok_body(&response);
        assert_eq!(body["scope"], "read");
        assert!(body["refresh_token"].is_string());
        let token = body["access_token"].as_str().unwrap();
        let stored = server
            .storage()
            .access_token(&TokenHash::of(token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.subject.as_deref(), Some("user-1"));
    }

    #[tokio::test]
    async fn no_refresh_token_for_a_client_without_the_refresh_grant() {
        let server = server();
        let response = post(
            &server,
            None,
            "grant_type=password&username=alice&password=wonderland&client_id=post&client_secret=post-secret",
        )
        .await;
        assert!(ok_body(&response).get("refresh_token").is_none());
    }

    #[tokio::test]
    async fn no_refresh_token_when_the_server_does_not_enable_refresh() {
        let server = server_with(Policy::new([GrantType::Password]));
        let response = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=password&username=alice&password=wonderland",
        )
        .await;
        assert!(ok_body(&response).get("refresh_token").is_none());
    }

    #[tokio::test]
    async fn unknown_user_and_wrong_password_answer_identically() {
        let server = server();
        let wrong = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=password&username=alice&password=nope",
        )
        .await;
        let unknown = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=password&username=bob&password=wonderland",
        )
        .await;
        assert_eq!(wrong.status(), 400);
        assert_eq!(error_of(&wrong), "invalid_grant");
        assert_eq!(wrong.status(), unknown.status());
        assert_eq!(wrong.body(), unknown.body());
        assert_eq!(server.storage().token_count(), 0);
    }

    #[tokio::test]
    async fn every_password_check_runs_on_the_offload_when_one_is_set() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let jobs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&jobs);
        let offload = crate::Offload::new(move |job| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                let _ = std::thread::spawn(job).join();
            }
        });
        let server = server().configure(|policy| policy.with_offload(offload));
        let web = Some(("web", "web-secret"));
        for (body, ok) in [
            ("grant_type=password&username=alice&password=wonderland", true),
            ("grant_type=password&username=alice&password=nope", false),
            ("grant_type=password&username=bob&password=wonderland", false),
        ] {
            let response = post(&server, web, body).await;
            assert_eq!(response.status() == 200, ok, "{body}");
        }
        // The unknown user's dummy check runs there too, so timing stays alike.
        assert_eq!(jobs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_offload_that_does_not_run_the_check_is_server_error() {
        let offload = crate::Offload::new(|job| {
            drop(job);
            async {}
        });
        let server = server().configure(|policy| policy.with_offload(offload));
        let body = "grant_type=password&username=alice&password=wonderland";
        let response = post(&server, Some(("web", "web-secret")), body).await;
        assert_eq!(error_of(&response), "server_error");
        assert_eq!(server.storage().token_count(), 0);
    }

    #[tokio::test]
    async fn missing_username_or_password_is_invalid_request() {
        let server = server();
        for body in [
            "grant_type=password&password=wonderland",
            "grant_type=password&username=alice",
        ] {
            let response = post(&server, Some(("web", "web-secret")), body).await;
            assert_eq!(error_of(&response), "invalid_request", "{body}");
        }
    }

    #[tokio::test]
    async fn wider_scope_is_invalid_scope() {
        let server = server();
        let response = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=password&username=alice&password=wonderland&scope=admin",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_scope");
    }

    #[tokio::test]
    async fn disabled_by_default() {
        let server = server_with(Policy::new([GrantType::ClientCredentials]));
        let response = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=password&username=alice&password=wonderland",
        )
        .await;
        assert_eq!(error_of(&response), "unsupported_grant_type");
    }
}
