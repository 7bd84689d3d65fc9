//! RFC 6819 §4.4.1 / §5.2 (hostile input): repeated parameters, bodies that
//! are not forms, huge bodies, invalid encodings and odd Authorization
//! headers are a clear `invalid_request` or `invalid_client`: never a panic,
//! never a `5xx`.

use granted::MAX_BODY_BYTES;
use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::{MemoryStore, Request, Response, Server};

use crate::support::*;

const EXPECTED: &[&str] = &["invalid_request", "invalid_client"];

fn assert_clean_refusal(response: &Response, what: &str) {
    assert!(
        response.status() == 400 || response.status() == 401,
        "{what}: status {}",
        response.status()
    );
    let error = error_of(response);
    assert!(EXPECTED.contains(&error.as_str()), "{what}: {error}");
    assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
}

async fn all_endpoints(
    server: &Server<MemoryStore>,
    headers: &HeaderMap,
    method: &Method,
    body: &[u8],
) -> [Response; 3] {
    let request = || Request::new(method, headers).with_body(body);
    [
        server.token(&request()).await,
        server.revoke(&request()).await,
        server.introspect(&request()).await,
    ]
}

fn form(authorization: Option<&[u8]>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Some(value) = authorization {
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(value).expect("header bytes"),
        );
    }
    headers
}

#[tokio::test]
async fn repeated_parameters_are_invalid_request_everywhere() {
    let server = server();
    let bodies = [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=password&username=alice&username=mallory&password=x",
        "grant_type=client_credentials&client_id=post&client_id=web&client_secret=x",
        "grant_type=client_credentials&client_id=post&client_secret=a&client_secret=b",
        "token=a&token=b&client_id=post&client_secret=x",
        "grant_type=authorization_code&code=a&code=",
        "grant_type=refresh_token&refresh_token=a&refresh_token=b&scope=x&scope=y",
    ];
    for body in bodies {
        let headers = form(Some(b"Basic d2ViOnNlY3JldA=="));
        for response in all_endpoints(&server, &headers, &Method::POST, body.as_bytes()).await {
            assert_clean_refusal(&response, body);
            assert_eq!(error_of(&response), "invalid_request", "{body}");
        }
    }
}

#[tokio::test]
async fn non_form_bodies_and_methods_are_invalid_request() {
    let server = server();
    let body = format!("grant_type=client_credentials&client_id=post&client_secret={POST_SECRET}");
    for content_type in [
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        Some("application/x-www-form-urlencodedx"),
        Some(""),
    ] {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).expect("ct"));
        }
        for response in all_endpoints(&server, &headers, &Method::POST, body.as_bytes()).await {
            assert_clean_refusal(&response, &format!("{content_type:?}"));
        }
    }
    let json = br#"{"grant_type":"client_credentials","client_id":"post"}"#;
    for response in all_endpoints(&server, &form(None), &Method::POST, json).await {
        assert_clean_refusal(&response, "json in a form");
    }
    for method in [Method::GET, Method::PUT, Method::DELETE, Method::OPTIONS] {
        for response in all_endpoints(&server, &form(None), &method, body.as_bytes()).await {
            assert_clean_refusal(&response, method.as_str());
        }
    }
    // Credentials in the query string are refused (RFC 6749 §3.2).
    let headers = form(None);
    let query = format!("client_secret={POST_SECRET}");
    let response = server
        .token(
            &Request::new(&Method::POST, &headers)
                .with_query(Some(&query))
                .with_body(b"grant_type=client_credentials&client_id=post"),
        )
        .await;
    assert_clean_refusal(&response, "query");
}

