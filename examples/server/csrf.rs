//! CSRF tokens of the login form, bound to the server and to the request.
//!
//! The browser holds a random value in a cookie; the form carries
//! `ISSUED.MAC`, where MAC is HMAC-SHA256 under the server's key (shared by
//! every instance through the database) over the cookie value, the
//! authorization request's parameters and `ISSUED`. So a value the server
//! never issued is refused, a form made for one client or request cannot be
//! posted for another, a form from another browser (another cookie) is
//! refused, and a form older than [`MAX_AGE`] is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use granted::{Params, UnixTime};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// How long a form stays valid, in seconds.
pub const MAX_AGE: i64 = 3600;

/// The key of the CSRF MACs: an HMAC keyed once, cloned for each MAC.
pub struct CsrfKey(Hmac<Sha256>);

impl CsrfKey {
    /// A key made from a high-entropy shared secret.
    pub fn new(secret: &str) -> Result<Self, String> {
        <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret.as_bytes())
            .map(Self)
            .map_err(|e| format!("the CSRF key: {e}"))
    }

    /// The form token for the browser's `cookie` value and the request's
    /// `params` (those not in `skip`), issued at `now`.
    pub fn issue(&self, cookie: &str, params: &Params<'_>, skip: &[&str], now: UnixTime) -> String {
        let mac = self.mac(cookie, params, skip, now).finalize().into_bytes();
        format!("{now}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Whether `token` was issued by this key for this cookie and these
    /// params, no longer than [`MAX_AGE`] before `now` (compared in constant time).
    pub fn verify(
        &self,
        token: &str,
        cookie: &str,
        params: &Params<'_>,
        skip: &[&str],
        now: UnixTime,
    ) -> bool {
        let Some((issued, mac)) = token.split_once('.') else {
            return false;
        };
        let Ok(issued) = issued.parse::<UnixTime>() else {
            return false;
        };
        if !(now - MAX_AGE..=now + 60).contains(&issued) {
            return false;
        }
        let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
            return false;
        };
        self.mac(cookie, params, skip, issued).verify_slice(&mac).is_ok()
    }

    fn mac(&self, cookie: &str, params: &Params<'_>, skip: &[&str], issued: UnixTime) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        let mut fields: Vec<(&str, &str)> = params.iter().filter(|(name, _)| !skip.contains(name)).collect();
        fields.sort_unstable();
        // Length-prefixed, so that no two different inputs read alike.
        let mut feed = |part: &[u8]| {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(part);
        };
        feed(b"granted login form");
        feed(&issued.to_be_bytes());
        feed(cookie.as_bytes());
        for (name, value) in fields {
            feed(name.as_bytes());
            feed(value.as_bytes());
        }
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Params<'_> {
        Params::parse(body.as_bytes()).unwrap()
    }

    const SKIP: &[&str] = &["csrf", "username", "password", "decision"];

    #[test]
    fn a_token_holds_for_its_cookie_and_request_only() {
        let key = CsrfKey::new("server secret").unwrap();
        let request = params("client_id=web&redirect_uri=http%3A%2F%2Fa%2Fcb&state=s");
        let token = key.issue("cookie-1", &request, SKIP, 1_000);
        assert!(key.verify(&token, "cookie-1", &request, SKIP, 1_010));
        let posted = params("client_id=web&redirect_uri=http%3A%2F%2Fa%2Fcb&state=s&username=a&csrf=x");
        assert!(
            key.verify(&token, "cookie-1", &posted, SKIP, 1_010),
            "form fields are not bound"
        );
        assert!(
            !key.verify(&token, "cookie-2", &request, SKIP, 1_010),
            "another browser"
        );
        let other = params("client_id=evil&redirect_uri=http%3A%2F%2Fa%2Fcb&state=s");
        assert!(
            !key.verify(&token, "cookie-1", &other, SKIP, 1_010),
            "another client"
        );
        assert!(
            !CsrfKey::new("other")
                .unwrap()
                .verify(&token, "cookie-1", &request, SKIP, 1_010),
            "another server"
        );
        assert!(
            !key.verify(&token, "cookie-1", &request, SKIP, 1_000 + MAX_AGE + 1),
            "expired"
        );
        assert!(
            !key.verify("cookie-1", "cookie-1", &request, SKIP, 1_010),
            "cookie equals field"
        );
        assert!(
            !key.verify("1000.AAAA", "cookie-1", &request, SKIP, 1_010),
            "never issued"
        );
    }
}
