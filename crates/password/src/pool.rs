//! A bounded pool for password hashing: a fixed number of hashes at a time, a bounded queue
//! behind them, and a fast [`AuthError::Overloaded`] when the queue is full.
//!
//! Password hashes are deliberately slow (tens of milliseconds of CPU) and argon2id
//! allocates its memory cost (19 MiB by default) per hash. Run on the async executor they
//! would stall every other request on that worker; run without a bound, a burst of logins
//! would multiply memory and latency until the process falls over. The pool runs each hash
//! on Tokio's blocking thread pool (`spawn_blocking`) while holding one of `permits`
//! semaphore permits, so memory stays flat at `permits` × the algorithm's memory cost.
//!
//! ```
//! use portcullis_password::HashingPool;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), portcullis_core::AuthError> {
//! // Two hashes at a time, at most 16 callers waiting; the 17th gets `Overloaded`.
//! let pool = HashingPool::new(2, 16);
//! let answer = pool.run(|| 6 * 7).await?;
//! assert_eq!(answer, 42);
//! assert_eq!(pool.permits(), 2);
//! # Ok(())
//! # }
//! ```

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use portcullis_core::AuthError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

static SHARED: LazyLock<HashingPool> = LazyLock::new(HashingPool::default);

/// A cloneable handle to a bounded password-hashing pool. Clones share the same permits
/// and queue.
///
/// Every hasher in this crate runs its work through a `HashingPool`; by default they all
/// share one process-wide pool ([`HashingPool::shared`]), so the number of concurrent
/// hashes stays fixed however many hashers an application builds.
#[derive(Debug, Clone)]
pub struct HashingPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    semaphore: Arc<Semaphore>,
    permits: usize,
    max_queue: usize,
    waiting: AtomicUsize,
}

impl HashingPool {
    /// How many callers may wait per permit before new callers are refused.
    ///
    /// The queue bounds the extra latency a login can suffer: a caller that joins a full queue
    /// waits about `max_queue / permits` × one hash. An argon2id verification at the default
    /// parameters takes about 16 ms of one core (this crate's `hashing` benchmark, on a
    /// 2-core development machine), so 32 waiting callers per permit means at most about
    /// half a second of queueing (1-2 s on slower cores or with a larger memory cost): still
    /// an answer a person waits for. A burst beyond that is one the server cannot absorb,
    /// and a fast 503 (clients retry) serves it better than an answer seconds late. Waiting
    /// callers hold only a parked future, not hashing memory, so the queue length does not
    /// affect memory use.
    pub const DEFAULT_QUEUE_PER_PERMIT: usize = 32;

    /// A pool running at most `permits` hashes at once with at most `max_queue` callers
    /// waiting for a permit. `permits` is raised to 1 if 0 and capped at the semaphore's
    /// maximum; `max_queue` may be 0 (refuse whenever every permit is busy).
    #[must_use]
    pub fn new(permits: usize, max_queue: usize) -> Self {
        let permits = permits.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            inner: Arc::new(Inner {
                semaphore: Arc::new(Semaphore::new(permits)),
                permits,
                max_queue,
                waiting: AtomicUsize::new(0),
            }),
        }
    }

    /// A pool with `permits` permits and the default queue of
    /// [`DEFAULT_QUEUE_PER_PERMIT`](Self::DEFAULT_QUEUE_PER_PERMIT) × `permits`.
    #[must_use]
    pub fn with_permits(permits: usize) -> Self {
        let permits = permits.clamp(1, Semaphore::MAX_PERMITS);
        Self::new(
            permits,
            permits.saturating_mul(Self::DEFAULT_QUEUE_PER_PERMIT),
        )
    }

    /// The process-wide pool the hashers use unless given another: sized like
    /// [`HashingPool::default`], created on first use.
    #[must_use]
    pub fn shared() -> Self {
        SHARED.clone()
    }

    /// How many hashes may run at once.
    #[must_use]
    pub fn permits(&self) -> usize {
        self.inner.permits
    }

    /// How many callers may wait for a permit before new ones are refused.
    #[must_use]
    pub fn max_queue(&self) -> usize {
        self.inner.max_queue
    }

    /// Permits free right now (a gauge for metrics).
    #[must_use]
    pub fn available_permits(&self) -> usize {
        self.inner.semaphore.available_permits()
    }

    /// Callers waiting for a permit right now (a gauge for metrics).
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::Acquire)
    }

    /// Runs `work` on Tokio's blocking pool once a permit is free and returns its result.
    ///
    /// The permit is held until `work` returns, even if the caller's future is dropped
    /// first, so the bound on concurrent hashes holds under cancellation too.
    ///
    /// # Errors
    /// [`AuthError::Overloaded`] when every permit is busy and `max_queue` callers are
    /// already waiting; [`AuthError::Internal`] when called outside a Tokio runtime or
    /// when `work` panics.
    pub async fn run<F, T>(&self, work: F) -> Result<T, AuthError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| AuthError::internal("password hashing needs a Tokio runtime"))?;
        let permit = self.acquire().await?;
        runtime
            .spawn_blocking(move || {
                let _permit = permit;
                work()
            })
            .await
            .map_err(|_| AuthError::internal("password hashing task panicked"))
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit, AuthError> {
        if let Ok(permit) = Arc::clone(&self.inner.semaphore).try_acquire_owned() {
            return Ok(permit);
        }
        // Join the queue only if there is room; the guard leaves it on every exit path,
        // including the caller dropping this future while it waits.
        let inner = &self.inner;
        inner
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                (waiting < inner.max_queue).then_some(waiting + 1)
            })
            .map_err(|_| AuthError::Overloaded)?;
        let _queued = QueueSlot(&inner.waiting);
        Arc::clone(&inner.semaphore)
            .acquire_owned()
            .await
            .map_err(|_| AuthError::internal("password hashing pool closed"))
    }
}

