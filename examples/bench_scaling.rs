//! How the cost of issuance, introspection and refresh grows with the number
//! of live tokens in SQLite (`scripts/bench-scaling` runs it).
//!
//! ```text
//! cargo run --release --example bench_scaling -- --tokens 1000,100000,1000000 --ops 2000
//! ```
//!
//! For each size it creates a fresh SQLite file (WAL), fills the `tokens`
//! table in bulk with that many live tokens (one `INSERT ... SELECT` over a
//! recursive sequence, in one transaction), then times, one operation at a
//! time through [`granted::Server`] on [`granted::sql::SqlStore`]:
//!
//! - `issue`: a `client_credentials` token request (client lookup, minting,
//!   one committed insert);
//! - `introspect`: an introspection request for a token stored among the
//!   others (client lookup, one indexed lookup);
//! - `refresh`: a refresh token request with rotation (client lookup, one
//!   indexed lookup, the rotation's update and insert, committed).
//!
//! It prints the median and 99th percentile per operation and size, and with
//! `--out FILE` writes them as JSON.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::sql::{SqlError, SqlStore};
use granted::storage::{CodeStorage as _, RefreshStorage as _, Storage as _};
use granted::{ClientRecord, CodeRecord, NewToken, Request, Scope, Server, TokenHash, TokenRecord};
use sqlx::Connection as _;

/// The benchmark's storage: the SQL store with the grants of the example
/// server (the code grant only so that refresh tokens have a source).
struct Store(SqlStore);

#[granted::server(
    client = ClientRecord,
    token = TokenRecord,
    code = CodeRecord,
    grants(authorization_code(pkce = "S256"), refresh_token(rotate = true), client_credentials),
    access_token_ttl = "1h",
    refresh_token_ttl = "30d",
)]
impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, SqlError> {
        self.0.client(client_id).await
    }
    async fn save_token(&self, token: TokenRecord) -> Result<(), SqlError> {
        self.0.save_token(token).await
    }
    async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, SqlError> {
        self.0.access_token(hash).await
    }
    async fn revoke_token_family(&self, family: &str) -> Result<(), SqlError> {
        self.0.revoke_token_family(family).await
    }
    async fn save_code(&self, code: CodeRecord) -> Result<(), SqlError> {
        self.0.save_code(code).await
    }
    async fn take_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, SqlError> {
        self.0.take_code(hash).await
    }
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, SqlError> {
        self.0.refresh_token(hash).await
    }
    async fn rotate_refresh_token(&self, old: &TokenHash, new: TokenRecord) -> Result<bool, SqlError> {
        self.0.rotate_refresh_token(old, new).await
    }
}

struct Args {
    sizes: Vec<u64>,
    ops: usize,
    dir: PathBuf,
    out: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sizes: vec![1_000, 100_000, 1_000_000],
        ops: 2000,
        dir: std::env::temp_dir(),
        out: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || words.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--tokens" => {
                args.sizes = value()?
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .parse()
                            .map_err(|_| format!("--tokens: `{n}` is not a number"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--ops" => args.ops = value()?.parse().map_err(|_| "--ops needs a number".to_owned())?,
            "--dir" => args.dir = PathBuf::from(value()?),
            "--out" => args.out = Some(PathBuf::from(value()?)),
            _ => {
                return Err(format!(
                    "unknown flag `{flag}` (usage: bench_scaling [--tokens N,N,...] [--ops N] [--dir DIR] [--out FILE])"
                ));
            }
        }
    }
    if args.ops == 0 {
        return Err("--ops must be at least 1".into());
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args = parse_args()?;
    let mut points = Vec::new();
    println!(
        "{:>9}  {:>7}  {:>14}  {:>14}  {:>14}",
        "tokens", "fill s", "issue p50/p99", "introsp. p50/p99", "refresh p50/p99"
    );
    for &size in &args.sizes {
        let point = measure(&args, size).await?;
        println!(
            "{:>9}  {:>7.1}  {:>6.0}/{:<7.0}  {:>6.0}/{:<7.0}  {:>6.0}/{:<7.0}   (µs)",
            point.tokens,
            point.fill.as_secs_f64(),
            point.issue.p50_us,
            point.issue.p99_us,
            point.introspect.p50_us,
            point.introspect.p99_us,
            point.refresh.p50_us,
            point.refresh.p99_us,
        );
        points.push(point);
    }
    if let Some(out) = &args.out {
        let json = serde_json::json!({
            "ops_per_point": args.ops,
            "points": points.iter().map(Point::to_json).collect::<Vec<_>>(),
        });
        std::fs::write(
            out,
            serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(())
}

struct Stats {
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| {
            let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[index].as_secs_f64() * 1e6
        };
        let mean = samples.iter().map(Duration::as_secs_f64).sum::<f64>() / samples.len() as f64;
        Self {
            p50_us: at(0.50),
            p99_us: at(0.99),
            mean_us: mean * 1e6,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"p50_us": self.p50_us, "p99_us": self.p99_us, "mean_us": self.mean_us})
    }
}

struct Point {
    tokens: u64,
    fill: Duration,
    issue: Stats,
    introspect: Stats,
    refresh: Stats,
}

impl Point {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "tokens": self.tokens,
            "fill_s": self.fill.as_secs_f64(),
            "issue": self.issue.to_json(),
            "introspect": self.introspect.to_json(),
            "refresh": self.refresh.to_json(),
        })
    }
}

