//! Password checks on tokio's blocking pool.

use crate::Offload;

/// An [`Offload`] running each job on tokio's blocking thread pool
/// (`tokio::task::spawn_blocking`), for
/// [`Policy::with_offload`](crate::Policy::with_offload): argon2 then never
/// stalls the async workers that serve every other request.
///
/// ```no_run
/// # fn run(store: granted::MemoryStore) {
/// let server = granted::Server::new(store)
///     .configure(|policy| policy.with_offload(granted::axum::tokio_offload()));
/// # }
/// ```
pub fn tokio_offload() -> Offload {
    Offload::new(|job| async move {
        // A job that panicked has left no answer: the caller sees `None`.
        let _ = tokio::task::spawn_blocking(job).await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_off_the_async_thread() {
        let caller = std::thread::current().id();
        let ran_on = tokio_offload().run(move || std::thread::current().id()).await;
        assert!(ran_on.is_some_and(|id| id != caller));
    }
}
