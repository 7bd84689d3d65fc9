//! The baseline of `scripts/bench-http`: a bare axum server that does the
//! work of a `client_credentials` token request without granted, so that the
//! benchmark can say what granted costs on top of the HTTP stack.
//!
//! ```text
//! cargo run --release --example bench_baseline -- --addr 127.0.0.1:8090
//! curl -s -u bench:bench-secret -d grant_type=client_credentials -d scope=read http://127.0.0.1:8090/oauth/token
//! ```
//!
//! Per request it does what granted does for that grant, and nothing more:
//! reads the form body (POST, form content type, no repeated parameter),
//! decodes `Authorization: Basic` with form-urlencoded id and secret (RFC 6749
//! §2.3.1), compares the SHA-256 of the secret with the stored one in
//! constant time, checks the requested scope against the client's, draws 256
//! bits from the operating system, stores their SHA-256 in a
//! `Mutex<HashMap>`, and answers the same JSON with the same headers
//! (`Cache-Control: no-store`, `Pragma: no-cache`).
//!
//! For the resource-server side it also answers `POST /oauth/introspect`
//! (the same client authentication, then one lookup of the token's SHA-256)
//! and `GET /api/me` (`Authorization: Bearer`, one lookup), each with the JSON
//! granted answers, on the in-memory map only.
//!
//! With `--db sqlite::memory:` or `--db sqlite://FILE` it stores the token
//! with one sqlx `INSERT` per request instead (one connection, no ping before
//! each use, WAL and `synchronous = NORMAL` for a file): the same storage as
//! granted's, without granted's group commit, so that the benchmark can
//! compare granted with a bare server on the same storage too.
//!
//! With `--db postgres://USER:PASSWORD@HOST:PORT/DB` (built with
//! `--features postgres`) it does the same on PostgreSQL: one autocommit
//! `INSERT` per request, no batching, on a pool of [`PG_POOL`] connections
//! opened at start and not pinged before each use.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The one client, as `scripts/bench-http` seeds it into the example server.
const CLIENT_ID: &str = "bench";
const CLIENT_SECRET: &str = "bench-secret";
const CLIENT_SCOPE: [&str; 1] = ["read"];
const ACCESS_TOKEN_TTL: u64 = 3600;

/// What the baseline keeps per token, like a token record.
struct Stored {
    client_id: &'static str,
    scope: String,
    expires_at: u64,
}

/// Where tokens go.
enum Tokens {
    Memory(Mutex<HashMap<[u8; 32], Stored>>),
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Connections of the Postgres pool: sqlx's default, which is also the size
/// of granted's Postgres pool, so that both servers keep at most as many
/// PostgreSQL backends busy. A request holds one for a single round trip;
/// with the server on one core and PostgreSQL on the other, a few in flight
/// keep PostgreSQL busy, and ten leave room for bursts of the 32 HTTP
/// connections without making PostgreSQL juggle 32 backends on one core.
#[cfg(feature = "postgres")]
const PG_POOL: u32 = 10;

struct App {
    secret_hash: [u8; 32],
    tokens: Tokens,
}

/// The same fields, in the same order, as granted's token response.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
}

#[derive(Serialize)]
struct ErrorResponse {
    error: &'static str,
    error_description: &'static str,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 8090));
    let mut db = None;
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--addr" => {
                let text = words.next().ok_or("--addr needs HOST:PORT")?;
                addr = text
                    .parse()
                    .map_err(|_| format!("--addr: `{text}` is not HOST:PORT"))?;
            }
            "--db" => db = Some(words.next().ok_or("--db needs a sqlite:// or postgres:// URL")?),
            _ => {
                return Err(format!(
                    "unknown flag `{word}` (usage: bench_baseline [--addr HOST:PORT] [--db SQLITE_URL|POSTGRES_URL])"
                ));
            }
        }
    }
    let tokens = match db {
        None => Tokens::Memory(Mutex::new(HashMap::new())),
        Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => postgres(&url).await?,
        Some(url) => Tokens::Sqlite(sqlite(&url).await?),
    };
    let app = Arc::new(App {
        secret_hash: Sha256::digest(CLIENT_SECRET.as_bytes()).into(),
        tokens,
    });
    let router = Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/introspect", post(introspect))
        .route("/api/me", axum::routing::get(me))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("bench_baseline listening on http://{addr}");
    axum::serve(listener, router)
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// One connection (SQLite has one writer), no ping, and the token table.
async fn sqlite(url: &str) -> Result<sqlx::SqlitePool, String> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
    use std::str::FromStr as _;
    // The same in-memory database as granted's `SqlStore` (SQLite's `memdb`
    // file system: `:memory:` slows down as it grows, see BENCHMARKS.md).
    let options = if url == "sqlite::memory:" {
        SqliteConnectOptions::new()
            .filename("/bench-baseline")
            .vfs("memdb")
            .journal_mode(SqliteJournalMode::Memory)
    } else {
        SqliteConnectOptions::from_str(url)
            .map_err(|e| format!("--db {url}: {e}"))?
            .journal_mode(SqliteJournalMode::Wal)
    }
    .create_if_missing(true)
    .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| format!("--db {url}: {e}"))?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS tokens (hash BLOB NOT NULL PRIMARY KEY, client_id TEXT NOT NULL, \
         scope TEXT NOT NULL, expires_at INTEGER NOT NULL) STRICT",
    )
    .execute(&pool)
    .await
    .map_err(|e| format!("--db {url}: {e}"))?;
    Ok(pool)
}

