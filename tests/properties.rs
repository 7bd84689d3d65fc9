//! Property tests (proptest) for the invariants of issue 8: a code redeems at
//! most once, a revoked token never introspects active, an issued scope is
//! always within the client's and never silently narrowed, and the form
//! parser never panics and refuses every repeated parameter; and (issue 14)
//! an `error_description` only ever holds RFC 6749 characters and never
//! echoes hostile request input.

#[path = "threats/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use granted::{AuthorizeError, ErrorCode, MemoryStore, OAuthError, Params, Server, is_description_char};
use proptest::prelude::*;
use support::*;

/// One server for every case: building one hashes a password (argon2).
static SERVER: LazyLock<Arc<Server<MemoryStore>>> = LazyLock::new(|| Arc::new(server()));

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// A way to present a code at the token endpoint.
#[derive(Debug, Clone, Copy)]
enum Attempt {
    Correct,
    WrongVerifier,
    NoVerifier,
    WrongRedirect,
    OtherClient,
}

fn attempt() -> impl Strategy<Value = Attempt> {
    prop_oneof![
        3 => Just(Attempt::Correct),
        1 => Just(Attempt::WrongVerifier),
        1 => Just(Attempt::NoVerifier),
        1 => Just(Attempt::WrongRedirect),
        1 => Just(Attempt::OtherClient),
    ]
}

async fn present(server: &Server<MemoryStore>, code: &str, attempt: Attempt) -> granted::Response {
    let (auth, body) = match attempt {
        Attempt::Correct => (Auth::Basic("web", WEB_SECRET), redeem_body(code)),
        Attempt::WrongVerifier => (
            Auth::Basic("web", WEB_SECRET),
            format!(
                "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}&code_verifier={}",
                "v".repeat(43)
            ),
        ),
        Attempt::NoVerifier => (
            Auth::Basic("web", WEB_SECRET),
            format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}"),
        ),
        Attempt::WrongRedirect => (
            Auth::Basic("web", WEB_SECRET),
            format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                enc("https://client.example/other")
            ),
        ),
        Attempt::OtherClient => (
            Auth::None,
            format!("{}&client_id=post&client_secret={POST_SECRET}", redeem_body(code)),
        ),
    };
    token(server, auth, &body).await
}

const VOCABULARY: &[&str] = &["read", "write", "admin", "openid", "profile"];

fn requested_scope() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(VOCABULARY, 0..=VOCABULARY.len()).prop_shuffle()
}

fn scope_set(scope: &str) -> BTreeSet<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The scope check every grant must satisfy: within `web`/`post`'s
/// `read write`, equal to the request (or all of it when none was asked).
fn check_scope(requested: &[&str], outcome: Result<String, String>) -> Result<(), TestCaseError> {
    let allowed = scope_set("read write");
    let asked: BTreeSet<String> = requested.iter().map(|s| (*s).to_owned()).collect();
    match outcome {
        Ok(scope) => {
            let issued = scope_set(&scope);
            prop_assert!(issued.is_subset(&allowed), "issued {scope} for {requested:?}");
            let expected = if asked.is_empty() { allowed } else { asked };
            prop_assert_eq!(issued, expected, "never narrowed or widened");
        }
        Err(error) => {
            prop_assert_eq!(error.as_str(), "invalid_scope");
            prop_assert!(!asked.is_subset(&allowed), "{requested:?} refused");
        }
    }
    Ok(())
}

fn outcome(response: &granted::Response) -> Result<String, String> {
    if response.status() == 200 {
        Ok(response.json()["scope"].as_str().unwrap_or_default().to_owned())
    } else {
        Err(error_of(response))
    }
}

/// Request values an attacker may send: anything, and the markup, quotes
/// and control characters the outside review echoed back.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        4 => r#"[a-z'<>/&;=()]{1,24}"#,
        2 => r#"[a-z"'<>/\\\r\n\t\x00-\x08]{1,24}"#,
        1 => Just("\"><script>alert(1)</script>".to_owned()),
        1 => Just("login\r\nSet-Cookie: x=1".to_owned()),
        1 => Just("none\0".to_owned()),
    ]
    .prop_filter("a value", |v| !v.is_empty())
}

/// What a description may quote: short, letters, digits and `_ - . : /`.
fn is_plain(value: &str) -> bool {
    value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b))
}

