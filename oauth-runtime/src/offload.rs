//! Running CPU-heavy work — argon2 password verification — off the async
//! executor, without tying the runtime to one executor: the application
//! hands in how to spawn blocking work (the axum integration has one for
//! tokio).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

/// One piece of blocking work.
pub type BlockingJob = Box<dyn FnOnce() + Send + 'static>;

type Spawn = dyn Fn(BlockingJob) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// How to run blocking work off the async executor, e.g. on tokio's
/// blocking pool. Set it with [`Policy::with_offload`](crate::Policy::with_offload);
/// without it, password checks run inline on the async task.
///
/// ```
/// use oauth_runtime::Offload;
///
/// // Runs each job on a thread of its own (tokio users take
/// // `granted::axum::tokio_offload()`).
/// let offload = Offload::new(|job| async move {
///     let _ = std::thread::spawn(job).join();
/// });
/// # let answer = block_on(offload.run(|| 6 * 7));
/// # assert_eq!(answer, Some(42));
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Offload(Arc<Spawn>);

impl Offload {
    /// An offload that gives each job to `spawn` and waits for the future it
    /// returns, which must complete once the job has run (or will never run).
    pub fn new<F, Fut>(spawn: F) -> Self
    where
        F: Fn(BlockingJob) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self(Arc::new(move |job| Box::pin(spawn(job))))
    }

    /// Runs `work` through the spawner; `None` when it did not run to
    /// completion (it panicked, or the spawner dropped it).
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let slot = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        (self.0)(Box::new(move || {
            let value = work();
            *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        }))
        .await;
        slot.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl fmt::Debug for Offload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Offload(..)")
    }
}

/// Two offloads are equal when they are the same one (clones included).
impl PartialEq for Offload {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Offload {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_work_runs_through_the_spawner_and_its_value_comes_back() {
        let offload = Offload::new(|job| async move {
            let _ = std::thread::spawn(job).join();
        });
        let caller = std::thread::current().id();
        let ran_on = offload.run(move || std::thread::current().id()).await;
        assert!(ran_on.is_some_and(|id| id != caller));
        assert_eq!(offload, offload.clone());
    }

    #[tokio::test]
    async fn work_that_never_runs_or_panics_gives_none() {
        let dropped = Offload::new(|job| {
            drop(job);
            async {}
        });
        assert_eq!(dropped.run(|| 1).await, None);
        let panicking = Offload::new(|job| async move {
            let _ = std::thread::spawn(job).join();
        });
        assert_eq!(panicking.run(|| -> u8 { panic!("boom") }).await, None);
        assert_ne!(dropped, panicking);
    }
}
