//! The one source of "now" for the whole host.
//!
//! Every timestamp the host writes (messages, events, timers) comes from a
//! [`Clock`]. In production it is the system clock; tests use a manual clock
//! they move forward by hand, so snooze, auto-close and other timers are
//! tested on controlled time instead of real sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::domain::Millis;

/// A shared clock: the system clock, or a manual one for tests.
#[derive(Clone)]
pub struct Clock(Arc<Inner>);

struct Inner {
    /// `None`: the system clock. `Some`: a manual clock's current time.
    manual: Option<AtomicI64>,
    /// Bumped whenever a manual clock moves, so waiters can look again.
    moved: watch::Sender<i64>,
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Self {
        Self(Arc::new(Inner {
            manual: None,
            moved: watch::Sender::new(0),
        }))
    }

    /// A clock that stands still at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: Millis) -> Self {
        Self(Arc::new(Inner {
            manual: Some(AtomicI64::new(start.0)),
            moved: watch::Sender::new(start.0),
        }))
    }

    /// The current time.
    pub fn now(&self) -> Millis {
        match &self.0.manual {
            Some(at) => Millis(at.load(Ordering::SeqCst)),
            None => system_now(),
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.0.manual.is_some()
    }

    /// Move a manual clock forward. A system clock cannot be moved: the
    /// call is ignored and returns `false`.
    pub fn advance(&self, by: Duration) -> bool {
        let Some(at) = &self.0.manual else {
            return false;
        };
        let step = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let now = at.fetch_add(step, Ordering::SeqCst).saturating_add(step);
        self.0.moved.send_replace(now);
        true
    }

    /// Wait until the clock reaches `deadline`, at most `poll` of real time
    /// (so a caller also notices work that other processes scheduled). A
    /// manual clock wakes when it is moved.
    pub async fn sleep_until(&self, deadline: Millis, poll: Duration) {
        let wait = Duration::from_millis(u64::try_from(self.now().until(deadline)).unwrap_or(0));
        if self.is_manual() {
            let mut moved = self.0.moved.subscribe();
            // Checked after subscribing, so a move in between is not missed.
            if self.now() >= deadline {
                return;
            }
            let _ = tokio::time::timeout(poll, moved.changed()).await;
        } else {
            tokio::time::sleep(wait.min(poll)).await;
        }
    }
}

fn system_now() -> Millis {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    Millis(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.manual {
            Some(_) => write!(f, "Clock::manual({})", self.now().0),
            None => f.write_str("Clock::system"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual(Millis(1_000));
        assert_eq!(clock.now(), Millis(1_000));
        assert!(clock.advance(Duration::from_secs(90)));
        assert_eq!(clock.now(), Millis(91_000));
        assert!(!Clock::system().advance(Duration::from_secs(1)));
    }

    #[tokio::test]
    async fn a_manual_sleeper_wakes_when_the_clock_moves() {
        let clock = Clock::manual(Millis(0));
        let sleeper = clock.clone();
        let task = tokio::spawn(async move {
            sleeper
                .sleep_until(Millis(10), Duration::from_secs(60))
                .await
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_millis(10));
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("woke on advance")
            .expect("joined");
    }
}