/// An operation on the token families of `web`.
#[derive(Debug, Clone)]
enum Op {
    /// A new family from the code flow.
    Issue,
    /// Refresh family `.0` (modulo) with its refresh token number `.1`
    /// (modulo; the newest when `.1` is past the end).
    Refresh(usize, usize),
    /// Revoke family `.0` with its token number `.1` (access or refresh).
    Revoke(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Issue),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(f, t)| Op::Refresh(f, t)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(f, t)| Op::Revoke(f, t)),
    ]
}

#[derive(Default)]
struct Family {
    /// Every token issued in the family, access and refresh.
    tokens: Vec<String>,
    /// Its refresh tokens, oldest first.
    refresh: Vec<String>,
    revoked: bool,
}

fn param_name() -> impl Strategy<Value = String> {
    "[a-z_]{1,8}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_code_redeems_at_most_once(attempts in proptest::collection::vec(attempt(), 1..6)) {
        let server = &*SERVER;
        let successes = block_on(async {
            let code = code_for(server, "web", "").await;
            let mut statuses = Vec::new();
            for attempt in &attempts {
                statuses.push(present(server, &code, *attempt).await.status());
            }
            statuses
        });
        let ok: Vec<usize> = successes.iter().enumerate().filter(|(_, s)| **s == 200).map(|(i, _)| i).collect();
        // Any presentation consumes the code: only a correct first one succeeds.
        match attempts[0] {
            Attempt::Correct => prop_assert_eq!(ok, vec![0]),
            _ => prop_assert!(ok.is_empty(), "{:?}", successes),
        }
    }

    #[test]
    fn concurrent_presentations_of_a_code_succeed_at_most_once(
        attempts in proptest::collection::vec(attempt(), 2..8)
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let server = Arc::clone(&SERVER);
        let ok = runtime.block_on(async move {
            let code = code_for(&server, "web", "").await;
            let tasks: Vec<_> = attempts
                .iter()
                .map(|attempt| {
                    let (server, code, attempt) = (Arc::clone(&server), code.clone(), *attempt);
                    tokio::spawn(async move { present(&server, &code, attempt).await.status() })
                })
                .collect();
            let mut ok = 0;
            for task in tasks {
                ok += usize::from(task.await.expect("task") == 200);
            }
            (ok, attempts.iter().all(|a| matches!(a, Attempt::Correct)))
        });
        prop_assert!(ok.0 <= 1, "{} successes", ok.0);
        if ok.1 {
            prop_assert_eq!(ok.0, 1);
        }
    }

    #[test]
    fn a_revoked_token_never_introspects_active(ops in proptest::collection::vec(op(), 1..12)) {
        let server = &*SERVER;
        let result: Result<(), TestCaseError> = block_on(async {
            let mut families: Vec<Family> = Vec::new();
            for op in &ops {
                match *op {
                    Op::Issue => {
                        let tokens = web_tokens(server).await;
                        let (access, refresh) = (field(&tokens, "access_token"), field(&tokens, "refresh_token"));
                        families.push(Family {
                            tokens: vec![access, refresh.clone()],
                            refresh: vec![refresh],
                            revoked: false,
                        });
                    }
                    Op::Refresh(f, t) if !families.is_empty() => {
                        let n = families.len();
                        let family = &mut families[f % n];
                        // Past the end means the newest: half the refreshes are legitimate.
                        let last = family.refresh.len() - 1;
                        let presented = family.refresh[(t % (last + 2)).min(last)].clone();
                        let newest = family.refresh.last() == Some(&presented);
                        let body = format!("grant_type=refresh_token&refresh_token={presented}");
                        let response = token(server, Auth::Basic("web", WEB_SECRET), &body).await;
                        if newest && !family.revoked {
                            let body = response.json();
                            prop_assert_eq!(response.status(), 200, "{}", body);
                            let (access, refresh) = (field(&body, "access_token"), field(&body, "refresh_token"));
                            family.tokens.push(access);
                            family.tokens.push(refresh.clone());
                            family.refresh.push(refresh);
                        } else {
                            prop_assert_eq!(error_of(&response), "invalid_grant");
                            // A rotated token presented again revokes the family.
                            family.revoked = true;
                        }
                    }
                    Op::Revoke(f, t) if !families.is_empty() => {
                        let n = families.len();
                        let family = &mut families[f % n];
                        let value = family.tokens[t % family.tokens.len()].clone();
                        let response = revoke(server, Auth::Basic("web", WEB_SECRET), &format!("token={value}")).await;
                        prop_assert_eq!(response.status(), 200);
                        family.revoked = true;
                    }
                    _ => {}
                }
                for family in families.iter().filter(|f| f.revoked) {
                    for value in &family.tokens {
                        prop_assert!(!is_active(server, value).await, "{} active after revocation", value);
                        prop_assert!(!bearer_accepted(server, value).await);
                    }
                }
            }
            Ok(())
        });
        result?;
    }

    #[test]
    fn an_issued_scope_is_within_the_clients_and_never_narrowed(requested in requested_scope()) {
        let server = &*SERVER;
        let joined = requested.join("+");
        let scope_param = if requested.is_empty() { String::new() } else { format!("&scope={joined}") };
        let result: Result<(), TestCaseError> = block_on(async {
            // client_credentials
            let body = format!("grant_type=client_credentials&client_id=post&client_secret={POST_SECRET}{scope_param}");
            check_scope(&requested, outcome(&token(server, Auth::None, &body).await))?;
            // password
            let body = format!("grant_type=password&username=alice&password={PASSWORD}{scope_param}");
            check_scope(&requested, outcome(&token(server, Auth::Basic("web", WEB_SECRET), &body).await))?;
            // authorization endpoint, then the code exchange
            match authorize(server, &auth_query("web", &scope_param)).await {
                Ok(pending) => {
                    let approved = server.approve(&pending, "user-1", None).await.expect("approve");
                    let code = approved.param("code").expect("code");
                    let response = token(server, Auth::Basic("web", WEB_SECRET), &redeem_body(code)).await;
                    check_scope(&requested, outcome(&response))?;
                    // refresh: the request is checked against the original grant
                    let refresh = field(&response.json(), "refresh_token");
                    let body = format!("grant_type=refresh_token&refresh_token={refresh}&scope=read+write+admin");
                    let wider = token(server, Auth::Basic("web", WEB_SECRET), &body).await;
                    prop_assert_eq!(error_of(&wider), "invalid_scope");
                }
                Err(AuthorizeError::Redirect(redirect)) => {
                    check_scope(&requested, Err(redirect.param("error").unwrap_or_default().to_owned()))?;
                }
                Err(other) => prop_assert!(false, "{:?}", other),
            }
            Ok(())
        });
        result?;
    }

    #[test]
    fn the_form_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Params::parse(&bytes);
    }

    #[test]
    fn the_form_parser_refuses_every_repeated_parameter(
        pairs in proptest::collection::vec((param_name(), ".{0,12}"), 1..12),
        repeat in any::<usize>(),
        value in ".{0,12}",
        position in any::<usize>(),
    ) {
        let mut pairs = pairs;
        let name = pairs[repeat % pairs.len()].0.clone();
        let at = position % (pairs.len() + 1);
        pairs.insert(at, (name.clone(), value));
        let body: Vec<String> = pairs.iter().map(|(n, v)| format!("{}={}", enc(n), enc(v))).collect();
        let body = body.join("&");
        match Params::parse(body.as_bytes()) {
            Ok(_) => prop_assert!(false, "`{}` repeated in {}", name, body),
            Err(error) => prop_assert_eq!(error.code().as_str(), "invalid_request"),
        }
    }

    #[test]
    fn the_form_parser_round_trips_distinct_parameters(
        pairs in proptest::collection::btree_map(param_name(), ".{0,12}", 0..12),
    ) {
        let body: Vec<String> = pairs.iter().map(|(n, v)| format!("{}={}", enc(n), enc(v))).collect();
        let body = body.join("&");
        let params = Params::parse(body.as_bytes()).expect("distinct parameters parse");
        for (name, value) in &pairs {
            prop_assert_eq!(params.get(name), Some(value.as_str()).filter(|v| !v.is_empty()));
        }
    }
}