/// A pool of [`PG_POOL`] connections, no ping, and the token table.
#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<Tokens, String> {
    use sqlx::postgres::PgPoolOptions;
    // The URL carries the password: never print it (granted's redaction,
    // used for error messages only).
    let failed = |e: sqlx::Error| granted::sql::redact_password(&format!("--db {url}: {e}"), url);
    let pool = PgPoolOptions::new()
        .max_connections(PG_POOL)
        .min_connections(PG_POOL)
        .test_before_acquire(false)
        .connect(url)
        .await
        .map_err(failed)?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS tokens (hash BYTEA NOT NULL PRIMARY KEY, client_id TEXT NOT NULL, \
         scope TEXT NOT NULL, expires_at BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await
    .map_err(failed)?;
    Ok(Tokens::Postgres(pool))
}

/// Without the `postgres` feature: says how to build with it.
#[cfg(not(feature = "postgres"))]
async fn postgres(_url: &str) -> Result<Tokens, String> {
    Err(
        "--db postgres://...: this build has no PostgreSQL support; build it with \
         `cargo build --release --features postgres --example bench_baseline`"
            .to_owned(),
    )
}

async fn token(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let issued = match issue(&app, &headers, &body) {
        Ok((hash, stored, response)) => store(&app, hash, stored).await.map(|()| response),
        Err(refusal) => Err(refusal),
    };
    match issued {
        Ok(response) => json(StatusCode::OK, &response),
        Err(refusal) => refused(refusal),
    }
}

type Refusal = (StatusCode, &'static str, &'static str);

/// Stores a token; the response leaves only after this.
async fn store(app: &App, hash: [u8; 32], stored: Stored) -> Result<(), Refusal> {
    match &app.tokens {
        Tokens::Memory(tokens) => {
            tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(hash, stored);
            Ok(())
        }
        Tokens::Sqlite(pool) => {
            sqlx::query("INSERT INTO tokens (hash, client_id, scope, expires_at) VALUES (?, ?, ?, ?)")
                .bind(hash.as_slice())
                .bind(stored.client_id)
                .bind(stored.scope)
                .bind(i64::try_from(stored.expires_at).unwrap_or(i64::MAX))
                .execute(pool)
                .await
                .map(drop)
                .map_err(|_| {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "storage failed",
                    )
                })
        }
        #[cfg(feature = "postgres")]
        Tokens::Postgres(pool) => {
            sqlx::query("INSERT INTO tokens (hash, client_id, scope, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(hash.as_slice())
                .bind(stored.client_id)
                .bind(stored.scope)
                .bind(i64::try_from(stored.expires_at).unwrap_or(i64::MAX))
                .execute(pool)
                .await
                .map(drop)
                .map_err(|_| {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "storage failed",
                    )
                })
        }
    }
}

