//! The axum integration: an extractor that turns an axum request into a
//! runtime [`Request`], a conversion of runtime responses, and
//! a router for the token, revocation, introspection and metadata endpoints.
//!
//! The authorization endpoint needs the application's own login and consent
//! page, so it is not part of [`oauth_routes`]: call
//! [`Server::authorize`](crate::Server::authorize),
//! [`Server::approve`](crate::Server::approve) and
//! [`Server::deny`](crate::Server::deny) from your handlers (the example
//! server shows how).
//!
//! [`OAuthRoutes`] builds the same router with opt-in guards: a limiter
//! answering `429` to a client id after repeated failed authentications
//! (brute force), and a time limit answering `503 temporarily_unavailable`
//! to a request that outlives it (a hanging storage). [`tokio_offload`]
//! moves password checks onto tokio's blocking pool. [`spawn_failure_sync`]
//! keeps limiters that share a store up to date with each other.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::routing::{get, post};

use crate::endpoints::metadata::EndpointPaths;
use crate::storage::ClaimsStorage;
use crate::{Grants, MAX_BODY_BYTES, OAuthError, Request, Response, Server};

mod blocking;
mod cors;
mod deadline;
mod failure_sync;
mod routes;
mod serve;

pub use crate::throttle::{AuthFailureLimit, AuthFailureLimiter};
pub use blocking::{tokio_offload, tokio_offload_unbounded};
pub use cors::{CorsGate, CorsGateFuture, CorsGateLayer, CorsOrigins};
pub use deadline::time_limited;
pub use failure_sync::spawn_failure_sync;
pub use routes::OAuthRoutes;
use routes::{Guards, RouteState};
pub use serve::{BodyTimedOut, ConnectionLimits, Serve, serve};

/// An axum request held whole so that it can be lent to the runtime as a
/// [`Request`]: the body is read once, up to [`MAX_BODY_BYTES`]. A request
/// whose body carries a `Content-Encoding` other than `identity` is refused
/// unread with `415` and an `invalid_request` JSON error
/// ([`Request::check_content_encoding`]).
#[derive(Debug, Clone)]
pub struct OAuthRequest {
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
    peer: Option<IpAddr>,
}

impl OAuthRequest {
    /// The request as the runtime reads it.
    pub fn as_request(&self) -> Request<'_> {
        Request::new(&self.method, &self.headers)
            .with_query(self.uri.query())
            .with_path(self.uri.path())
            .with_body(&self.body)
            .with_peer(self.peer)
    }

    /// The peer's address, when the server recorded it ([`serve`] does, as
    /// `ConnectInfo<SocketAddr>`).
    pub fn peer(&self) -> Option<IpAddr> {
        self.peer
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl<St: Send + Sync> FromRequest<St> for OAuthRequest {
    type Rejection = axum::response::Response;

    async fn from_request(request: axum::extract::Request, _state: &St) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        // An encoded body is refused before a byte of it is read: `415`.
        Request::new(&parts.method, &parts.headers)
            .check_content_encoding()
            .map_err(|error| into_axum(error.into_response()))?;
        // A request known to have no body (a GET) skips the reading machinery.
        let body = if hyper::body::Body::is_end_stream(&body) {
            axum::body::Bytes::new()
        } else {
            axum::body::to_bytes(body, MAX_BODY_BYTES)
                .await
                .map_err(|error| into_axum(body_error(&error)))?
        };
        Ok(Self {
            method: parts.method,
            headers: parts.headers,
            uri: parts.uri,
            body,
            peer,
        })
    }
}

/// The answer to a body that could not be read: `408` when it came too
/// slowly ([`serve`]'s body deadline), `413` when it is too large, `400`
/// otherwise.
fn body_error(error: &axum::Error) -> Response {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<BodyTimedOut>() {
            let body = OAuthError::invalid_request("the request body did not arrive in time").to_json();
            return Response::from_json(StatusCode::REQUEST_TIMEOUT, &body);
        }
        if error.is::<http_body_util::LengthLimitError>() {
            let body = OAuthError::invalid_request("the request body is too large").to_json();
            return Response::from_json(StatusCode::PAYLOAD_TOO_LARGE, &body);
        }
        source = error.source();
    }
    OAuthError::invalid_request("the request body could not be read").into_response()
}

