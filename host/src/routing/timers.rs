//! The timer worker: fires due timers (snooze ends, inactivity deadlines)
//! by the store's clock. Each firing is its own transaction with the event it
//! writes, so the dispatcher then handles its consequences like any other.
//! Once an hour it also forgets idempotency keys past their lifetime.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::dispatcher::DispatchHandle;
use crate::domain::Millis;
use crate::store::Store;
use crate::worker::PassHandle;

/// Longest real time between two looks at the timer table: timers set by
/// another process sharing the database are noticed within this.
const POLL: Duration = Duration::from_secs(1);
/// How often keys past their lifetime are forgotten: the rows are small
/// and a stale one is already ignored when its key comes again.
const PURGE_EVERY: Duration = Duration::from_secs(60 * 60);
/// Timers fired per round trip.
const BATCH: u32 = 100;

/// Run until `shutdown` is set.
pub async fn run(
    store: Store,
    dispatch: Arc<DispatchHandle>,
    handle: Arc<PassHandle>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut purged_at: Option<Millis> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let fired = handle.run_pass(fire_due(&store)).await;
        if purged_at.is_none_or(|at| store.now().0 - at.0 >= PURGE_EVERY.as_millis() as i64) {
            purged_at = Some(store.now());
            match store.purge_idempotency_keys().await {
                Ok(0) => {}
                Ok(purged) => tracing::debug!(purged, "expired idempotency keys forgotten"),
                Err(error) => tracing::error!(%error, "forgetting expired idempotency keys failed"),
            }
        }
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
            _ = handle.woken() => {}
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
