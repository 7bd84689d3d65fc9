//! Database URLs without their passwords, for logs and error messages.

/// The mask that replaces a password.
const MASK: &str = "***";

/// `url` with its password masked: `postgres://user:secret@host/db` becomes
/// `postgres://user:***@host/db`, and a `password=` query parameter is
/// masked too. A URL without a password comes back unchanged.
///
/// ```
/// use granted::sql::redact_url;
///
/// assert_eq!(
///     redact_url("postgres://granted:s3cret@db.internal:5432/granted?sslmode=require"),
///     "postgres://granted:***@db.internal:5432/granted?sslmode=require"
/// );
/// assert_eq!(redact_url("postgres://h/db?password=s3cret"), "postgres://h/db?password=***");
/// assert_eq!(redact_url("sqlite://granted.db"), "sqlite://granted.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let (authority_start, authority_end) = authority(url);
    let authority = &url[authority_start..authority_end];
    out.push_str(&url[..authority_start]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(MASK);
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let rest = &url[authority_end..];
    match rest.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}={MASK}"),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
        }
        None => out.push_str(rest),
    }
    out
}

/// `text` (an error message, a log line) with every appearance of the
/// password of `url` masked: the whole URL, and the password itself as
/// written in the URL and percent-decoded.
///
/// ```
/// use granted::sql::redact_password;
///
/// let url = "postgres://granted:p%40ss@127.0.0.1/granted";
/// let message = format!("cannot connect to {url}: password authentication failed (p@ss)");
/// assert_eq!(
///     redact_password(&message, url),
///     "cannot connect to postgres://granted:***@127.0.0.1/granted: password authentication failed (***)"
/// );
/// ```
pub fn redact_password(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &redact_url(url));
    for password in passwords(url) {
        let decoded = percent_decode(&password);
        for secret in [password, decoded] {
            if !secret.is_empty() && secret != MASK {
                out = out.replace(&secret, MASK);
            }
        }
    }
    out
}

/// Where the authority (`user:password@host:port`) of `url` starts and ends.
fn authority(url: &str) -> (usize, usize) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    (start, end)
}

/// The passwords a URL holds, as written: in its user info and in
/// `password=` query parameters.
fn passwords(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let (start, end) = authority(url);
    if let Some((userinfo, _)) = url[start..end].rsplit_once('@')
        && let Some((_, password)) = userinfo.split_once(':')
    {
        found.push(password.to_owned());
    }
    if let Some((_, query)) = url[end..].split_once('?') {
        found.extend(query.split('&').filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            name.eq_ignore_ascii_case("password")
                .then(|| value.split('#').next().unwrap_or_default().to_owned())
        }));
    }
    found
}

/// Decodes `%XX` escapes (and `+` as a space in query values is left alone:
/// a password keeps its `+`); invalid escapes stay as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_and_everything_else_kept() {
        for (url, redacted) in [
            (
                "postgres://granted:s3cret@127.0.0.1:5432/granted",
                "postgres://granted:***@127.0.0.1:5432/granted",
            ),
            (
                "postgresql://u:p%40ss:w@host/db?sslmode=disable&password=two",
                "postgresql://u:***@host/db?sslmode=disable&password=***",
            ),
            ("postgres://user@host/db", "postgres://user@host/db"),
            ("postgres://host/db", "postgres://host/db"),
            ("postgres://u:@host", "postgres://u:***@host"),
            ("sqlite://granted.db", "sqlite://granted.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("memory", "memory"),
            (
                "postgres://u:pw@host?password=x#frag",
                "postgres://u:***@host?password=***",
            ),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn a_password_is_masked_wherever_a_message_holds_it() {
        let url = "postgres://granted:p%40ss@127.0.0.1/granted?password=q%2Br";
        let text = format!("{url} failed: p%40ss, p@ss, q%2Br, q+r");
        let redacted = redact_password(&text, url);
        assert_eq!(
            redacted,
            "postgres://granted:***@127.0.0.1/granted?password=*** failed: ***, ***, ***, ***"
        );
        assert_eq!(redact_password("nothing here", "sqlite://x.db"), "nothing here");
    }

    #[test]
    fn percent_decoding_leaves_broken_escapes() {
        assert_eq!(percent_decode("a%41%zz%4"), "aA%zz%4");
    }
}
