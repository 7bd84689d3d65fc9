//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636).
//!
//! The code is taken from storage atomically before anything else is
//! checked, so it is redeemed at most once even when the checks fail; a
//! code that is no longer there revokes whatever it issued (§4.1.2).

use crate::model::{ClientModel, ClientModelExt as _, CodeModel as _, CodeRecord, SubjectToken};
use crate::server::{GrantRequest, TokenResponse};
use crate::storage::CodeStorage;
use crate::{OAuthError, Params, PkceMethod, PkcePolicy, Policy, TokenHash, pkce};

use super::{Issue, family_of_code, mint, model_error, refresh_for, save, storage_error};
use crate::oidc::{OPENID_SCOPE, id_token};

/// Exchanges an authorization code for tokens.
///
/// # Errors
///
/// `invalid_request` without `code`; `invalid_grant` when the code is
/// unknown, used, expired, issued to another client or for another redirect
/// URI, or PKCE fails; `server_error` on storage failure.
pub async fn exchange<S>(
    storage: &S,
    request: GrantRequest<'_, S::Client>,
) -> Result<TokenResponse, OAuthError>
where
    S: CodeStorage,
    S::Token: SubjectToken,
{
    let params = request.params;
    let hash = TokenHash::of(params.require("code")?);
    let family = family_of_code(&hash);
    let Some(code) = storage.take_code(&hash).await.map_err(storage_error)? else {
        // Unknown or already redeemed. If it was redeemed, whoever presents it
        // again may hold a stolen code: revoke what it issued.
        storage
            .revoke_token_family(&family)
            .await
            .map_err(storage_error)?;
        return Err(OAuthError::invalid_grant(INVALID_CODE));
    };
    let code = code.into_record().map_err(model_error)?;
    let client = request.client;
    check_code(&code, client, params, request.policy, request.now)?;
    let (record, mut response) = mint(
        request.policy,
        request.now,
        Issue {
            client_id: client.client_id(),
            subject: Some(code.subject.clone()),
            scope: code.scope.clone(),
            refresh_scope: None,
            family: Some(family),
            refresh: refresh_for(request.policy, client),
            jkt: request.dpop_jkt,
        },
    )?;
    // OpenID Connect: an id_token only when the user granted `openid`.
    if let Some(alg) = request
        .policy
        .openid()
        .filter(|_| code.scope.contains(OPENID_SCOPE))
    {
        response.id_token = Some(id_token::issue(&request, alg, &code, &response.access_token)?);
    }
    save(storage, record).await?;
    Ok(response)
}

/// What an unknown, used or foreign code gets: one answer, so that a client
/// cannot tell another client's code from no code.
const INVALID_CODE: &str = "the authorization code is invalid, expired or already used";

/// Every binding of the code: client, expiry, redirect URI, PKCE.
fn check_code(
    code: &CodeRecord,
    client: &impl ClientModel,
    params: &Params<'_>,
    policy: &Policy,
    now: i64,
) -> Result<(), OAuthError> {
    if code.client_id != client.client_id() {
        // Exactly what an unknown code gets: another client's code is not
        // confirmed to exist.
        return Err(OAuthError::invalid_grant(INVALID_CODE));
    }
    if code.expires_at <= now {
        return Err(OAuthError::invalid_grant("the authorization code has expired"));
    }
    check_redirect_uri(code, client, params.get("redirect_uri"))?;
    check_pkce(code, client, params.get("code_verifier"), policy)
}

/// RFC 6749 §4.1.3: `redirect_uri` is required and must be identical when the
/// authorization request carried one. When it did not, a given one must
/// still be the client's only registered URI.
fn check_redirect_uri(
    code: &CodeRecord,
    client: &impl ClientModel,
    given: Option<&str>,
) -> Result<(), OAuthError> {
    match (&code.redirect_uri, given) {
        (Some(expected), Some(given)) if expected == given => Ok(()),
        (Some(_), None) => Err(OAuthError::invalid_request("missing parameter `redirect_uri`")),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one of the authorization request",
        )),
        (None, None) => Ok(()),
        (None, Some(given)) => {
            let mut registered = client.redirect_uris();
            match (registered.next(), registered.next()) {
                (Some(only), None) if only == given => Ok(()),
                _ => Err(OAuthError::invalid_grant(
                    "redirect_uri differs from the one of the authorization request",
                )),
            }
        }
    }
}

