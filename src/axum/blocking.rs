//! Password checks on tokio's blocking pool.

use crate::Offload;

/// An [`Offload`] running each job on tokio's blocking thread pool
/// (`tokio::task::spawn_blocking`), for
/// [`Policy::with_offload`](crate::Policy::with_offload): argon2 then never
/// stalls the async workers that serve every other request.
///
/// It is bounded ([`Offload::with_limit`]): one password check per core at
/// once and eight per core waiting; beyond that a sign-in answers `503
/// temporarily_unavailable` with `Retry-After`, so memory (~19 MiB per
/// argon2 check) never grows with the number of sign-ins arriving at once.
/// [`tokio_offload_unbounded`] drops the bound; set another with
/// `tokio_offload_unbounded().with_limit(..)`.
///
/// ```no_run
/// # fn run(store: granted::MemoryStore) {
/// let server = granted::Server::new(store)
///     .configure(|policy| policy.with_offload(granted::axum::tokio_offload()));
/// # }
/// ```
pub fn tokio_offload() -> Offload {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    tokio_offload_unbounded().with_limit(cores, 8 * cores)
}

/// [`tokio_offload`] without its bound: every job gets a blocking thread.
pub fn tokio_offload_unbounded() -> Offload {
    Offload::new(|job| async move {
        // A job that panicked has left no answer: the caller sees `Lost`.
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
        assert!(ran_on.is_ok_and(|id| id != caller));
    }
}
