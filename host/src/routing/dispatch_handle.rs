//! What the dispatcher shares with the rest of the process: a way to wake
//! it, and to wait until an event has been handled.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::domain::TenantId;
use crate::worker::PassHandle;

/// How far handling has come.
#[derive(Debug, Default)]
struct Progress {
    /// Every event up to this id has been handled, here or by another
    /// process sharing the database (read from the outbox).
    settled: i64,
    /// The last event handled in this process, per tenant. A tenant's
    /// events are handled in order, so every earlier event of that tenant
    /// has been handled too.
    tenants: HashMap<TenantId, i64>,
}

impl Progress {
    fn covers(&self, tenant: &TenantId, event: i64) -> bool {
        self.settled >= event || self.tenants.get(tenant).is_some_and(|last| *last >= event)
    }
}

/// What woke the dispatcher since it last looked.
#[derive(Debug, Default)]
pub(crate) struct Woken {
    /// A wake for no tenant in particular (the timers, a test).
    pub(crate) any: bool,
    /// Tenants with new events.
    pub(crate) tenants: HashSet<TenantId>,
}

/// Wakes the dispatcher and lets callers wait for an event to be handled.
pub struct DispatchHandle {
    woken: Mutex<Woken>,
    /// Moves on every wake; the dispatcher watches it, so a wake that comes
    /// while it is busy is seen when it next looks.
    wake: watch::Sender<u64>,
    progress: watch::Sender<Progress>,
    /// Events handled here, for the notification worker.
    handled: watch::Sender<u64>,
    sweeps: PassHandle,
    /// Whether the dispatcher's task is running, and whether this process
    /// is stopping: what readiness reports.
    running: AtomicBool,
    stopping: AtomicBool,
}

/// Where the dispatcher is, as readiness reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatcherState {
    /// Handling events.
    Running,
    /// Still handling events, but the process is stopping: it takes no new
    /// work and a load balancer should send none.
    Stopping,
    /// Not started, ended, or stopped abnormally.
    Stopped,
}

impl DispatcherState {
    pub fn as_str(self) -> &'static str {
        match self {
            DispatcherState::Running => "running",
            DispatcherState::Stopping => "stopping",
            DispatcherState::Stopped => "stopped",
        }
    }
}

/// While held, the dispatcher counts as running (see
/// [`DispatchHandle::running`]).
pub(crate) struct RunningGuard<'a>(&'a DispatchHandle);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

impl DispatchHandle {
    pub fn new() -> Self {
        Self {
            woken: Mutex::default(),
            wake: watch::Sender::new(0),
            progress: watch::Sender::new(Progress::default()),
            handled: watch::Sender::new(0),
            sweeps: PassHandle::new(),
            running: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }

    /// Where the dispatcher is.
    pub fn state(&self) -> DispatcherState {
        match (
            self.running.load(Ordering::Acquire),
            self.stopping.load(Ordering::Acquire),
        ) {
            (false, _) => DispatcherState::Stopped,
            (true, true) => DispatcherState::Stopping,
            (true, false) => DispatcherState::Running,
        }
    }

    /// The process has begun to stop.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// The dispatcher's task runs until the guard is dropped (ended or
    /// unwound by a panic).
    pub(crate) fn running(&self) -> RunningGuard<'_> {
        self.running.store(true, Ordering::Release);
        RunningGuard(self)
    }

    /// Counts the queue sweeps, so a caller can wait for the next one
    /// ([`PassHandle::next`]); sweeps keep their own schedule.
    pub fn sweeps(&self) -> &PassHandle {
        &self.sweeps
    }