/// Converts a runtime response into an axum response.
pub fn into_axum(response: Response) -> axum::response::Response {
    let (status, headers, body) = response.into_parts();
    let mut out = axum::response::Response::new(Body::from(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

/// A router serving, for `server`:
///
/// | method, path | endpoint |
/// | --- | --- |
/// | `POST /oauth/token` | [`Server::token`] |
/// | `POST /oauth/revoke` | [`Server::revoke`] |
/// | `POST /oauth/introspect` | [`Server::introspect`] |
/// | `POST /oauth/par` | [`Server::pushed_authorization`], when the policy declares `par` (RFC 9126) |
/// | `POST /oauth/device_authorization` | [`Server::device_authorization`], when the policy enables the device grant (RFC 8628) |
/// | `GET /.well-known/oauth-authorization-server` | [`Server::metadata`] for the policy's issuer |
///
/// Merge it into your application's router; [`OAuthRoutes`] builds it with
/// guards.
pub fn oauth_routes<S: Grants>(server: Arc<Server<S>>) -> Router {
    OAuthRoutes::new(server).into_router()
}

/// The endpoints browsers may call (with CORS when configured), and
/// introspection, which only resource servers call.
fn route_table<S: Grants>(cors: Option<&CorsOrigins>, par: bool, device: bool) -> Router<RouteState<S>> {
    let browser = Router::new()
        .route("/oauth/token", post(token::<S>))
        .route("/oauth/revoke", post(revoke::<S>))
        .route("/.well-known/oauth-authorization-server", get(metadata::<S>));
    let browser = match cors {
        Some(origins) => browser.layer(origins.layer()),
        None => browser,
    };
    let router = browser.route("/oauth/introspect", post(introspect::<S>));
    // Pushed requests come from clients' back ends, never from browsers.
    let router = if par {
        router.route("/oauth/par", post(pushed_authorization::<S>))
    } else {
        router
    };
    // Device authorization requests come from devices, never from browsers.
    if device {
        router.route("/oauth/device_authorization", post(device_authorization::<S>))
    } else {
        router
    }
}

async fn device_authorization<S: Grants>(
    State(server): State<Arc<Server<S>>>,
    State(guards): State<Guards>,
    request: OAuthRequest,
) -> axum::response::Response {
    guards
        .run(
            &request,
            Box::pin(server.device_authorization(&request.as_request())),
        )
        .await
}

async fn pushed_authorization<S: Grants>(
    State(server): State<Arc<Server<S>>>,
    State(guards): State<Guards>,
    request: OAuthRequest,
) -> axum::response::Response {
    guards
        .run(&request, server.pushed_authorization(&request.as_request()))
        .await
}

async fn token<S: Grants>(
    State(server): State<Arc<Server<S>>>,
    State(guards): State<Guards>,
    request: OAuthRequest,
) -> axum::response::Response {
    // Boxed: the endpoint's future is a few KiB, which would otherwise be
    // copied into each future wrapping it (the guards, the time limit, axum's
    // own box) on every request.
    guards
        .run(&request, Box::pin(server.token(&request.as_request())))
        .await
}

async fn revoke<S: Grants>(
    State(server): State<Arc<Server<S>>>,
    State(guards): State<Guards>,
    request: OAuthRequest,
) -> axum::response::Response {
    guards
        .run(&request, Box::pin(server.revoke(&request.as_request())))
        .await
}

async fn introspect<S: Grants>(
    State(server): State<Arc<Server<S>>>,
    State(guards): State<Guards>,
    request: OAuthRequest,
) -> axum::response::Response {
    guards
        .run(&request, Box::pin(server.introspect(&request.as_request())))
        .await
}

async fn metadata<S: Grants>(State(server): State<Arc<Server<S>>>) -> axum::response::Response {
    let issuer = server.policy().issuer().unwrap_or_default();
    let document = server.metadata(issuer, &EndpointPaths::default());
    let mut response = Response::from_json(StatusCode::OK, &document);
    // Metadata is public and may be cached, unlike token responses.
    response.insert_header(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    into_axum(response)
}

/// A router serving the OpenID Connect endpoints of `server` (merge it
/// beside [`oauth_routes`]):
///
/// | method, path | endpoint |
/// | --- | --- |
/// | `GET`, `POST /userinfo` | [`Server::userinfo`] |
/// | `GET /.well-known/openid-configuration` | [`Server::metadata`]: the same document as RFC 8414's |
/// | `GET /jwks.json` | the public signing keys, [`crate::oidc::KeyRing::jwks`] |
pub fn openid_routes<S: Grants + ClaimsStorage>(server: Arc<Server<S>>) -> Router {
    Router::new()
        .route("/userinfo", get(userinfo::<S>).post(userinfo::<S>))
        .route("/.well-known/openid-configuration", get(metadata::<S>))
        .route("/jwks.json", get(jwks::<S>))
        .with_state(server)
}

async fn userinfo<S: Grants + ClaimsStorage>(
    State(server): State<Arc<Server<S>>>,
    request: OAuthRequest,
) -> axum::response::Response {
    into_axum(server.userinfo(&request.as_request()).await)
}

async fn jwks<S: Grants>(State(server): State<Arc<Server<S>>>) -> axum::response::Response {
    let mut response = Response::from_json(StatusCode::OK, &server.signing_keys().jwks());
    // Short enough that a rotated-in key is picked up well before it signs alone.
    response.insert_header(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    into_axum(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn extract(encoding: Option<&str>) -> Result<OAuthRequest, axum::response::Response> {
        let mut request = axum::http::Request::post("/oauth/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(encoding) = encoding {
            request = request.header(header::CONTENT_ENCODING, encoding);
        }
        let request = request
            .body(Body::from("grant_type=client_credentials"))
            .map_err(|_| into_axum(OAuthError::server_error().into_response()))?;
        OAuthRequest::from_request(request, &()).await
    }

    #[tokio::test]
    async fn an_encoded_body_is_refused_with_415_invalid_request() {
        for encoding in ["gzip", "br", "identity, deflate"] {
            let Err(rejection) = extract(Some(encoding)).await else {
                panic!("{encoding} accepted");
            };
            assert_eq!(
                rejection.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{encoding}"
            );
            let body = axum::body::to_bytes(rejection.into_body(), 1024)
                .await
                .unwrap_or_default();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            assert_eq!(json["error"], "invalid_request", "{encoding}");
        }
        for encoding in [None, Some("identity")] {
            let Ok(request) = extract(encoding).await else {
                panic!("{encoding:?} refused");
            };
            let params = request.as_request().form().expect("a plain form");
            assert_eq!(params.get("grant_type"), Some("client_credentials"));
        }
    }
}