proptest! {
    // Cheap cases (no password hashing): many of them.
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_error_description_holds_only_rfc_6749_characters(text in any::<String>(), uri in any::<String>()) {
        let error = OAuthError::new(ErrorCode::InvalidRequest, text.clone()).with_uri(uri);
        prop_assert!(error.description().chars().all(is_description_char), "{:?}", error.description());
        let json = error.to_json();
        let description = json["error_description"].as_str().unwrap_or_default();
        prop_assert!(description.chars().all(is_description_char), "{:?}", description);
        let uri = json["error_uri"].as_str().unwrap_or_default();
        prop_assert!(uri.chars().all(|c| c != ' ' && is_description_char(c)), "{:?}", uri);
        if text.chars().all(is_description_char) {
            prop_assert_eq!(description, text.as_str(), "allowed text is kept as it is");
        }
    }

    #[test]
    fn hostile_input_never_reaches_an_error_description(value in hostile()) {
        let server = &*SERVER;
        let result: Result<(), TestCaseError> = block_on(async {
            let mut descriptions = Vec::new();
            // `prompt` at the authorization endpoint (redirected to the client).
            match authorize(server, &auth_query("web", &format!("&prompt={}", enc(&value)))).await {
                Err(AuthorizeError::Redirect(redirect)) => {
                    descriptions.push(redirect.param("error_description").unwrap_or_default().to_owned());
                }
                Err(AuthorizeError::Display(error)) => descriptions.push(error.description().to_owned()),
                _ => {}
            }
            // `grant_type`, `scope` and a repeated parameter named `value` at the token endpoint.
            let post = format!("client_id=post&client_secret={POST_SECRET}");
            for body in [
                format!("grant_type={}&{post}", enc(&value)),
                format!("grant_type=client_credentials&{post}&scope={}", enc(&value)),
                format!("grant_type=client_credentials&{0}=a&{0}=b", enc(&value)),
            ] {
                let response = token(server, Auth::None, &body).await;
                if response.status() != 200 {
                    descriptions.push(response.json()["error_description"].as_str().unwrap_or_default().to_owned());
                }
            }
            for description in &descriptions {
                prop_assert!(description.chars().all(is_description_char), "{:?}", description);
                // A value a description may not quote is not in it (short ones
                // could match fixed text by chance).
                if !is_plain(&value) && value.chars().count() >= 4 {
                    prop_assert!(!description.contains(value.as_str()), "{:?} echoed in {:?}", value, description);
                }
            }
            Ok(())
        });
        result?;
    }
}