impl Default for HashingPool {
    /// One permit per available core (`std::thread::available_parallelism`, 1 when it
    /// cannot be determined) and
    /// [`DEFAULT_QUEUE_PER_PERMIT`](Self::DEFAULT_QUEUE_PER_PERMIT) waiting callers per
    /// permit.
    ///
    /// More concurrent hashes than cores would not finish sooner, they would only hold
    /// more memory at once and make every hash slower.
    fn default() -> Self {
        Self::with_permits(std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
    }
}

/// A place in the queue, given back on drop.
struct QueueSlot<'a>(&'a AtomicUsize);

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Holds every permit of `pool`, as long-running hashes would.
    fn hold_all(pool: &HashingPool) -> OwnedSemaphorePermit {
        let permits = u32::try_from(pool.permits()).unwrap();
        Arc::clone(&pool.inner.semaphore)
            .try_acquire_many_owned(permits)
            .unwrap()
    }

    /// Yields until `condition` holds (no sleeping, no timing assumptions).
    async fn until(condition: impl Fn() -> bool) {
        while !condition() {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn runs_work_and_returns_its_result() {
        let pool = HashingPool::new(1, 0);
        assert_eq!(pool.run(|| "done").await.unwrap(), "done");
        assert_eq!(pool.available_permits(), 1);
    }

    #[tokio::test]
    async fn refuses_at_once_when_busy_and_the_queue_is_zero() {
        let pool = HashingPool::new(1, 0);
        let held = hold_all(&pool);
        assert!(matches!(pool.run(|| ()).await, Err(AuthError::Overloaded)));
        drop(held);
        assert!(pool.run(|| ()).await.is_ok());
    }

    #[tokio::test]
    async fn refuses_when_the_queue_is_full_and_serves_the_queued_caller_later() {
        let pool = HashingPool::new(1, 1);
        let held = hold_all(&pool);

        let queued = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| 7).await }
        });
        until(|| pool.waiting() == 1).await;

        // The one queue slot is taken: the next caller is refused without waiting.
        let refused = pool.run(|| 8).await;
        assert!(matches!(refused, Err(AuthError::Overloaded)), "{refused:?}");
        assert_eq!(refused.unwrap_err().status().as_u16(), 503);

        drop(held);
        assert_eq!(queued.await.unwrap().unwrap(), 7);
        assert_eq!(pool.waiting(), 0);
        assert_eq!(pool.available_permits(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_gives_its_queue_slot_back() {
        let pool = HashingPool::new(1, 1);
        let held = hold_all(&pool);
        let queued = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| ()).await }
        });
        until(|| pool.waiting() == 1).await;
        queued.abort();
        assert!(queued.await.unwrap_err().is_cancelled());
        assert_eq!(pool.waiting(), 0);
        drop(held);
        assert!(pool.run(|| ()).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn never_runs_more_than_permits_at_once() {
        let pool = HashingPool::new(2, 64);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_internal_error_and_frees_its_permit() {
        let pool = HashingPool::new(1, 0);
        #[allow(clippy::panic)]
        let result = pool.run(|| panic!("boom")).await;
        assert!(matches!(result, Err(AuthError::Internal(_))));
        assert_eq!(pool.available_permits(), 1);
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        let pool = HashingPool::new(1, 0);
        let result = futures_lite_block_on(pool.run(|| ()));
        assert!(matches!(result, Err(AuthError::Internal(_))));
    }

    /// Polls a future to completion without a Tokio runtime.
    fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    #[test]
    fn defaults_follow_the_core_count() {
        let pool = HashingPool::default();
        assert!(pool.permits() >= 1);
        assert_eq!(
            pool.max_queue(),
            pool.permits() * HashingPool::DEFAULT_QUEUE_PER_PERMIT
        );
        assert_eq!(HashingPool::new(0, 3).permits(), 1);
    }
}