/// A form parameter: name and value, borrowed from the body unless decoded.
type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The form parameters of a POST body (form content type, no repeated
/// parameter).
fn form<'a>(headers: &HeaderMap, body: &'a [u8]) -> Result<Vec<Pair<'a>>, Refusal> {
    let invalid_request = |why| (StatusCode::BAD_REQUEST, "invalid_request", why);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Err(invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut pairs = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        if pairs.iter().any(|(seen, _)| *seen == name) {
            return Err(invalid_request("a parameter is repeated"));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// A non-empty parameter of the form.
fn param<'a>(pairs: &'a [Pair<'_>], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_ref())
        .filter(|v| !v.is_empty())
}

const INVALID_CLIENT: Refusal = (
    StatusCode::UNAUTHORIZED,
    "invalid_client",
    "client authentication failed",
);

/// `Authorization: Basic` with form-urlencoded id and secret, the secret's
/// SHA-256 compared in constant time.
fn authenticate_client(app: &App, headers: &HeaderMap) -> Result<(), Refusal> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(INVALID_CLIENT)?;
    let (scheme, credentials) = authorization.split_once(' ').ok_or(INVALID_CLIENT)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(INVALID_CLIENT);
    }
    let decoded = STANDARD.decode(credentials.trim()).map_err(|_| INVALID_CLIENT)?;
    let decoded = std::str::from_utf8(&decoded).map_err(|_| INVALID_CLIENT)?;
    let (id, secret) = decoded.split_once(':').ok_or(INVALID_CLIENT)?;
    let id = form_decode(id).ok_or(INVALID_CLIENT)?;
    let secret = form_decode(secret).ok_or(INVALID_CLIENT)?;
    let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    if id != CLIENT_ID || !bool::from(presented.ct_eq(&app.secret_hash)) {
        return Err(INVALID_CLIENT);
    }
    Ok(())
}

/// Checks the request and mints the token; storing it is [`store`]'s.
fn issue(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<([u8; 32], Stored, TokenResponse), Refusal> {
    let pairs = form(headers, body)?;
    if param(&pairs, "grant_type") != Some("client_credentials") {
        return Err((
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials",
        ));
    }
    authenticate_client(app, headers)?;

    let scope = match param(&pairs, "scope") {
        None => CLIENT_SCOPE.join(" "),
        Some(asked) => {
            if asked.split(' ').any(|token| !CLIENT_SCOPE.contains(&token)) {
                return Err((StatusCode::BAD_REQUEST, "invalid_scope", "scope not allowed"));
            }
            asked.to_owned()
        }
    };

    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "server_error", "no randomness"))?;
    let access_token = URL_SAFE_NO_PAD.encode(bytes);
    let hash: [u8; 32] = Sha256::digest(access_token.as_bytes()).into();
    let stored = Stored {
        client_id: CLIENT_ID,
        scope: scope.clone(),
        expires_at: now() + ACCESS_TOKEN_TTL,
    };
    let response = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL,
        scope,
    };
    Ok((hash, stored, response))
}

/// The stored token a presented token value names, if any and unexpired
/// (the in-memory map only).
fn lookup(app: &App, token: &str) -> Option<(&'static str, String, u64)> {
    let Tokens::Memory(tokens) = &app.tokens else {
        return None;
    };
    let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let tokens = tokens.lock().unwrap_or_else(PoisonError::into_inner);
    let stored = tokens.get(&hash)?;
    (stored.expires_at > now()).then(|| (stored.client_id, stored.scope.clone(), stored.expires_at))
}

/// The same fields as granted's introspection answer for a client token.
#[derive(Serialize)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
}

/// `POST /oauth/introspect`: client authentication, then one lookup.
async fn introspect(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = form(&headers, &body).and_then(|pairs| {
        authenticate_client(&app, &headers)?;
        let token = param(&pairs, "token").ok_or((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        ))?;
        Ok(match lookup(&app, token) {
            Some((client_id, scope, exp)) => Introspection {
                active: true,
                client_id: Some(client_id),
                scope: Some(scope),
                exp: Some(exp),
                token_type: Some("Bearer"),
            },
            None => Introspection {
                active: false,
                client_id: None,
                scope: None,
                exp: None,
                token_type: None,
            },
        })
    });
    match answer {
        Ok(answer) => json(StatusCode::OK, &answer),
        Err(refusal) => refused(refusal),
    }
}

/// The same fields as the example server's `/api/me`.
#[derive(Serialize)]
struct Me {
    sub: Option<String>,
    scope: String,
    client_id: &'static str,
}

/// `GET /api/me`: `Authorization: Bearer`, one lookup.
async fn me(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|token| lookup(&app, token)) {
        Some((client_id, scope, _)) => json(
            StatusCode::OK,
            &Me {
                sub: None,
                scope,
                client_id,
            },
        ),
        None => {
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn refused((status, error, error_description): Refusal) -> Response {
    json(
        status,
        &ErrorResponse {
            error,
            error_description,
        },
    )
}

/// Decodes one form-urlencoded component (`+` is a space).
fn form_decode(component: &str) -> Option<String> {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// JSON with the headers granted's token endpoint sends.
fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