/// RFC 7636 §4.6 and RFC 9700 §2.1.1. Every PKCE failure is `invalid_grant`,
/// including a verifier sent for a code issued without a challenge (a
/// downgrade attempt).
fn check_pkce(
    code: &CodeRecord,
    client: &impl ClientModel,
    verifier: Option<&str>,
    policy: &Policy,
) -> Result<(), OAuthError> {
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let method = code.code_challenge_method.unwrap_or(PkceMethod::Plain);
            if method == PkceMethod::Plain && policy.pkce() != PkcePolicy::AllowPlain {
                return Err(OAuthError::invalid_grant(
                    "the plain PKCE method is not allowed on this server",
                ));
            }
            if pkce::verify(method, challenge, verifier) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant("PKCE verification failed"))
            }
        }
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "code_verifier is required: the authorization request carried a code_challenge",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier was sent but the authorization request carried no code_challenge",
        )),
        (None, None) if client.is_public() || policy.pkce() == PkcePolicy::Required => {
            Err(OAuthError::invalid_grant("PKCE is required for this client"))
        }
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::grants::test_support::*;
    use crate::model::CodeRecord;
    use crate::{GrantType, PkceMethod, PkcePolicy, Policy, Scope, TokenHash, now, storage::Storage as _};

    fn redeem_body(code: &str, extra: &str) -> String {
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier={VERIFIER}{extra}"
        )
    }

    #[tokio::test]
    async fn redeems_a_code_with_s256_for_tokens_bound_to_the_user() {
        let server = server();
        let code = code_for(&server, "web", Some(PkceMethod::S256));
        let response = post(&server, Some(("web", "web-secret")), &redeem_body(&code, "")).await;
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
        assert_eq!(stored.client_id, "web");
    }

    #[tokio::test]
    async fn public_client_redeems_with_pkce_and_gets_a_refresh_token() {
        let server = server();
        let code = code_for(&server, "spa", Some(PkceMethod::S256));
        let response = post(&server, None, &redeem_body(&code, "&client_id=spa")).await;
        assert!(ok_body(&response)["refresh_token"].is_string());
    }

    #[tokio::test]
    async fn no_refresh_token_for_a_client_without_the_refresh_grant() {
        let server = server();
        let code = code_for(&server, "post", Some(PkceMethod::S256));
        let body = redeem_body(&code, "&client_id=post&client_secret=post-secret");
        let response = post(&server, None, &body).await;
        assert!(ok_body(&response).get("refresh_token").is_none());
    }

    #[tokio::test]
    async fn missing_code_is_invalid_request() {
        let server = server();
        let response = post(
            &server,
            Some(("web", "web-secret")),
            "grant_type=authorization_code",
        )
        .await;
        assert_eq!(error_of(&response), "invalid_request");
    }

    #[tokio::test]
    async fn unknown_code_is_invalid_grant() {
        let server = server();
        let response = post(&server, Some(("web", "web-secret")), &redeem_body("nope", "")).await;
        assert_eq!(error_of(&response), "invalid_grant");
    }

    #[tokio::test]
    async fn replayed_code_fails_and_revokes_the_tokens_it_issued() {
        let server = server();
        let code = code_for(&server, "web", Some(PkceMethod::S256));
        let first = post(&server, Some(("web", "web-secret")), &redeem_body(&code, "")).await;
        let first = ok_body(&first);
        let access = first["access_token"].as_str().unwrap();
        assert!(is_live(&server, access).await);

        let replay = post(&server, Some(("web", "web-secret")), &redeem_body(&code, "")).await;
        assert_eq!(error_of(&replay), "invalid_grant");
        assert!(
            !is_live(&server, access).await,
            "the replay must revoke the first tokens"
        );
        let refresh = first["refresh_token"].as_str().unwrap();
        let refreshed = post(
            &server,
            Some(("web", "web-secret")),
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        )
        .await;
        assert_eq!(error_of(&refreshed), "invalid_grant");
    }

    #[tokio::test]
    async fn code_of_another_client_is_invalid_grant_and_burnt() {
        let server = server();
        let code = code_for(&server, "web", Some(PkceMethod::S256));
        let body = redeem_body(&code, "&client_id=post&client_secret=post-secret");
        let stolen = post(&server, None, &body).await;
        assert_eq!(error_of(&stolen), "invalid_grant");
        // Word for word what an unknown code gets.
        let unknown = post(
            &server,
            None,
            &redeem_body("unknown-code", "&client_id=post&client_secret=post-secret"),
        )
        .await;
        assert_eq!(stolen.status(), unknown.status());
        assert_eq!(stolen.json(), unknown.json());
        let owner = post(&server, Some(("web", "web-secret")), &redeem_body(&code, "")).await;
        assert_eq!(error_of(&owner), "invalid_grant");
    }

    #[tokio::test]
    async fn expired_code_is_invalid_grant() {
        let server = server();
        let code = crate::NewToken::generate().unwrap();
        server.storage().add_code(CodeRecord {
            code: code.hash(),
            client_id: "web".into(),
            redirect_uri: Some(REDIRECT.into()),
            scope: Scope::parse("read").unwrap(),
            subject: "user-1".into(),
            code_challenge: None,
            code_challenge_method: None,
            nonce: None,
            auth_time: None,
            expires_at: now() - 1,
        });
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri=https%3A%2F%2Fa.example%2Fcb",
            code.value()
        );
        let response = post(&server, Some(("web", "web-secret")), &body).await;
        assert_eq!(error_of(&response), "invalid_grant");
        assert!(
            response.json()["error_description"]
                .as_str()
                .unwrap()
                .contains("expired")
        );
    }

    #[tokio::test]
    async fn redirect_uri_must_match_exactly() {
        let server = server();
        for uri in [
            "https%3A%2F%2Fa.example%2Fother",
            "https%3A%2F%2Fa.example%2Fcb%2F",
            "https%3A%2F%2FA.example%2Fcb",
            "https%3A%2F%2Fa.example%2Fcb%3Fx%3D1",
        ] {
            let code = code_for(&server, "web", Some(PkceMethod::S256));
            let body = format!(
                "grant_type=authorization_code&code={code}&redirect_uri={uri}&code_verifier={VERIFIER}"
            );
            let response = post(&server, Some(("web", "web-secret")), &body).await;
            assert_eq!(error_of(&response), "invalid_grant", "{uri}");
        }
    }

    #[tokio::test]
    async fn missing_redirect_uri_is_invalid_request_when_the_request_had_one() {
        let server = server();
        let code = code_for(&server, "web", Some(PkceMethod::S256));
        let body = format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}");
        let response = post(&server, Some(("web", "web-secret")), &body).await;
        assert_eq!(error_of(&response), "invalid_request");
    }

    #[tokio::test]
    async fn code_without_redirect_uri_accepts_only_the_sole_registered_one() {
        let server = server();
        let issue = |client: &str| {
            let code = crate::NewToken::generate().unwrap();
            server.storage().add_code(CodeRecord {
                code: code.hash(),
                client_id: client.into(),
                redirect_uri: None,
                scope: Scope::parse("read").unwrap(),
                subject: "user-1".into(),
                code_challenge: Some(crate::pkce::s256_challenge(VERIFIER)),
                code_challenge_method: Some(PkceMethod::S256),
                nonce: None,
                auth_time: None,
                expires_at: now() + 60,
            });
            code.into_value()
        };
        let spa = issue("spa");
        let response = post(&server, None, &redeem_body(&spa, "&client_id=spa")).await;
        ok_body(&response);
        let spa = issue("spa");
        let body = format!(
            "grant_type=authorization_code&code={spa}&client_id=spa&code_verifier={VERIFIER}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
        );
        assert_eq!(error_of(&post(&server, None, &body).await), "invalid_grant");
        // `web` has two registered URIs: none of them is implied.
        let web = issue("web");
        let response = post(&server, Some(("web", "web-secret")), &redeem_body(&web, "")).await;
        assert_eq!(error_of(&response), "invalid_grant");
    }

    #[tokio::test]
    async fn wrong_missing_or_malformed_verifier_is_invalid_grant() {
        let server = server();
        let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        for verifier in [Some(wrong), None, Some("short"), Some(&*format!("{VERIFIER}!"))] {
            let code = code_for(&server, "web", Some(PkceMethod::S256));
            let mut body = format!(
                "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fa.example%2Fcb"
            );
            if let Some(v) = verifier {
                body.push_str(&format!("&code_verifier={v}"));
            }
            let response = post(&server, Some(("web", "web-secret")), &body).await;
            assert_eq!(error_of(&response), "invalid_grant", "{verifier:?}");
        }
    }

    #[tokio::test]
    async fn verifier_without_a_stored_challenge_is_a_downgrade_and_invalid_grant() {
        let server = server();
        let code = code_for(&server, "web", None);
        let response = post(&server, Some(("web", "web-secret")), &redeem_body(&code, "")).await;
        assert_eq!(error_of(&response), "invalid_grant");
    }

    #[tokio::test]
    async fn confidential_client_without_pkce_is_accepted_under_the_default_policy() {
        let server = server();
        let code = code_for(&server, "web", None);
        let body =
            format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fa.example%2Fcb");
        ok_body(&post(&server, Some(("web", "web-secret")), &body).await);
    }

    #[tokio::test]
    async fn pkce_is_required_for_public_clients_and_under_the_required_policy() {
        let server = server();
        let code = code_for(&server, "spa", None);
        let body = format!(
            "grant_type=authorization_code&code={code}&client_id=spa&redirect_uri=https%3A%2F%2Fa.example%2Fcb"
        );
        assert_eq!(error_of(&post(&server, None, &body).await), "invalid_grant");

        let strict = server_with(Policy::new(GrantType::ALL).with_pkce(PkcePolicy::Required));
        let code = code_for(&strict, "web", None);
        let body =
            format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fa.example%2Fcb");
        assert_eq!(
            error_of(&post(&strict, Some(("web", "web-secret")), &body).await),
            "invalid_grant"
        );
    }

    #[tokio::test]
    async fn plain_pkce_only_with_the_opt_in_policy() {
        let server = server();
        let code = code_for(&server, "web", Some(PkceMethod::Plain));
        let response = post(&server, Some(("web", "web-secret")), &redeem_body(&code, "")).await;
        assert_eq!(error_of(&response), "invalid_grant");

        let lax = server_with(Policy::new(GrantType::ALL).with_pkce(PkcePolicy::AllowPlain));
        let code = code_for(&lax, "web", Some(PkceMethod::Plain));
        ok_body(&post(&lax, Some(("web", "web-secret")), &redeem_body(&code, "")).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_redemptions_of_one_code_exactly_one_wins() {
        for _ in 0..20 {
            let server = Arc::new(server());
            let code = code_for(&server, "web", Some(PkceMethod::S256));
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let server = Arc::clone(&server);
                    let body = redeem_body(&code, "");
                    tokio::spawn(async move { post(&server, Some(("web", "web-secret")), &body).await })
                })
                .collect();
            let mut successes = 0;
            for task in tasks {
                if task.await.unwrap().status() == 200 {
                    successes += 1;
                }
            }
            assert_eq!(successes, 1);
        }
    }
}
