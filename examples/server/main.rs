//! The granted example authorization server (see the contract, §3):
//!
//! ```text
//! cargo run --release --example server -- --help
//! ```
//!
//! SQLite by default, every endpoint of the contract, a login and consent
//! page, and a protected resource at `/api/me`.

mod args;
mod csrf;
mod device;
mod login;
mod seed;
mod store;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse as _;
use axum::routing::get;
use granted::axum::{
    AuthFailureLimit, AuthFailureLimiter, ConnectionLimits, CorsOrigins, OAuthRequest, OAuthRoutes,
    into_axum, openid_routes, spawn_failure_sync, time_limited,
};
use granted::throttle::{FailureScope, FailureStore, PasswordBudgets};
use granted::{NewToken, Scope, Server, SigningAlg, UserClaims, pkce};
use tower_http::trace::TraceLayer;

use crate::args::{Args, Command};
use crate::csrf::CsrfKey;
use crate::login::Login;
use crate::seed::{Seed, SeedClient, SeedUser};
use crate::store::ExampleStore;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => *args,
        Ok(Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let db = args.db.clone();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Whatever failed, the database password is never printed.
            eprintln!("error: {}", granted::sql::redact_password(&error, &db));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    // Read the seed before touching the database so a bad file changes nothing.
    let seed = args.seed.as_deref().map(Seed::load).transpose()?;
    let store = ExampleStore::open(&args.db).await?;
    let demo = match seed {
        Some(seed) => {
            apply_seed(&store, &seed).await?;
            None
        }
        None => Some(seed_demo(&store).await?),
    };

    // Bind first: with `--addr 127.0.0.1:0` the issuer names the port chosen.
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let issuer = args.issuer.clone().unwrap_or_else(|| format!("http://{addr}"));
    let keys = store
        .signing_keys(SigningAlg::Rs256, args.rotate_signing_key)
        .await?;
    let store_secret = store.shared_secret("login_csrf").await?;
    // DPoP nonces: every instance issues and accepts the same ones.
    let dpop_nonces = granted::dpop::NonceKey::new(store.shared_secret("dpop_nonce").await?.as_bytes())
        .ok_or("the DPoP nonce secret is too short")?;
    store.follow_shared_keys(&keys, args.key_refresh).await?;
    let budgets = FailureBudgets::new(store.failure_store());
    let server = Arc::new(store.into_server(keys, &issuer).configure(|policy| {
        policy
            .with_password_budgets(budgets.passwords.clone())
            .with_user_code_budget(budgets.user_codes.clone())
            .with_device_code_ttl(args.device_code_ttl)
            .with_code_ttl(args.code_ttl)
            .with_access_token_ttl(args.access_token_ttl)
            .with_refresh_token_ttl(args.refresh_token_ttl)
            .with_offload(granted::axum::tokio_offload())
            .with_dpop_nonces(dpop_nonces)
    }));
    spawn_purge(Arc::clone(&server));

    let login = Arc::new(Login {
        server: Arc::clone(&server),
        secure_cookies: issuer.starts_with("https://"),
        csrf: CsrfKey::new(&store_secret)?,
    });
    // Browsers may call the token, revocation, metadata, JWKS and userinfo
    // endpoints from the origins of public clients' redirect URIs.
    let origins = CorsOrigins::default();
    spawn_cors_refresh(Arc::clone(&server), origins.clone()).await;
    let app = router(server, login, origins, budgets.clients);

    println!(
        "granted example server listening on http://{addr} (issuer {issuer}, db {})",
        granted::sql::redact_url(&args.db)
    );
    if let Some(demo) = demo {
        demo.print(&issuer);
    }
    // Header, body and idle time-outs, a connection cap and an immediate
    // 413 for a declared oversized body (the contract's defaults).
    let limits = ConnectionLimits::default()
        .with_max_connections(args.max_connections)
        .with_idle_timeout(args.idle_timeout);
    granted::axum::serve(listener, app)
        .limits(limits)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// The failure budgets: per client id (token, revocation, introspection)
/// and per username and source address (the login form and the password
/// grant), the contract's defaults. With a SQL database they are counted
/// there too, so every instance sharing it shares them: an instance refuses
/// at once what it locked itself, and what another instance locked within
/// about a second ([`FAILURE_SYNC`]).
struct FailureBudgets {
    clients: AuthFailureLimiter,
    passwords: PasswordBudgets,
    /// Wrong user codes on the device page, per source address.
    user_codes: AuthFailureLimiter,
}

/// How often an instance reads the locks every instance caused.
const FAILURE_SYNC: Duration = Duration::from_secs(1);

impl FailureBudgets {
    fn new(store: Option<Arc<dyn FailureStore>>) -> Self {
        let clients = AuthFailureLimiter::new(AuthFailureLimit::default());
        let passwords = PasswordBudgets::default();
        let user_codes = AuthFailureLimiter::new(AuthFailureLimit::default());
        let Some(store) = store else {
            return Self {
                clients,
                passwords,
                user_codes,
            };
        };
        let budgets = Self {
            clients: clients.with_store(FailureScope::CLIENT_ID, Arc::clone(&store)),
            user_codes: user_codes.with_store(FailureScope::USER_CODE, Arc::clone(&store)),
            passwords: passwords.with_store(store),
        };
        spawn_failure_sync(
            [
                budgets.clients.clone(),
                budgets.passwords.per_username.clone(),
                budgets.passwords.per_source.clone(),
                budgets.user_codes.clone(),
            ],
            FAILURE_SYNC,
        );
        budgets
    }
}

fn router(
    server: Arc<Server<ExampleStore>>,
    login: Arc<Login>,
    origins: CorsOrigins,
    failures: AuthFailureLimiter,
) -> Router {
    let show = Arc::clone(&login);
    let (device_show, device_submit) = (Arc::clone(&login), Arc::clone(&login));
    let me_server = Arc::clone(&server);
    let ready_server = Arc::clone(&server);
    // The other routes that need storage: userinfo, the authorization page,
    // the protected resource and readiness, each under the same time limit
    // (503 temporarily_unavailable rather than a hang).
    let needs_storage = openid_routes(Arc::clone(&server))
        .layer(origins.layer())
        .route(
            "/oauth/authorize",
            get(move |request: OAuthRequest| login::show(Arc::clone(&show), request))
                .post(move |request: OAuthRequest| login::submit(Arc::clone(&login), request)),
        )
        .route(
            "/device",
            get(move |request: OAuthRequest| device::show(Arc::clone(&device_show), request))
                .post(move |request: OAuthRequest| device::submit(Arc::clone(&device_submit), request)),
        )
        .route(
            "/api/me",
            get(move |request: OAuthRequest| me(Arc::clone(&me_server), request)),
        )
        .route("/readyz", get(move || ready(Arc::clone(&ready_server))));
    // Token, revocation and introspection: 10 failed client authentications
    // within a minute lock the client id out for a minute (429), and a
    // request that outlives its storage answers 503 temporarily_unavailable.
    OAuthRoutes::new(server)
        .limit_failed_authentications(failures)
        .time_limit(OAUTH_TIME_LIMIT)
        .cors(origins)
        .into_router()
        .merge(time_limited(needs_storage, OAUTH_TIME_LIMIT))
        .route("/assets/login.css", get(login::stylesheet))
        .route("/healthz", get(|| async { "ok" }))
        .layer(TraceLayer::new_for_http())
}

/// `GET /readyz`: `200` while the storage answers a trivial query, `503`
/// (with `Retry-After`) while it does not: whether a load balancer should
/// send requests here. `/healthz` only says that the process runs.
async fn ready(server: Arc<Server<ExampleStore>>) -> axum::response::Response {
    match server.storage().ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready: the storage does not answer");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, "1")],
                "unavailable",
            )
                .into_response()
        }
    }
}

