//! Concurrency against the SQLite storage of the running server.

use crate::support::{TestServer, VERIFIER, authorize_url, consent, http, query_param};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_against_sqlite_exactly_one_succeeds() {
    let server = TestServer::start("sqlite://granted.db", "http://127.0.0.1:9/unused");
    for _ in 0..5 {
        let url = authorize_url(&server, "web", "http://127.0.0.1:9/cb", "read");
        let location = consent(&server, &url, ("alice", "wonderland"), "approve").await;
        let code = query_param(&location, "code").expect("code");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", VERIFIER),
        ];
        let attempts = (0..8).map(|_| {
            let request = http()
                .post(server.url("/oauth/token"))
                .basic_auth("web", Some("web-secret"))
                .form(&form);
            async move { request.send().await.unwrap().status().as_u16() }
        });
        let statuses = futures_join_all(attempts).await;
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
    }
    // Only hashes reach the database file.
    let db = crate::support::read_lossy(&server.dir.join("granted.db"));
    assert!(!db.contains("web-secret") && !db.contains("wonderland"));
}

/// Runs futures concurrently on the runtime and collects their outputs.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}
