//! Running CPU-heavy work — argon2 password verification — off the async
//! executor, without tying the runtime to one executor: the application
//! hands in how to spawn blocking work (the axum integration has one for
//! tokio).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

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
/// # assert_eq!(answer, Ok(42));
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Offload {
    spawn: Arc<Spawn>,
    limit: Option<Arc<Limit>>,
}

/// The bound of [`Offload::with_limit`].
struct Limit {
    /// Jobs running at once.
    slots: Semaphore,
    /// Jobs running or waiting.
    admitted: AtomicUsize,
    /// Most jobs running or waiting.
    capacity: usize,
}

/// Why [`Offload::run`] gave no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OffloadError {
    /// Every slot is taken and the queue is full: the job was not started.
    #[error("the offload is busy: every slot is taken and the queue is full")]
    Busy,
    /// The job did not run to completion (it panicked, or the spawner
    /// dropped it).
    #[error("the offloaded job did not complete")]
    Lost,
}

impl Offload {
    /// An offload that gives each job to `spawn` and waits for the future it
    /// returns, which must complete once the job has run (or will never run).
    /// It runs every job it is given: bound it with
    /// [`with_limit`](Self::with_limit).
    pub fn new<F, Fut>(spawn: F) -> Self
    where
        F: Fn(BlockingJob) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            spawn: Arc::new(move |job| Box::pin(spawn(job))),
            limit: None,
        }
    }

    /// Runs at most `slots` jobs at once (at least 1) and lets at most
    /// `queue` more wait; beyond that [`run`](Self::run) refuses at once
    /// with [`OffloadError::Busy`]. Password hashing takes ~19 MiB and tens
    /// of milliseconds each: this bounds both the memory and the wait.
    ///
    /// ```
    /// # use oauth_runtime::Offload;
    /// let offload = Offload::new(|job| async move { let _ = std::thread::spawn(job).join(); })
    ///     .with_limit(2, 16);
    /// # let _ = offload;
    /// ```
    #[must_use]
    pub fn with_limit(mut self, slots: usize, queue: usize) -> Self {
        let slots = slots.max(1);
        self.limit = Some(Arc::new(Limit {
            slots: Semaphore::new(slots),
            admitted: AtomicUsize::new(0),
            capacity: slots.saturating_add(queue),
        }));
        self
    }

    /// Runs `work` through the spawner and returns its value.
    ///
    /// # Errors
    ///
    /// [`OffloadError::Busy`] when the limit has no room (the work is not
    /// run), [`OffloadError::Lost`] when it did not run to completion.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, OffloadError> {
        let _admission = match &self.limit {
            Some(limit) => Some(Admission::enter(limit)?),
            None => None,
        };
        let _slot = match &self.limit {
            Some(limit) => Some(limit.slots.acquire().await.map_err(|_| OffloadError::Lost)?),
            None => None,
        };
        let slot = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        (self.spawn)(Box::new(move || {
            let value = work();
            *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        }))
        .await;
        let value = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        value.ok_or(OffloadError::Lost)
    }
}

/// A place among the running and waiting jobs, given back on drop (also
/// when the caller stops waiting).
struct Admission<'a>(&'a Limit);

impl<'a> Admission<'a> {
    fn enter(limit: &'a Limit) -> Result<Self, OffloadError> {
        let before = limit.admitted.fetch_add(1, Ordering::AcqRel);
        let admission = Self(limit);
        if before >= limit.capacity {
            return Err(OffloadError::Busy);
        }
        Ok(admission)
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for Offload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Offload");
        if let Some(limit) = &self.limit {
            debug.field("capacity", &limit.capacity);
        }
        debug.finish_non_exhaustive()
    }
}

/// Two offloads are equal when they are the same one (clones included).
impl PartialEq for Offload {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.spawn, &other.spawn)
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
        assert!(ran_on.is_ok_and(|id| id != caller));
        assert_eq!(offload, offload.clone());
    }

    #[tokio::test]
    async fn a_limited_offload_refuses_beyond_its_slots_and_queue_and_frees_them() {
        let offload = Offload::new(|job| async move {
            let _ = tokio::task::spawn_blocking(job).await;
        })
        .with_limit(1, 1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let held = {
            let wait = Arc::clone(&wait);
            let offload = offload.clone();
            tokio::spawn(async move {
                offload
                    .run(move || {
                        let _ = wait.lock().unwrap().recv();
                    })
                    .await
            })
        };
        let queued = {
            let offload = offload.clone();
            tokio::spawn(async move { offload.run(|| 2).await })
        };
        // Wait until both are admitted (one running, one queued).
        while offload.limit.as_ref().unwrap().admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(offload.run(|| 3).await, Err(OffloadError::Busy));
        release.send(()).unwrap();
        assert_eq!(held.await.unwrap(), Ok(()));
        assert_eq!(queued.await.unwrap(), Ok(2));
        assert_eq!(offload.run(|| 4).await, Ok(4), "the slots are free again");
    }

    #[tokio::test]
    async fn work_that_never_runs_or_panics_gives_none() {
        let dropped = Offload::new(|job| {
            drop(job);
            async {}
        });
        assert_eq!(dropped.run(|| 1).await, Err(OffloadError::Lost));
        let panicking = Offload::new(|job| async move {
            let _ = std::thread::spawn(job).join();
        });
        assert_eq!(
            panicking.run(|| -> u8 { panic!("boom") }).await,
            Err(OffloadError::Lost)
        );
        assert_ne!(dropped, panicking);
    }
}
