//! CORS for browser-based public clients: the endpoints a single-page app
//! calls (metadata, JWKS, token, revocation, userinfo) answer pre-flights
//! and carry `Access-Control-Allow-Origin` for the origins of public
//! clients' registered redirect URIs, and for no other origin.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, Request, Response, header};
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};

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

    /// The CORS layer for these origins: `GET`/`POST`, the `Authorization`,
    /// `Content-Type` and `DPoP` request headers, no credentials (cookies),
    /// pre-flights cached 10 minutes (see [`CorsGateLayer`]).
    pub fn layer(&self) -> CorsGateLayer {
        let origins = self.clone();
        let cors = CorsLayer::new()
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
            .max_age(Duration::from_secs(600));
        CorsGateLayer { cors: Arc::new(cors) }
    }
}

/// What tower-http's CORS layer adds to every response, so that a cache
/// keeps the answers to different origins apart.
const VARY: HeaderValue =
    HeaderValue::from_static("origin, access-control-request-method, access-control-request-headers");

/// A CORS layer that sends only browser requests (those with an `Origin`
/// header, pre-flights included) through tower-http's CORS, and gives every
/// other request just the `Vary` header CORS would add.
///
/// Most requests to an authorization server come from servers, not
/// browsers. tower-http's layer is cloned with the route for every request
/// (its lists of methods and headers with it) and builds its `Vary` header
/// each time, which cost about a tenth of a token request: with this gate
/// that cost is paid by browser requests alone.
#[derive(Debug, Clone)]
pub struct CorsGateLayer {
    cors: Arc<CorsLayer>,
}

impl<S> Layer<S> for CorsGateLayer {
    type Service = CorsGate<S>;

    fn layer(&self, inner: S) -> CorsGate<S> {
        CorsGate {
            inner,
            cors: Arc::clone(&self.cors),
        }
    }
}

/// The service of [`CorsGateLayer`].
#[derive(Debug, Clone)]
pub struct CorsGate<S> {
    inner: S,
    cors: Arc<CorsLayer>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CorsGate<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CorsGateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if !request.headers().contains_key(header::ORIGIN) {
            return CorsGateFuture {
                inner: GateFuture::Plain {
                    future: self.inner.call(request),
                },
            };
        }
        // The service polled ready goes to CORS; a clone stays for next time.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let mut cors: Cors<S> = self.cors.layer(ready);
        CorsGateFuture {
            inner: GateFuture::Cors {
                future: cors.call(request),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`CorsGate`].
    pub struct CorsGateFuture<F> {
        #[pin]
        inner: GateFuture<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = GateProjection]
    enum GateFuture<F> {
        // A request without `Origin`.
        Plain {
            #[pin]
            future: F,
        },
        // A browser request, through tower-http's CORS.
        Cors {
            #[pin]
            future: tower_http::cors::ResponseFuture<F>,
        },
    }
}

impl<F, B, E> Future for CorsGateFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            GateProjection::Plain { future } => future.poll(cx).map_ok(|mut response| {
                response.headers_mut().append(header::VARY, VARY);
                response
            }),
            GateProjection::Cors { future } => future.poll(cx),
        }
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
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt as _;

    fn app() -> Router {
        let origins = CorsOrigins::default();
        origins.replace(HashSet::from(["https://app.example".to_owned()]));
        Router::new()
            .route("/oauth/token", post(|| async { "ok" }))
            .layer(origins.layer())
    }

    async fn send(request: Request<Body>) -> Response<Body> {
        match app().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    fn post_from(origin: Option<&str>) -> Request<Body> {
        let mut request = Request::post("/oauth/token");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn requests_without_origin_bypass_cors_but_keep_its_vary_header() {
        let response = send(post_from(None)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::VARY], VARY);
        assert!(
            !response
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
    }

    #[tokio::test]
    async fn browser_requests_go_through_cors() {
        let allowed = send(post_from(Some("https://app.example"))).await;
        assert_eq!(
            allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        assert!(allowed.headers().contains_key(header::VARY));
        let refused = send(post_from(Some("https://evil.example"))).await;
        assert!(
            !refused
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
        let preflight = Request::options("/oauth/token")
            .header(header::ORIGIN, "https://app.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap();
        let preflight = send(preflight).await;
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        assert!(
            preflight
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_METHODS)
        );
    }

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
