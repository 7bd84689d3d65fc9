//! Command-line flags of the example server (contract §3).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use granted::parse_duration;

pub const USAGE: &str = "\
usage: server [--addr HOST:PORT] [--db URL] [--seed FILE] [--issuer URL]
              [--code-ttl DURATION] [--access-token-ttl DURATION] [--refresh-token-ttl DURATION]
              [--device-code-ttl DURATION]
              [--rotate-signing-key] [--key-refresh DURATION]
              [--max-connections N] [--idle-timeout DURATION]

  --addr               listen address (default 127.0.0.1:8080)
  --db                 sqlite://FILE (default sqlite://granted.db), sqlite::memory:, postgres://..., or memory
  --seed               JSON file of clients and users to upsert on start
  --issuer             issuer identifier (default http://<addr>)
  --code-ttl           authorization code lifetime (default 60s)
  --access-token-ttl   access token lifetime (default 1h)
  --refresh-token-ttl  refresh token lifetime (default 30d)
  --device-code-ttl    device code and user code lifetime, device grant (default 10m)
  --rotate-signing-key start signing id_tokens with a new key; the previous keys stay in /jwks.json
                       (with postgres://, once every instance publishes it: after --key-refresh)
  --key-refresh        with postgres://, how often the signing keys are read again from the database,
                       so that keys added or retired by any instance are published within it; a new
                       key signs once stored for longer than it. Give every instance the same value
                       (default 30s)
  --max-connections    open connections at most; the longest-idle one is closed to make room (default 4096)
  --idle-timeout       how long a keep-alive connection may wait for its next request (default 60s)
Durations are a whole number and a unit: s, m, h or d (e.g. 15m).";

/// The parsed flags.
#[derive(Debug, Clone)]
pub struct Args {
    pub addr: SocketAddr,
    pub db: String,
    pub seed: Option<PathBuf>,
    pub issuer: Option<String>,
    pub code_ttl: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub device_code_ttl: Duration,
    pub rotate_signing_key: bool,
    pub key_refresh: Duration,
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Args>),
    Help,
}

/// Parses the flags (without the program name). Errors are one line.
pub fn parse(mut words: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        db: "sqlite://granted.db".into(),
        seed: None,
        issuer: None,
        code_ttl: Duration::from_secs(60),
        access_token_ttl: Duration::from_secs(3600),
        refresh_token_ttl: Duration::from_secs(30 * 86_400),
        device_code_ttl: Duration::from_secs(600),
        rotate_signing_key: false,
        key_refresh: Duration::from_secs(30),
        max_connections: 4096,
        idle_timeout: Duration::from_secs(60),
    };
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (word.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Ok(Command::Help);
        }
        if flag == "--rotate-signing-key" && inline.is_none() {
            args.rotate_signing_key = true;
            continue;
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| words.next())
                .ok_or_else(|| format!("flag {flag} needs a value"))
        };
        match flag.as_str() {
            "--addr" => {
                let text = value()?;
                args.addr = text
                    .parse()
                    .map_err(|_| format!("--addr: `{text}` is not HOST:PORT (e.g. 127.0.0.1:8080)"))?;
            }
            "--db" => args.db = value()?,
            "--seed" => args.seed = Some(PathBuf::from(value()?)),
            "--issuer" => args.issuer = Some(value()?.trim_end_matches('/').to_owned()),
            "--code-ttl" => args.code_ttl = duration(&flag, &value()?)?,
            "--access-token-ttl" => args.access_token_ttl = duration(&flag, &value()?)?,
            "--refresh-token-ttl" => args.refresh_token_ttl = duration(&flag, &value()?)?,
            "--device-code-ttl" => args.device_code_ttl = duration(&flag, &value()?)?,
            "--key-refresh" => args.key_refresh = duration(&flag, &value()?)?,
            "--idle-timeout" => args.idle_timeout = duration(&flag, &value()?)?,
            "--max-connections" => {
                let text = value()?;
                args.max_connections = text
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--max-connections: `{text}` is not a positive number"))?;
            }
            _ => return Err(format!("unknown flag `{word}` (try --help)")),
        }
    }
    Ok(Command::Run(Box::new(args)))
}

fn duration(flag: &str, text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| format!("{flag}: `{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> Result<Args, String> {
        match parse(words.iter().map(|w| (*w).to_owned()))? {
            Command::Run(args) => Ok(*args),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults_follow_the_contract() {
        let args = run(&[]).unwrap();
        assert_eq!(args.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(args.db, "sqlite://granted.db");
        assert_eq!(args.issuer, None);
        assert_eq!(args.code_ttl, Duration::from_secs(60));
        assert!(!args.rotate_signing_key);
        assert_eq!(args.key_refresh, Duration::from_secs(30));
        assert_eq!(
            run(&["--key-refresh", "1s"]).unwrap().key_refresh,
            Duration::from_secs(1)
        );
        assert!(run(&["--rotate-signing-key"]).unwrap().rotate_signing_key);
    }

    #[test]
    fn flags_with_and_without_equals() {
        let args = run(&[
            "--addr",
            "127.0.0.1:0",
            "--access-token-ttl=2s",
            "--issuer",
            "https://as.example/",
        ])
        .unwrap();
        assert_eq!(args.addr.port(), 0);
        assert_eq!(args.access_token_ttl, Duration::from_secs(2));
        assert_eq!(args.issuer.as_deref(), Some("https://as.example"));
    }

    #[test]
    fn bad_flags_are_one_line_errors() {
        for bad in [
            &["--nope"][..],
            &["--addr", "x"],
            &["--code-ttl", "0s"],
            &["--code-ttl", "5w"],
            &["--db"],
        ] {
            let error = run(bad).unwrap_err();
            assert!(!error.contains('\n'), "{error}");
        }
    }
}
