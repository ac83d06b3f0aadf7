//! The timer worker: fires due timers (snooze ends, inactivity deadlines)
//! by the store's clock. Each firing is its own transaction with the event it
//! writes, so the dispatcher then handles its consequences like any other.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::dispatcher::DispatchHandle;
use crate::domain::Millis;
use crate::store::Store;

/// Longest real time between two looks at the timer table: timers set by
/// another process sharing the database are noticed within this.
const POLL: Duration = Duration::from_secs(1);
/// Timers fired per round trip.
const BATCH: u32 = 100;

/// Wakes the worker, and lets a caller wait for a full pass.
pub struct TimerHandle {
    wake: Notify,
    /// Passes started and finished, so a caller can wait for a pass that
    /// began after its request.
    started: watch::Sender<u64>,
    finished: watch::Sender<u64>,
}

impl TimerHandle {
    pub fn new() -> Self {
        Self {
            wake: Notify::new(),
            started: watch::Sender::new(0),
            finished: watch::Sender::new(0),
        }
    }

    /// Wait (up to `timeout`) until a pass that started after this call has
    /// finished: every timer due by the clock now has then been fired.
    pub async fn pass(&self, timeout: Duration) -> bool {
        let wanted = *self.started.borrow() + 1;
        let mut finished = self.finished.subscribe();
        self.wake.notify_one();
        tokio::time::timeout(timeout, finished.wait_for(|done| *done >= wanted))
            .await
            .is_ok()
    }
}

impl Default for TimerHandle {
    fn default() -> Self {
        Self::new()
    }
}

/// Run until `shutdown` is set.
pub async fn run(
    store: Store,
    dispatch: Arc<DispatchHandle>,
    handle: Arc<TimerHandle>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        handle.started.send_modify(|n| *n += 1);
        let fired = fire_due(&store).await;
        handle.finished.send_modify(|n| *n += 1);
        if fired > 0 {
            dispatch.wake();
        }
        let next = match store.next_timer_due().await {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(%error, "reading the timers failed");
                None
            }
        };
        let clock = store.clock();
        // Nothing pending: wait for a wake-up, a move of a manual clock or the poll.
        let deadline = next.unwrap_or(Millis(i64::MAX));
        tokio::select! {
            _ = clock.sleep_until(deadline, POLL) => {}
            _ = handle.wake.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Fire every timer due now; returns how many took effect here.
async fn fire_due(store: &Store) -> usize {
    let mut fired = 0;
    loop {
        let due = match store.due_timers(BATCH).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "reading due timers failed");
                return fired;
            }
        };
        let full = due.len() == BATCH as usize;
        for timer in &due {
            match store.fire_timer(timer).await {
                Ok(true) => fired += 1,
                Ok(false) => {}
                Err(error) => {
                    // Left due: the next pass tries again.
                    tracing::error!(timer = timer.id, %error, "firing a timer failed");
                    return fired;
                }
            }
        }
        if !full {
            return fired;
        }
    }
}