/// How long a request that needs storage may take before it answers `503`.
const OAUTH_TIME_LIMIT: Duration = Duration::from_secs(10);

/// What `/api/me` answers.
#[derive(serde::Serialize)]
struct Me<'a> {
    sub: Option<&'a str>,
    scope: String,
    client_id: &'a str,
}

/// `GET /api/me`: an example protected resource. Its answers (the user's
/// data, or why not) are never cached and never sniffed as another type.
async fn me(server: Arc<Server<ExampleStore>>, request: OAuthRequest) -> axum::response::Response {
    let mut response = match server
        .authenticate_bearer(&request.as_request(), &Scope::empty())
        .await
    {
        Ok(token) => axum::Json(Me {
            sub: token.subject.as_deref(),
            scope: token.scope.to_string(),
            client_id: &token.client_id,
        })
        .into_response(),
        Err(error) => into_axum(error.into_response()),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn apply_seed(store: &ExampleStore, seed: &Seed) -> Result<(), String> {
    for client in &seed.clients {
        store
            .upsert_client(client.record()?)
            .await
            .map_err(|e| e.to_string())?;
    }
    for user in &seed.users {
        store
            .upsert_user(user.record()?)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The demo client and user seeded when no `--seed` is given.
struct Demo {
    client_secret: String,
    password: String,
}

const DEMO_CLIENT: &str = "demo-client";
const DEMO_USER: &str = "demo";
const DEMO_REDIRECT: &str = "http://127.0.0.1:9000/callback";
const DEMO_REDIRECT_ENCODED: &str = "http%3A%2F%2F127.0.0.1%3A9000%2Fcallback";

async fn seed_demo(store: &ExampleStore) -> Result<Demo, String> {
    let secret = NewToken::generate().map_err(|e| e.to_string())?.into_value();
    let password = NewToken::generate().map_err(|e| e.to_string())?.into_value()[..16].to_owned();
    let seed = Seed {
        clients: vec![SeedClient {
            client_id: DEMO_CLIENT.into(),
            client_secret: Some(secret.clone()),
            redirect_uris: vec![DEMO_REDIRECT.into()],
            grant_types: vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "client_credentials".into(),
                granted::GrantType::DeviceCode.as_str().into(),
            ],
            response_types: vec!["code".into()],
            scope: "openid profile email read write".into(),
            token_endpoint_auth_method: None,
            jwks: None,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
        }],
        users: vec![SeedUser {
            username: DEMO_USER.into(),
            password: password.clone(),
            claims: UserClaims::new()
                .with("preferred_username", DEMO_USER)
                .and_then(|claims| claims.with("name", "Demo User"))
                .map_err(|e| e.to_string())?,
        }],
    };
    apply_seed(store, &seed).await?;
    Ok(Demo {
        client_secret: secret,
        password,
    })
}

impl Demo {
    fn print(&self, issuer: &str) {
        let verifier = NewToken::generate().map(NewToken::into_value).unwrap_or_default();
        let challenge = pkce::s256_challenge(&verifier);
        println!(
            "\nDemo client (no --seed given):\n  client_id      {DEMO_CLIENT}\n  client_secret  {secret}\n  redirect_uri   {DEMO_REDIRECT}\n\
             Demo user:\n  username       {DEMO_USER}\n  password       {password}\n\n\
             Client credentials:\n  curl -s -u {DEMO_CLIENT}:{secret} -d grant_type=client_credentials -d scope=read {issuer}/oauth/token\n\n\
             Authorization code + PKCE: open in a browser\n  {issuer}/oauth/authorize?response_type=code&client_id={DEMO_CLIENT}&redirect_uri={DEMO_REDIRECT_ENCODED}&scope=read&state=demo&code_challenge={challenge}&code_challenge_method=S256\n\
             then exchange the code from the redirect (code_verifier {verifier}):\n  curl -s -u {DEMO_CLIENT}:{secret} -d grant_type=authorization_code -d code=CODE -d redirect_uri={DEMO_REDIRECT} -d code_verifier={verifier} {issuer}/oauth/token\n\n\
             Device flow (RFC 8628): ask for codes, open verification_uri_complete in a browser, then poll:\n  curl -s -u {DEMO_CLIENT}:{secret} -d scope=read {issuer}/oauth/device_authorization\n  curl -s -u {DEMO_CLIENT}:{secret} -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d device_code=DEVICE_CODE {issuer}/oauth/token\n",
            secret = self.client_secret,
            password = self.password,
        );
    }
}

/// Loads the public clients' origins now, then again every minute (clients
/// registered by another instance sharing the database included).
async fn spawn_cors_refresh(server: Arc<Server<ExampleStore>>, origins: CorsOrigins) {
    let load = move || {
        let (server, origins) = (Arc::clone(&server), origins.clone());
        async move {
            match server.storage().public_clients().await {
                Ok(clients) => origins.replace_from_clients(&clients),
                Err(error) => tracing::warn!(%error, "loading the public clients for CORS failed"),
            }
        }
    };
    load().await;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            load().await;
        }
    });
}

fn spawn_purge(server: Arc<Server<ExampleStore>>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            if let Err(error) = server.storage().purge_expired().await {
                tracing::warn!(%error, "purging expired tokens failed");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    println!("shutting down");
}