    /// Tell the dispatcher new events are waiting.
    pub fn wake(&self) {
        self.woken().any = true;
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Tell the dispatcher `tenant` has new events.
    pub fn wake_for(&self, tenant: &TenantId) {
        self.woken().tenants.insert(tenant.clone());
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn woken(&self) -> std::sync::MutexGuard<'_, Woken> {
        self.woken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What woke the dispatcher since the last call.
    pub(crate) fn take_woken(&self) -> Woken {
        std::mem::take(&mut *self.woken())
    }

    /// What the dispatcher watches for wakes.
    pub(crate) fn wakes(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }

    /// Changes whenever an event has been handled here (the notification
    /// worker looks for new deliveries then).
    pub fn handled(&self) -> watch::Receiver<u64> {
        self.handled.subscribe()
    }

    /// Wait until `tenant`'s `event` (and every earlier event of that
    /// tenant) has been handled, up to `timeout`. Returns whether it was.
    /// Other tenants' events are not waited for: they are handled side by
    /// side, each tenant at its own pace.
    pub async fn wait_for(&self, tenant: &TenantId, event: i64, timeout: Duration) -> bool {
        self.wake_for(tenant);
        self.wait(timeout, |p| p.covers(tenant, event)).await
    }

    /// Wait until every event up to `event`, of every tenant, has been
    /// handled, up to `timeout`. Returns whether it was.
    pub async fn wait_settled(&self, event: i64, timeout: Duration) -> bool {
        self.wake();
        self.wait(timeout, |p| p.settled >= event).await
    }

    async fn wait(&self, timeout: Duration, done: impl FnMut(&Progress) -> bool) -> bool {
        let mut rx = self.progress.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(done))
            .await
            .is_ok()
    }

    /// Every event up to `settled` has been handled (read from the outbox).
    pub(crate) fn settle(&self, settled: i64) {
        self.progress.send_if_modified(|p| {
            let moved = settled > p.settled;
            if moved {
                p.settled = settled;
            }
            moved
        });
    }

    /// `tenant`'s `event` has been handled here.
    pub(crate) fn handled_one(&self, tenant: &TenantId, event: i64) {
        self.progress.send_modify(|p| {
            let last = p.tenants.entry(tenant.clone()).or_default();
            *last = (*last).max(event);
        });
        self.handled.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Default for DispatchHandle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_the_dispatchers_task_and_the_stop() {
        let handle = DispatchHandle::new();
        assert_eq!(handle.state(), DispatcherState::Stopped);
        let running = handle.running();
        assert_eq!(handle.state(), DispatcherState::Running);
        handle.stopping();
        assert_eq!(handle.state(), DispatcherState::Stopping);
        drop(running);
        assert_eq!(handle.state(), DispatcherState::Stopped);
    }

    #[tokio::test]
    async fn a_tenants_event_is_waited_for_alone() {
        let handle = DispatchHandle::new();
        let (a, b) = (TenantId::generate(), TenantId::generate());
        handle.handled_one(&b, 7);
        // b's later event says nothing about a's earlier one.
        assert!(!handle.wait_for(&a, 5, Duration::from_millis(10)).await);
        assert!(handle.wait_for(&b, 7, Duration::from_millis(10)).await);
        assert!(!handle.wait_for(&b, 8, Duration::from_millis(10)).await);
        assert!(!handle.wait_settled(5, Duration::from_millis(10)).await);
        handle.settle(6);
        assert!(handle.wait_for(&a, 5, Duration::from_millis(10)).await);
        assert!(handle.wait_settled(6, Duration::from_millis(10)).await);
        // The settled mark never moves back.
        handle.settle(3);
        assert!(handle.wait_settled(6, Duration::from_millis(10)).await);
    }

    #[tokio::test]
    async fn a_wake_while_busy_is_not_lost() {
        let handle = DispatchHandle::new();
        let mut wakes = handle.wakes();
        wakes.borrow_and_update();
        handle.wake();
        // Nobody was waiting when the wake came; it is seen now.
        tokio::time::timeout(Duration::from_millis(100), wakes.changed())
            .await
            .expect("the wake is seen")
            .expect("the handle lives");
        assert!(handle.take_woken().any);
        let tenant = TenantId::generate();
        handle.wake_for(&tenant);
        let woken = handle.take_woken();
        assert!(!woken.any);
        assert!(woken.tenants.contains(&tenant));
        assert!(handle.take_woken().tenants.is_empty(), "taken once");
    }
}