#[tokio::test]
async fn huge_bodies_and_parameter_floods_are_invalid_request() {
    let server = server();
    let headers = form(None);
    let huge = [
        b"grant_type=client_credentials&client_id=post&x=".as_slice(),
        &vec![b'a'; MAX_BODY_BYTES],
    ]
    .concat();
    let flood: String = (0..1000).map(|i| format!("p{i}=v&")).collect();
    let long_name = format!("{}=1", "n".repeat(MAX_BODY_BYTES - 2));
    for body in [
        huge,
        flood.into_bytes(),
        long_name.into_bytes(),
        vec![b'&'; MAX_BODY_BYTES + 1],
    ] {
        for response in all_endpoints(&server, &headers, &Method::POST, &body).await {
            assert_clean_refusal(&response, &format!("{} bytes", body.len()));
        }
    }
}

#[tokio::test]
async fn invalid_utf8_and_percent_encoding_never_panic() {
    let server = server();
    let headers = form(None);
    let bodies: [&[u8]; 10] = [
        b"grant_type=client_credentials&client_id=%FF%FE&client_secret=x",
        b"grant_type=client_credentials&client_id=\xff\xfe&client_secret=x",
        b"grant_type=%&client_id=post",
        b"grant_type=client_credentials&client_id=post%&client_secret=%zz",
        b"grant_type=client%00credentials",
        b"\x00\x01\x02=\x03",
        b"=value",
        b"grant_type=authorization_code&code=%C0%AF&client_id=spa",
        b"grant_type=refresh_token&refresh_token=%ED%A0%80&client_id=spa",
        b"token=%F0%9F%92%A9&client_id=%E2%80%AE",
    ];
    for body in bodies {
        for response in all_endpoints(&server, &headers, &Method::POST, body).await {
            assert!(
                response.status().is_client_error(),
                "{body:?}: {}",
                response.status()
            );
            assert!(response.json()["error"].is_string(), "{body:?}");
        }
    }
}

#[tokio::test]
async fn weird_authorization_headers_are_invalid_request_or_invalid_client() {
    let server = server();
    let body = b"grant_type=client_credentials&token=abc";
    let headers: [&[u8]; 18] = [
        b"Basic",
        b"Basic ",
        b"Basic !!!!",
        b"Basic =",
        b"Basic Og==",             // ":"
        b"Basic c3Zj",             // "svc" (no colon)
        b"Basic c3ZjOg==",         // "svc:"
        b"Basic OnN2Yy1zZWNyZXQ=", // ":svc-secret"
        b"Basic c3ZjOnN2Yzp4",     // "svc:svc:x"
        b"Basic /w==",             // 0xFF
        b"Basic JUZGOng=",         // "%FF:x"
        b"Basic JTpiYWQ=",         // "%:bad"
        b"Bearer abc",
        b"basic c3ZjOng=",
        b"Basic  c3ZjOng=",
        b"Digest username=\"svc\"",
        b"Basic \xff\xfe",
        b"\x80\x81",
    ];
    for value in headers {
        let headers = form(Some(value));
        for response in all_endpoints(&server, &headers, &Method::POST, body).await {
            assert_clean_refusal(&response, &String::from_utf8_lossy(value));
        }
    }
    // A repeated Authorization header.
    let mut headers = form(Some(b"Basic c3ZjOng="));
    headers.append(AUTHORIZATION, HeaderValue::from_static("Basic c3ZjOng="));
    for response in all_endpoints(&server, &headers, &Method::POST, body).await {
        assert_clean_refusal(&response, "repeated header");
    }
    // An enormous one.
    let long = format!("Basic {}", "A".repeat(64 * 1024));
    let headers = form(Some(long.as_bytes()));
    for response in all_endpoints(&server, &headers, &Method::POST, body).await {
        assert_clean_refusal(&response, "64 KiB header");
    }
}

#[tokio::test]
async fn hostile_authorization_queries_show_an_error_page() {
    let server = server();
    let long = "a".repeat(100_000);
    let queries = [
        "%",
        "%FF%FE=%FF",
        "client_id=%00",
        "client_id=web&client_id=web",
        "\u{0}\u{1}",
        long.as_str(),
        "client_id=web&redirect_uri=%E2%80%AE",
    ];
    for query in queries {
        let result = authorize(&server, query).await;
        let Err(error) = result else {
            panic!("{query:?}: accepted")
        };
        assert!(matches!(error, granted::AuthorizeError::Display(_)), "{query:?}");
        assert_eq!(error.into_response().status(), 400);
    }
}

