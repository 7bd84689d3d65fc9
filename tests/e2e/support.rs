//! Starting the example server and talking to it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oauth2::reqwest;

pub const VERIFIER: &str = "kYcN3m0wZ1q2X9rT5vB8nL4pJ7hG6fD3sA0eR2tY5uI";

/// The example server, killed on drop, with its own working directory.
pub struct TestServer {
    child: Child,
    pub base: String,
    pub dir: PathBuf,
    /// The line the server printed when it started listening.
    pub banner: String,
}

/// A fresh directory under the target dir, unique to this call.
pub fn fresh_dir(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = target_dir()
        .join("e2e")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// `target/` of this build (the test binary lives in `target/<profile>/deps`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

/// The example server binary, built on demand.
fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("GRANTED_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.ancestors().nth(2).expect("profile dir");
    let binary = profile_dir.join("examples").join("server");
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "server"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --example server failed");
    }
    binary
}

/// Runs the server binary to completion (for flags that make it exit).
pub fn run_server_once(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(server_binary())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run the example server")
}

/// The seed used by the tests; `callback` is the browser test's redirect URI.
pub fn seed_json(callback: &str) -> String {
    serde_json::json!({
        "clients": [
            {"client_id": "web", "client_secret": "web-secret",
             "redirect_uris": [callback, "http://127.0.0.1:9/cb"],
             "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
             "scope": "openid profile email read write", "token_endpoint_auth_method": "client_secret_basic"},
            {"client_id": "spa", "client_secret": null, "redirect_uris": ["http://127.0.0.1:9/cb"],
             "grant_types": ["authorization_code", "refresh_token"], "scope": "read",
             "token_endpoint_auth_method": "none"},
            {"client_id": "svc", "client_secret": "svc-secret", "grant_types": ["client_credentials"],
             "scope": "openid read write", "token_endpoint_auth_method": "client_secret_post"},
            {"client_id": "legacy", "client_secret": "legacy-secret",
             "grant_types": ["password", "refresh_token"], "scope": "read"},
            {"client_id": "rs", "client_secret": "rs-secret", "grant_types": ["client_credentials"],
             "scope": "read", "token_endpoint_auth_method": "client_secret_basic"},
            {"client_id": "dpop-only", "client_secret": "dpop-secret", "grant_types": ["client_credentials"],
             "scope": "read", "token_endpoint_auth_method": "client_secret_post",
             "dpop_bound_access_tokens": true},
            {"client_id": "tv", "client_secret": "tv-secret",
             "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
             "scope": "read", "token_endpoint_auth_method": "client_secret_post"}
        ],
        "users": [
            {"username": "alice", "password": "wonderland",
             "claims": {"name": "Alice Liddell", "email": "alice@example.com", "email_verified": true}},
            {"username": "bob", "password": "builder"}
        ]
    })
    .to_string()
}

impl TestServer {
    /// Starts the server with `--db db` and the test seed.
    pub fn start(db: &str, callback: &str) -> Self {
        let dir = fresh_dir("server");
        Self::start_in(dir, db, callback, &[])
    }

    /// Starts the server in `dir` with extra flags.
    pub fn start_in(dir: PathBuf, db: &str, callback: &str, extra: &[&str]) -> Self {
        Self::start_seeded(dir, db, &seed_json(callback), extra)
    }

    /// Starts the server in `dir` with the seed file `seed` (JSON text).
    pub fn start_seeded(dir: PathBuf, db: &str, seed: &str, extra: &[&str]) -> Self {
        std::fs::write(dir.join("seed.json"), seed).expect("write seed");
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("stderr log");
        let mut child = Command::new(server_binary())
            .args(["--addr", "127.0.0.1:0", "--db", db, "--seed", "seed.json"])
            .args(extra)
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the example server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let (base, banner) = loop {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                _ => {
                    let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                    panic!("the server exited before listening: {log}");
                }
            };
            if let Some(rest) = line.split("listening on ").nth(1) {
                let base = rest.split_whitespace().next().expect("address").to_owned();
                break (base, line);
            }
            assert!(Instant::now() < deadline, "the server did not start in time");
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            base,
            dir,
            banner,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port` the server listens on.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// The server's peak resident memory so far, in KiB (Linux `VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// Logs in through the consent form without a browser: GET the page, then
/// POST its hidden fields with the CSRF cookie, the credentials and the
/// decision. Returns the `Location` of the answer.
pub async fn consent(server: &TestServer, authorize_url: &str, user: (&str, &str), decision: &str) -> String {
    consent_with(server, authorize_url, user, decision, None).await.0
}

/// As [`consent`], the browser sending `cookie` (e.g. `granted_session=...`)
/// with both requests. Returns the `Location` and the answer's session
/// cookie (`name=value`), if it set one.
pub async fn consent_with(
    server: &TestServer,
    authorize_url: &str,
    user: (&str, &str),
    decision: &str,
    cookie: Option<&str>,
) -> (String, Option<String>) {
    let client = http();
    let mut page = client.get(authorize_url);
    if let Some(cookie) = cookie {
        page = page.header("cookie", cookie);
    }
    let page = page.send().await.expect("GET authorize");
    assert_eq!(page.status(), 200, "authorize page");
    let csrf = set_cookie(&page, "granted_csrf");
    let html = page.text().await.expect("page body");
    let mut form = hidden_fields(&html);
    form.push(("username".into(), user.0.into()));
    form.push(("password".into(), user.1.into()));
    form.push(("decision".into(), decision.into()));
    let cookies = match cookie {
        Some(cookie) => format!("{csrf}; {cookie}"),
        None => csrf,
    };
    let answer = client
        .post(server.url("/oauth/authorize"))
        .header("cookie", cookies)
        .form(&form)
        .send()
        .await
        .expect("POST authorize");
    assert_eq!(answer.status(), 302, "consent answer");
    let session = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("granted_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let location = answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    (location, session)
}

/// The `name=value` pair of the cookie `name` that a response sets.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

/// GETs `url` and reads its JSON body.
pub async fn get_json(url: String) -> serde_json::Value {
    http()
        .get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("a JSON body")
}

/// The `name`/`value` pairs of the page's hidden inputs.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|rest| {
            let name = rest.split("name=\"").nth(1)?.split('"').next()?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((unescape(name), unescape(value)))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    oauth2::url::form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The authorize URL for `web` with PKCE S256 over [`VERIFIER`].
pub fn authorize_url(server: &TestServer, client_id: &str, redirect: &str, scope: &str) -> String {
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER.as_bytes()))
    };
    let query = oauth2::url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", scope)
        .append_pair("state", "st-1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    server.url(&format!("/oauth/authorize?{query}"))
}

/// Reads a file as text for assertions about what the server wrote.
pub fn read_lossy(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}
