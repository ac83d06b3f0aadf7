//! What the background workers (timers, notification delivery, the queue
//! sweep) share: a handle that wakes a worker, and lets a caller wait until
//! a whole pass of it has run after the call (tests move a manual clock,
//! then wait for what came due).

use std::time::Duration;

use tokio::sync::{Notify, watch};

/// Wakes a worker and counts its passes.
pub struct PassHandle {
    wake: Notify,
    /// Passes started and finished, so a caller can wait for a pass that
    /// began after its request.
    started: watch::Sender<u64>,
    finished: watch::Sender<u64>,
}

impl PassHandle {
    pub fn new() -> Self {
        Self {
            wake: Notify::new(),
            started: watch::Sender::new(0),
            finished: watch::Sender::new(0),
        }
    }

    /// Tell the worker there may be work.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when someone calls [`PassHandle::wake`] (or asks for a pass).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Run one pass of the worker, counted.
    pub async fn run_pass<T>(&self, pass: impl Future<Output = T>) -> T {
        self.started.send_modify(|n| *n += 1);
        let result = pass.await;
        self.finished.send_modify(|n| *n += 1);
        result
    }

    /// Wait (up to `timeout`) until a pass that started after this call has
    /// finished: everything due by the clock now has then been handled.
    pub async fn pass(&self, timeout: Duration) -> bool {
        let wanted = *self.started.borrow() + 1;
        let mut finished = self.finished.subscribe();
        self.wake.notify_one();
        tokio::time::timeout(timeout, finished.wait_for(|done| *done >= wanted))
            .await
            .is_ok()
    }

    /// Wait (up to `timeout`) until a pass that started after this call has
    /// finished, without waking the worker: for a worker that runs on its
    /// own schedule, to see that schedule keep.
    pub async fn next(&self, timeout: Duration) -> bool {
        let wanted = *self.started.borrow() + 1;
        let mut finished = self.finished.subscribe();
        tokio::time::timeout(timeout, finished.wait_for(|done| *done >= wanted))
            .await
            .is_ok()
    }
}

impl Default for PassHandle {
    fn default() -> Self {
        Self::new()
    }
}
