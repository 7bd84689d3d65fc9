//! RFC 6749 §10.12 (CSRF against the authorization endpoint: a malicious
//! site must not obtain authorization without the resource owner's
//! awareness and explicit consent): the example server's form carries a CSRF token
//! that must match a `SameSite=Strict`, `HttpOnly` cookie set with the page
//! (double submit). A form posted from elsewhere — no cookie, or the
//! attacker's own cookie with the victim's form — is refused and never
//! redirects; the real pair goes through.

use crate::support::{TestServer, authorize_url, hidden_fields, http};

/// GET the consent page: its CSRF cookie (`name=value`), its `Set-Cookie`
/// line, and its form with alice's credentials and `decision=approve`.
async fn page(server: &TestServer) -> (String, String, Vec<(String, String)>) {
    let url = authorize_url(server, "web", "http://127.0.0.1:9/cb", "read");
    let page = http().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let set_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("granted_csrf="))
        .expect("csrf cookie")
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let mut form = hidden_fields(&page.text().await.unwrap());
    form.extend([
        ("username".to_owned(), "alice".to_owned()),
        ("password".to_owned(), "wonderland".to_owned()),
        ("decision".to_owned(), "approve".to_owned()),
    ]);
    (cookie, set_cookie, form)
}

async fn submit(server: &TestServer, cookie: Option<&str>, form: &[(String, String)]) -> reqwest::Response {
    let mut request = http().post(server.url("/oauth/authorize")).form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_consent_form_posted_without_its_csrf_cookie_is_refused() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let (cookie, set_cookie, form) = page(&server).await;
    let attrs = set_cookie.to_ascii_lowercase();
    assert!(attrs.contains("samesite=strict"), "{set_cookie}");
    assert!(attrs.contains("httponly"), "{set_cookie}");

    // A cross-site post: the browser sends no Strict cookie.
    let forged = submit(&server, None, &form).await;
    assert_eq!(forged.status(), 400);
    assert!(forged.headers().get("location").is_none());

    // The attacker's own page's cookie with the victim's form.
    let (attacker_cookie, _, _) = page(&server).await;
    assert_ne!(attacker_cookie, cookie);
    let forged = submit(&server, Some(&attacker_cookie), &form).await;
    assert_eq!(forged.status(), 400);
    assert!(forged.headers().get("location").is_none());

    // The form without its token field, with the right cookie.
    let stripped: Vec<(String, String)> = form.iter().filter(|(n, _)| n != "csrf").cloned().collect();
    assert_eq!(submit(&server, Some(&cookie), &stripped).await.status(), 400);

    // The matching pair is accepted: the refusals above are the CSRF check.
    let real = submit(&server, Some(&cookie), &form).await;
    assert_eq!(real.status(), 302);
    let location = real.headers()["location"].to_str().unwrap();
    assert!(location.contains("code="), "{location}");
}
