//! RFC 6819 §5.1.4.1.5 / RFC 9700 §4.3 (credential leakage through logs):
//! with every `tracing` event captured at TRACE level during full flows —
//! successes and refusals, at every endpoint — no access token, refresh
//! token, code, client secret or password appears in the output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use granted::Scope;
use granted::http::header::AUTHORIZATION;
use granted::http::{HeaderMap, HeaderValue, Method};

use crate::support::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("buffer lock")).into_owned()
    }
}

/// Every secret the flow handled, for the final check.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn add(&mut self, value: impl Into<String>) {
        self.0.push(value.into());
    }
}

async fn full_flow(secrets: &mut Secrets) {
    let server = server();
    for secret in [WEB_SECRET, POST_SECRET, SVC_SECRET, PASSWORD, VERIFIER] {
        secrets.add(secret);
    }

    // Authorization endpoint, approval, code redemption.
    let code = code_for(&server, "web", "&scope=read+write").await;
    secrets.add(code.clone());
    let tokens = ok_body(&token(&server, Auth::Basic("web", WEB_SECRET), &redeem_body(&code)).await);
    let access = field(&tokens, "access_token");
    let refresh = field(&tokens, "refresh_token");
    secrets.add(access.clone());
    secrets.add(refresh.clone());

    // A replay of the code (refused, revokes the family).
    let replay = token(&server, Auth::Basic("web", WEB_SECRET), &redeem_body(&code)).await;
    assert_eq!(error_of(&replay), "invalid_grant");

    // Password grant, refresh with rotation, reuse detection.
    let body = format!("grant_type=password&username=alice&password={PASSWORD}");
    let pw = ok_body(&token(&server, Auth::Basic("web", WEB_SECRET), &body).await);
    let pw_refresh = field(&pw, "refresh_token");
    secrets.add(field(&pw, "access_token"));
    secrets.add(pw_refresh.clone());
    let rotate = format!("grant_type=refresh_token&refresh_token={pw_refresh}");
    let rotated = ok_body(&token(&server, Auth::Basic("web", WEB_SECRET), &rotate).await);
    secrets.add(field(&rotated, "access_token"));
    secrets.add(field(&rotated, "refresh_token"));
    let reuse = token(&server, Auth::Basic("web", WEB_SECRET), &rotate).await;
    assert_eq!(error_of(&reuse), "invalid_grant");

    // Wrong credentials of every kind.
    let wrong = format!("grant_type=password&username=alice&password={PASSWORD}x");
    secrets.add(format!("{PASSWORD}x"));
    assert_eq!(
        error_of(&token(&server, Auth::Basic("web", WEB_SECRET), &wrong).await),
        "invalid_grant"
    );
    assert_eq!(
        error_of(
            &token(
                &server,
                Auth::Basic("web", &format!("{WEB_SECRET}y")),
                "grant_type=client_credentials"
            )
            .await
        ),
        "invalid_client"
    );
    secrets.add(format!("{WEB_SECRET}y"));
    let cc_post = format!("grant_type=client_credentials&client_id=post&client_secret={POST_SECRET}");
    let cc = ok_body(&token(&server, Auth::None, &cc_post).await);
    secrets.add(field(&cc, "access_token"));
    let cc_wide = format!("{cc_post}&scope=admin");
    assert_eq!(
        error_of(&token(&server, Auth::None, &cc_wide).await),
        "invalid_scope"
    );

    // Introspection, bearer use, revocation.
    let svc = svc_token(&server).await;
    secrets.add(svc.clone());
    assert!(!is_active(&server, &access).await);
    assert!(is_active(&server, &field(&cc, "access_token")).await);
    let mut headers = HeaderMap::new();
    let bearer = format!("Bearer {}", field(&cc, "access_token"));
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&bearer).expect("header"));
    let request = granted::Request::new(&Method::GET, &headers);
    assert!(
        server
            .authenticate_bearer(&request, &Scope::empty())
            .await
            .is_ok()
    );
    assert!(!bearer_accepted(&server, &access).await);
    let body = format!(
        "token={}&client_id=post&client_secret={POST_SECRET}",
        field(&cc, "access_token")
    );
    assert_eq!(revoke(&server, Auth::None, &body).await.status(), 200);
    let body = format!("token={refresh}&client_id=post&client_secret={POST_SECRET}");
    assert_eq!(revoke(&server, Auth::None, &body).await.status(), 200);
}

/// A client_credentials token for `svc`, the resource server.
async fn svc_token(server: &granted::Server<granted::MemoryStore>) -> String {
    let response = token(
        server,
        Auth::Basic("svc", SVC_SECRET),
        "grant_type=client_credentials",
    )
    .await;
    field(&ok_body(&response), "access_token")
}

#[tokio::test(flavor = "current_thread")]
async fn no_credential_appears_in_trace_output() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Callsite interest is cached process-wide; a callsite first hit by a
    // concurrent test while this subscriber is being installed could cache
    // "never". Run the flow once first so that every callsite it uses is
    // registered, then install the subscriber, which recomputes them all.
    full_flow(&mut Secrets::default()).await;
    let mut secrets = Secrets::default();
    {
        // Thread-local: this current-thread test runs every future here.
        let _guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        tracing::trace!("capture started");
        full_flow(&mut secrets).await;
    }
    let output = buffer.text();
    // The capture works and the runtime did log the refusals.
    assert!(output.contains("capture started"), "{output}");
    assert!(output.contains("token request refused"), "{output}");
    for secret in &secrets.0 {
        assert!(secret.len() >= 8, "{secret}");
        assert!(
            !output.contains(secret.as_str()),
            "`{secret}` leaked into the logs:\n{output}"
        );
    }
}