/// What the `dpop_proof` fuzz target drives, on stable: the DPoP proof
/// parser refuses every input that is not a valid proof for the request
/// (here none can be: no key signs them), with `invalid_dpop_proof`'s
/// error and never a panic, whatever the text and whatever the header
/// claims to be.
mod dpop_proofs {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use granted::dpop::{DpopError, Expected, parse_header, verify_proof};
    use proptest::prelude::*;

    fn refused(proof: &str) -> bool {
        let expected = Expected::new("POST", "https://as.example/oauth/token", 1_700_000_000);
        let header = parse_header(proof);
        let verified = verify_proof(proof, &expected);
        matches!(header, Ok(_) | Err(DpopError::Invalid(_))) && matches!(verified, Err(DpopError::Invalid(_)))
    }

    /// Found by the property below: an `x` of the wrong length reached
    /// jsonwebtoken's EdDSA verification, which panicked on it.
    #[test]
    fn keys_of_the_wrong_size_are_refused_without_a_panic() {
        let signature = "A".repeat(86);
        for (alg, jwk) in [
            (
                "EdDSA",
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": ""}),
            ),
            (
                "EdDSA",
                serde_json::json!({"kty": "OKP", "crv": "P-256", "x": "", "y": ""}),
            ),
            (
                "EdDSA",
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
            ),
            (
                "ES256",
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": "", "y": ""}),
            ),
            (
                "ES256",
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
            ),
            ("RS256", serde_json::json!({"kty": "RSA", "n": "", "e": "AQAB"})),
        ] {
            let header = serde_json::json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk});
            let claims = serde_json::json!({"jti": "j", "htm": "POST", "htu": "https://as.example/oauth/token", "iat": 1_700_000_000});
            let proof = format!(
                "{}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string()),
            );
            assert!(refused(&proof), "{header}");
        }
    }

    proptest! {
        #[test]
        fn the_dpop_proof_parser_refuses_arbitrary_text(text in ".{0,600}") {
            prop_assert!(refused(&text));
        }

        #[test]
        fn the_dpop_proof_parser_refuses_hostile_headers(
            typ in prop_oneof![Just("dpop+jwt".to_owned()), ".{0,12}"],
            alg in prop_oneof![Just("ES256"), Just("RS256"), Just("EdDSA"), Just("none"), Just("HS256"), Just("")],
            kty in prop_oneof![Just("EC"), Just("RSA"), Just("OKP"), Just("oct"), Just("x")],
            member in "[a-z]{1,3}",
            value in ".{0,40}",
            claims in ".{0,80}",
            signature in "[A-Za-z0-9_-]{0,90}",
        ) {
            let header = serde_json::json!({
                "typ": typ, "alg": alg,
                "jwk": {"kty": kty, "crv": "P-256", "x": value, "y": value, "n": value, "e": "AQAB", member: value},
            });
            let proof = format!(
                "{}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims),
            );
            prop_assert!(refused(&proof));
        }
    }
}
