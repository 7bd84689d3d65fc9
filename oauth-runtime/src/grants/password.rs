//! The resource owner password credentials grant (RFC 6749 §4.3). Insecure
//! (RFC 9700 §2.4 forbids it) and therefore opt-in only.

use crate::model::{ClientModel as _, ClientModelExt as _, SubjectToken, UserModel};
use crate::server::{GrantRequest, TokenResponse};
use crate::storage::UserStorage;
use crate::{OAuthError, Policy, scope, verify_password, verify_password_of_unknown_user};

use super::{Issue, issue, refresh_for, storage_error};

/// The one answer for an unknown user and a wrong password, so that neither
/// the body nor the status tells them apart.
const BAD_CREDENTIALS: &str = "invalid username or password";

/// Exchanges a username and password for tokens.
///
/// # Errors
///
/// `invalid_request` for a missing username or password; `invalid_scope` for
/// a scope outside the client's; `invalid_grant` for wrong credentials.
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

    let user = storage.user_by_username(username).await.map_err(storage_error)?;
    let hash = user.as_ref().map(|user| user.password_hash().to_owned());
    if !verify_user_password(request.policy, password, hash).await? {
        return Err(OAuthError::invalid_grant(BAD_CREDENTIALS));
    }
    let Some(user) = user else {
        return Err(OAuthError::invalid_grant(BAD_CREDENTIALS));
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
        },
    )
    .await
}

/// Verifies `password` against a user's argon2 hash, or spends the same work
/// for an unknown user (`None`) so that both answer alike, on the policy's
/// offload when it has one ([`Policy::with_offload`]). The password grant
/// uses it; so should a login page.
///
/// # Errors
///
/// `server_error` when the offload did not run the check.
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
            offload.run(move || check(&password)).await.ok_or_else(|| {
                tracing::error!("the password check did not run on the offload");
                OAuthError::server_error()
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
