//! Turns at a database's one writer (SQLite), taken by this process's
//! writers in order of arrival, except that routing's outcomes go first.
//!
//! Every write transaction of the process waits here instead of on
//! SQLite's busy timer. Under load most of those waiting are new work (HTTP
//! requests creating conversations, the notifier claiming deliveries),
//! while the tenant's dispatcher, whose events are handled one after
//! another, waits with the outcome of work already under way: in plain
//! arrival order each outcome waits behind every create queued before it,
//! so time to assignment grows with the number of requests in flight.
//! Finishing work under way before taking new work keeps that wait to the
//! writer's current holder. So that new work is never shut out, after
//! [`URGENT_IN_A_ROW`] urgent turns with ordinary ones waiting, the oldest
//! ordinary one goes next.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

/// Urgent turns given one after another while ordinary turns wait.
const URGENT_IN_A_ROW: u32 = 4;

/// How soon a writer needs its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Urgency {
    /// Applying a decision already made (a routing outcome).
    Urgent,
    /// Anything else: new work, housekeeping.
    Ordinary,
}

#[derive(Default)]
struct Queue {
    held: bool,
    urgent: VecDeque<oneshot::Sender<()>>,
    ordinary: VecDeque<oneshot::Sender<()>>,
    urgent_in_a_row: u32,
}

impl Queue {
    /// The next waiter to hand the turn to.
    fn next(&mut self) -> Option<oneshot::Sender<()>> {
        let ordinary_first = self.urgent.is_empty()
            || (self.urgent_in_a_row >= URGENT_IN_A_ROW && !self.ordinary.is_empty());
        if ordinary_first {
            self.urgent_in_a_row = 0;
            self.ordinary.pop_front()
        } else {
            self.urgent_in_a_row += 1;
            self.urgent.pop_front()
        }
    }
}

/// The writer's turns.
#[derive(Default)]
pub(crate) struct Writer {
    queue: Mutex<Queue>,
}

/// A turn at the writer, given to the next waiter when dropped.
pub(crate) struct Turn {
    writer: Arc<Writer>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.writer.hand_over();
    }
}

/// A waiter whose turn may already have been handed to it: if it is
/// dropped (its caller cancelled) with the turn, the turn goes on.
struct Waiting {
    writer: Arc<Writer>,
    /// Taken once the turn has been received.
    turn: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut turn) = self.turn.take() {
            // Nothing can be handed to it any more; if it was, pass it on.
            turn.close();
            if turn.try_recv().is_ok() {
                self.writer.hand_over();
            }
        }
    }
}

impl Writer {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wait for a turn.
    pub(crate) async fn turn(self: &Arc<Self>, urgency: Urgency) -> Turn {
        let mut waiting = {
            let mut queue = self.queue();
            if !queue.held {
                queue.held = true;
                return Turn {
                    writer: self.clone(),
                };
            }
            let (tx, rx) = oneshot::channel();
            match urgency {
                Urgency::Urgent => queue.urgent.push_back(tx),
                Urgency::Ordinary => queue.ordinary.push_back(tx),
            }
            Waiting {
                writer: self.clone(),
                turn: Some(rx),
            }
        };
        if let Some(turn) = waiting.turn.as_mut() {
            // A sender is dropped unsent only when its waiter has left
            // (`hand_over` goes past it), so this cannot fail while we wait.
            let _ = turn.await;
        }
        // Received: the turn is ours, and `waiting` must not pass it on
        // (no await between here and the return).
        waiting.turn = None;
        Turn {
            writer: waiting.writer.clone(),
        }
    }

    /// Give the turn to the next waiter still waiting, or free it.
    fn hand_over(&self) {
        let mut queue = self.queue();
        while let Some(next) = queue.next() {
            if next.send(()).is_ok() {
                return;
            }
        }
        queue.held = false;
        queue.urgent_in_a_row = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use std::time::Duration;

    /// Order in which queued writers get their turns.
    async fn order(arrivals: &[(&'static str, Urgency)]) -> Vec<&'static str> {
        let writer = Arc::new(Writer::default());
        let first = writer.turn(Urgency::Ordinary).await;
        let got = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, urgency) in arrivals.iter().copied() {
            let (queued_writer, got) = (writer.clone(), got.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = queued_writer.turn(urgency).await;
                got.lock().unwrap().push(name);
            }));
            // Queued in this order.
            loop {
                let queued = {
                    let queue = writer.queue();
                    queue.urgent.len() + queue.ordinary.len()
                };
                if queued == tasks.len() {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        drop(first);
        for task in tasks {
            task.await.expect("task");
        }
        let order = got.lock().unwrap().clone();
        assert!(!writer.queue().held, "free once everyone is done");
        order
    }

    #[tokio::test]
    async fn urgent_turns_go_first_and_ordinary_ones_keep_their_order() {
        use Urgency::*;
        let got = order(&[
            ("c1", Ordinary),
            ("c2", Ordinary),
            ("r1", Urgent),
            ("c3", Ordinary),
            ("r2", Urgent),
        ])
        .await;
        assert_eq!(got, ["r1", "r2", "c1", "c2", "c3"]);
    }

    #[tokio::test]
    async fn ordinary_turns_are_not_shut_out() {
        use Urgency::*;
        let mut arrivals = vec![("c1", Ordinary)];
        arrivals.extend([
            ("r1", Urgent),
            ("r2", Urgent),
            ("r3", Urgent),
            ("r4", Urgent),
            ("r5", Urgent),
            ("r6", Urgent),
        ]);
        let got = order(&arrivals).await;
        assert_eq!(got, ["r1", "r2", "r3", "r4", "c1", "r5", "r6"]);
    }

    #[tokio::test]
    async fn a_waiter_that_leaves_passes_its_turn_on() {
        let writer = Arc::new(Writer::default());
        let held = writer.turn(Urgency::Ordinary).await;
        // Leaves while waiting, before the turn comes.
        let gone =
            tokio::time::timeout(Duration::from_millis(10), writer.turn(Urgency::Urgent)).await;
        assert!(gone.is_err());
        // Leaves just as the turn is handed to it: polled once, queued,
        // handed the turn, then dropped without looking.
        let mut handed = Box::pin(writer.turn(Urgency::Urgent));
        assert!(handed.as_mut().now_or_never().is_none());
        let next = tokio::spawn({
            let writer = writer.clone();
            async move { writer.turn(Urgency::Ordinary).await }
        });
        while writer.queue().ordinary.is_empty() {
            tokio::task::yield_now().await;
        }
        drop(held);
        drop(handed);
        let turn = tokio::time::timeout(Duration::from_secs(5), next)
            .await
            .expect("the turn reached the last waiter")
            .expect("task");
        drop(turn);
        assert!(!writer.queue().held);
    }
}
