//! The login and consent page in headless Chromium, driven through
//! chromedriver (WebDriver) with `fantoccini`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{TestServer, VERIFIER, authorize_url, fresh_dir, http, query_param, target_dir};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, killed on drop.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_driver() -> Driver {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "headless browser tests need Debian's chromium and chromium-driver: ./scripts/test installs them"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while http()
        .get(format!("http://127.0.0.1:{port}/status"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

/// A stand-in for the client application: answers every request with 200.
async fn callback_listener() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let body = "<!DOCTYPE html><title>client</title><p>callback received</p>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/cb")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_consent_in_headless_chromium() {
    let callback = callback_listener().await;
    let server = TestServer::start("sqlite://granted.db", &callback);
    let driver = start_driver().await;
    let profile = fresh_dir("chromium-profile");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--window-size=900,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let browser = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a WebDriver session");

    let url = authorize_url(&server, "web", &callback, "read write");
    browser.goto(&url).await.unwrap();
    let title = browser.title().await.unwrap();
    assert!(title.contains("web"), "{title}");

    // A wrong password shows the page again with a message.
    browser
        .find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("alice")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("not-it")
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[value=approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let alert = browser
        .wait()
        .for_element(Locator::Css("[role=alert]"))
        .await
        .unwrap();
    assert!(
        alert
            .text()
            .await
            .unwrap()
            .contains("Invalid username or password")
    );

    browser
        .find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("alice")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("wonderland")
        .await
        .unwrap();
    let screenshots = target_dir().join("e2e").join("screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let shot = browser.screenshot().await.unwrap();
    std::fs::write(screenshots.join("consent.png"), &shot).unwrap();
    println!("screenshot: {}", screenshots.join("consent.png").display());
    browser
        .find(Locator::Css("button[value=approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let landed = loop {
        let current = browser.current_url().await.unwrap().to_string();
        if current.starts_with(&callback) {
            break current;
        }
        assert!(Instant::now() < deadline, "never redirected, at {current}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(query_param(&landed, "state").as_deref(), Some("st-1"));
    assert_eq!(query_param(&landed, "iss").as_deref(), Some(server.base.as_str()));
    let code = query_param(&landed, "code").expect("a code in the redirect");

    // Signed in now: a second authorization shows consent only.
    browser.goto(&url).await.unwrap();
    assert!(browser.find(Locator::Css("#password")).await.is_err());
    assert!(
        browser
            .find(Locator::Css(".who"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("alice")
    );
    browser.close().await.unwrap();

    let tokens = http()
        .post(server.url("/oauth/token"))
        .basic_auth("web", Some("web-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", callback.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), 200);
    let tokens: serde_json::Value = tokens.json().await.unwrap();
    assert_eq!(tokens["scope"], "read write");
    drop(driver);
}

#[tokio::test]
async fn the_page_is_protected_by_csp_frame_options_and_csrf() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    let url = authorize_url(&server, "web", "http://127.0.0.1:9/cb", "read");
    let page = http().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "no inline script");
    assert!(html.contains("<label for=\"username\">"));

    // Without the CSRF cookie the form is refused and nothing redirects.
    let mut form = crate::support::hidden_fields(&html);
    form.extend([
        ("username".to_owned(), "alice".to_owned()),
        ("password".to_owned(), "wonderland".to_owned()),
        ("decision".to_owned(), "approve".to_owned()),
    ]);
    let forged = http()
        .post(server.url("/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert!(forged.headers().get("location").is_none());
}

#[tokio::test]
async fn bad_client_or_redirect_uri_never_redirects_and_deny_does() {
    let server = TestServer::start("memory", "http://127.0.0.1:9/unused");
    for url in [
        authorize_url(&server, "ghost", "http://127.0.0.1:9/cb", "read"),
        authorize_url(&server, "web", "http://127.0.0.1:9/cb/../evil", "read"),
        authorize_url(&server, "web", "http://127.0.0.1:9/cb?x=1", "read"),
        authorize_url(&server, "web", "http://evil.example/cb", "read"),
    ] {
        let answer = http().get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 400, "{url}");
        assert!(answer.headers().get("location").is_none(), "{url}");
    }
    let url = authorize_url(&server, "web", "http://127.0.0.1:9/cb", "read");
    let location = crate::support::consent(&server, &url, ("alice", "wonderland"), "deny").await;
    assert_eq!(query_param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(server.base.as_str())
    );
}

/// A headless Chromium session through `driver`, with a profile of its own.
async fn browser_session(driver: &Driver, profile_name: &str) -> fantoccini::Client {
    let profile = fresh_dir(profile_name);
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--window-size=900,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a WebDriver session")
}

/// The device flow's verification page in headless Chromium: the user types
/// the code shown by the device, sees the client and the code, signs in and
/// approves; the device's next poll gets the tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_verification_in_headless_chromium() {
    let server = TestServer::start_seeded(
        fresh_dir("browser-device"),
        "sqlite::memory:",
        &crate::device::seed(),
        &[],
    );
    let started = crate::device::start(&server, "read").await;
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    let device_code = started["device_code"].as_str().unwrap().to_owned();
    let driver = start_driver().await;
    let browser = browser_session(&driver, "chromium-profile-device").await;

    browser.goto(&server.url("/device")).await.unwrap();
    // Typed as a person might: lower case, no dash.
    browser
        .find(Locator::Css("#user_code"))
        .await
        .unwrap()
        .send_keys(&user_code.replace('-', "").to_lowercase())
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = browser
        .wait()
        .for_element(Locator::Css("#user-code"))
        .await
        .unwrap();
    assert_eq!(shown.text().await.unwrap(), user_code);
    let heading = browser
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.contains("tv"), "{heading}");

    browser
        .find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("alice")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("wonderland")
        .await
        .unwrap();
    let screenshots = target_dir().join("e2e").join("screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    std::fs::write(
        screenshots.join("device.png"),
        browser.screenshot().await.unwrap(),
    )
    .unwrap();
    browser
        .find(Locator::Css("button[value=approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = browser.wait().for_element(Locator::Css(".done")).await.unwrap();
    assert!(done.text().await.unwrap().contains("Device approved"));
    browser.close().await.unwrap();

    let (status, tokens) = crate::device::poll(&server, "tv", Some("tv-secret"), &device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "read");
    drop(driver);
}