/// Issue 14 (the outside review): `error_description` echoed a quote,
/// `<script>`, CR, LF and NUL from `prompt`, and NUL from `grant_type`. Only
/// RFC 6749 characters (`%x20-21 / %x23-5B / %x5D-7E`) may appear, and the
/// hostile value is not quoted at all.
#[tokio::test]
async fn error_descriptions_never_echo_hostile_input() {
    let server = server();
    let allowed = |text: &str| text.chars().all(granted::is_description_char);
    for prompt in [
        "x\"y",
        "<script>alert(1)</script>",
        "login\r\nSet-Cookie: a=b",
        "none\0",
    ] {
        let query = auth_query("web", &format!("&prompt={}", enc(prompt)));
        let Err(granted::AuthorizeError::Redirect(redirect)) = authorize(&server, &query).await else {
            panic!("prompt {prompt:?} accepted");
        };
        assert_eq!(redirect.param("error"), Some("invalid_request"));
        let description = redirect.param("error_description").unwrap_or_default();
        assert!(allowed(description), "{description:?}");
        assert!(
            !description.contains("script") && !description.contains("Set-Cookie"),
            "{description:?}"
        );
    }
    for grant_type in ["client_credentials\0", "<script>x</script>", "a\"b"] {
        let body = format!("grant_type={}", enc(grant_type));
        let response = token(&server, Auth::Basic("svc", SVC_SECRET), &body).await;
        assert_eq!(error_of(&response), "unsupported_grant_type");
        let description = response.json()["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(allowed(&description), "{description:?}");
        assert!(
            !description.contains("script") && !description.contains("client_credentials"),
            "{description:?}"
        );
    }
    let body = format!("grant_type=client_credentials&{0}=1&{0}=2", enc("<b>\"x\"</b>"));
    let response = token(&server, Auth::Basic("svc", SVC_SECRET), &body).await;
    let description = response.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        allowed(&description) && !description.contains("<b>"),
        "{description:?}"
    );
}

/// Issue 14: a form body with `Content-Encoding: gzip` was read as plain
/// text. Every endpoint reading a form answers `415` with `invalid_request`.
#[tokio::test]
async fn encoded_form_bodies_are_415_invalid_request_everywhere() {
    let server = server();
    for encoding in ["gzip", "br", "deflate, identity"] {
        let mut headers = form(None);
        headers.insert(
            granted::http::header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding),
        );
        let body = format!("grant_type=client_credentials&token=x&client_id=svc&client_secret={SVC_SECRET}");
        for response in all_endpoints(&server, &headers, &Method::POST, body.as_bytes()).await {
            assert_eq!(response.status(), 415, "{encoding}");
            assert_eq!(error_of(&response), "invalid_request", "{encoding}");
            assert_eq!(response.header("cache-control"), Some("no-store"));
        }
    }
}

/// OIDC Core §6 / RFC 9101: request objects are not supported, and the
/// answer says so by name (`request_not_supported`,
/// `request_uri_not_supported`), redirected to the client like other errors
/// once client and redirect URI are known good; never processed.
#[tokio::test]
async fn request_objects_are_refused_by_name() {
    let server = server();
    for (extra, error) in [
        (
            "&request=eyJhbGciOiJub25lIn0.eyJzY29wZSI6ImFkbWluIn0.",
            "request_not_supported",
        ),
        (
            "&request_uri=https%3A%2F%2Fevil.example%2Fr",
            "request_uri_not_supported",
        ),
    ] {
        let Err(granted::AuthorizeError::Redirect(redirect)) =
            authorize(&server, &auth_query("web", extra)).await
        else {
            panic!("{extra} accepted or not redirected");
        };
        assert_eq!(redirect.param("error"), Some(error));
        assert!(redirect.location().is_some_and(|l| l.starts_with(REDIRECT)));
    }
}
