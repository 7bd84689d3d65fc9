//! CORS for browser-based public clients: the endpoints a single-page app
//! calls (metadata, JWKS, token, revocation, userinfo) answer pre-flights
//! and carry `Access-Control-Allow-Origin` for the origins of public
//! clients' registered redirect URIs, and for no other origin.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{ClientModel, ClientModelExt as _};

/// The origins browsers may call the OAuth endpoints from, shared and
/// replaceable while the server runs (clones share the set).
///
/// ```
/// use granted::ClientRecord;
/// use granted::axum::CorsOrigins;
///
/// let spa = ClientRecord::public("spa").redirect_uris(["https://app.example/cb"]);
/// let web = ClientRecord::confidential("web", "s3cret").redirect_uris(["https://web.example/cb"]);
/// let origins = CorsOrigins::default();
/// origins.replace_from_clients([&spa, &web]);
/// assert!(origins.allows("https://app.example"));
/// assert!(!origins.allows("https://web.example"), "confidential clients call from their servers");
/// ```
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins {
    origins: Arc<RwLock<HashSet<String>>>,
}

impl CorsOrigins {
    /// Replaces the allowed origins with those of the public clients'
    /// redirect URIs among `clients` (http and https URIs only).
    pub fn replace_from_clients<'a, C: ClientModel + 'a>(&self, clients: impl IntoIterator<Item = &'a C>) {
        let origins = clients
            .into_iter()
            .filter(|client| client.is_public())
            .flat_map(|client| client.redirect_uris().filter_map(origin_of).collect::<Vec<_>>())
            .collect();
        self.replace(origins);
    }

    /// Replaces the allowed origins (`scheme://host[:port]`, as browsers
    /// send them in `Origin`).
    pub fn replace(&self, origins: HashSet<String>) {
        *self
            .origins
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = origins;
    }

    /// Whether `origin` is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(origin)
    }

    /// A tower-http CORS layer for these origins: `GET`/`POST`, the
    /// `Authorization`, `Content-Type` and `DPoP` request headers, no
    /// credentials (cookies), pre-flights cached 10 minutes.
    pub fn layer(&self) -> CorsLayer {
        let origins = self.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                origin.to_str().is_ok_and(|origin| origins.allows(origin))
            }))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("dpop"),
            ])
            .expose_headers([header::WWW_AUTHENTICATE, HeaderName::from_static("dpop-nonce")])
            .max_age(Duration::from_secs(600))
    }
}

/// `scheme://host[:port]` of an http(s) URI; the default port is left out,
/// as browsers do in `Origin`.
fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            origin_of("http://127.0.0.1:9000/cb?x=1").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            origin_of("HTTPS://App.Example:443/cb").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(origin_of("com.example.app:/cb"), None);
        assert_eq!(origin_of("https://user@evil.example/cb"), None);
    }
}