async fn measure(args: &Args, size: u64) -> Result<Point, String> {
    let path = args.dir.join(format!("granted-scaling-{size}.db"));
    remove_database(&path);
    let url = format!("sqlite://{}", path.display());
    let store = SqlStore::connect(&url).await.map_err(|e| e.to_string())?;
    store
        .upsert_client(
            &ClientRecord::confidential("bench", "bench-secret")
                .grant_types(["client_credentials", "refresh_token"])
                .scope("read write"),
        )
        .await
        .map_err(|e| e.to_string())?;

    // The refresh tokens the refresh phase rotates, one per operation, are
    // part of the live tokens; the rest are filled in bulk.
    let refresh_tokens = seed_refresh_tokens(&store, args.ops).await?;
    let started = Instant::now();
    fill(&url, size.saturating_sub(args.ops as u64)).await?;
    let fill_time = started.elapsed();

    let server = Server::new(Store(store.clone()));
    let headers = headers();
    let mut issued = Vec::with_capacity(args.ops);
    let issue = time(args.ops, async |_| {
        let response = server
            .token(
                &Request::new(&Method::POST, &headers).with_body(b"grant_type=client_credentials&scope=read"),
            )
            .await;
        issued.push(
            ok(&response)?["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        Ok(())
    })
    .await?;
    let introspect = time(args.ops, async |i| {
        let body = format!("token={}", issued[i]);
        let response = server
            .introspect(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
            .await;
        if ok(&response)?["active"] != true {
            return Err("an issued token introspected inactive".into());
        }
        Ok(())
    })
    .await?;
    let refresh = time(args.ops, async |i| {
        let body = format!("grant_type=refresh_token&refresh_token={}", refresh_tokens[i]);
        let response = server
            .token(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
            .await;
        if !ok(&response)?["refresh_token"].is_string() {
            return Err("a refresh gave no new refresh token".into());
        }
        Ok(())
    })
    .await?;
    // Every refresh rotated: the old tokens are marked, not deleted.
    if store
        .refresh_token(&TokenHash::of(&refresh_tokens[0]))
        .await
        .map_err(|e| e.to_string())?
        .is_none_or(|token| !token.rotated)
    {
        return Err("the first refresh token was not rotated".into());
    }
    store.close().await;
    remove_database(&path);
    Ok(Point {
        tokens: size,
        fill: fill_time,
        issue,
        introspect,
        refresh,
    })
}

/// Runs `op` `count` times one after the other, timing each call.
async fn time(count: usize, mut op: impl AsyncFnMut(usize) -> Result<(), String>) -> Result<Stats, String> {
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        op(i).await?;
        samples.push(started.elapsed());
    }
    Ok(Stats::of(samples))
}

fn ok(response: &granted::Response) -> Result<serde_json::Value, String> {
    if response.status() == 200 {
        Ok(response.json())
    } else {
        Err(format!("HTTP {}: {:?}", response.status(), response.json()))
    }
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let basic = format!("Basic {}", STANDARD.encode("bench:bench-secret"));
    if let Ok(value) = HeaderValue::from_str(&basic) {
        headers.insert(AUTHORIZATION, value);
    }
    headers
}

/// Stores `count` live tokens with refresh tokens, each of its own family,
/// and returns the refresh token values.
async fn seed_refresh_tokens(store: &SqlStore, count: usize) -> Result<Vec<String>, String> {
    let now = granted::now();
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        let access = NewToken::generate().map_err(|e| e.to_string())?;
        let refresh = NewToken::generate().map_err(|e| e.to_string())?;
        store
            .save_token(TokenRecord {
                access_token: access.hash(),
                refresh_token: Some(refresh.hash()),
                client_id: "bench".into(),
                subject: Some("user-1".into()),
                scope: Scope::parse("read write").map_err(|e| e.to_string())?,
                family: access.hash().to_string(),
                issued_at: now,
                expires_at: now + 3600,
                refresh_expires_at: Some(now + 30 * 86_400),
                rotated: false,
                refresh_scope: None,
                jkt: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        values.push(refresh.into_value());
    }
    Ok(values)
}

/// Adds `count` live tokens in one transaction: half of them
/// `client_credentials` tokens, half user tokens with a refresh token, each
/// of its own family, with random hashes (as SHA-256 values are).
async fn fill(url: &str, count: u64) -> Result<(), String> {
    let mut connection = sqlx::SqliteConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let now = granted::now();
    let sql = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1) \
        INSERT INTO tokens (access_hash, refresh_hash, client_id, subject, scope, family, \
                            issued_at, expires_at, refresh_expires_at, rotated) \
        SELECT randomblob(32), \
               CASE WHEN n % 2 = 0 THEN randomblob(32) END, \
               'bench', \
               CASE WHEN n % 2 = 0 THEN 'user-' || (n % 1000) END, \
               'read', \
               'bulk-' || n, \
               $2, $2 + 3600, \
               CASE WHEN n % 2 = 0 THEN $2 + 2592000 END, \
               0 \
        FROM seq";
    sqlx::query("PRAGMA cache_size = -262144")
        .execute(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    let mut transaction = connection.begin().await.map_err(|e| e.to_string())?;
    if count > 0 {
        sqlx::query(sql)
            .bind(i64::try_from(count).map_err(|e| e.to_string())?)
            .bind(now)
            .execute(&mut *transaction)
            .await
            .map_err(|e| format!("filling tokens: {e}"))?;
    }
    transaction.commit().await.map_err(|e| e.to_string())?;
    connection.close().await.map_err(|e| e.to_string())
}

fn remove_database(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}
