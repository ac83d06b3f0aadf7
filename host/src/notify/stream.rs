//! The in-app stream: the delivery worker publishes each in-app
//! notification to a hub, and every open Server-Sent Events stream of that
//! member forwards it with `id:` the notification id. A client reconnecting
//! with `Last-Event-ID` first gets what it missed, from the database.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::Event;
use futures_util::stream::Stream;
use tokio::sync::broadcast;

use crate::domain::{AgentId, TenantId};
use crate::store::{NotificationRecord, Store};

/// Notifications a lagging stream may fall behind before it re-reads the
/// database instead.
const CAPACITY: usize = 1024;
/// Most notifications replayed at once.
const REPLAY: u32 = 500;

/// One published in-app notification.
#[derive(Debug)]
pub struct Published {
    tenant: TenantId,
    agent: AgentId,
    seq: i64,
    event: Event,
}

/// Fan-out of in-app notifications to the open streams.
pub struct Hub {
    sender: broadcast::Sender<Arc<Published>>,
}

impl Hub {
    pub fn new() -> Self {
        Self {
            sender: broadcast::Sender::new(CAPACITY),
        }
    }

    /// Send to every open stream of the notification's member (none open is fine).
    pub fn publish(&self, notification: &NotificationRecord) {
        let _ = self.sender.send(Arc::new(Published {
            tenant: notification.tenant.clone(),
            agent: notification.agent.clone(),
            seq: notification.seq,
            event: event(notification),
        }));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

fn event(notification: &NotificationRecord) -> Event {
    Event::default()
        .id(notification.id.as_str())
        .data(notification.to_json().to_string())
}

struct State {
    store: Store,
    tenant: TenantId,
    agent: AgentId,
    receiver: broadcast::Receiver<Arc<Published>>,
    queued: VecDeque<(i64, Event)>,
    /// The last stream position sent: replayed or live, nothing at or
    /// before it is sent again.
    sent: i64,
}

/// A member's stream: what came after stream position `after` (when the
/// client reconnected with `Last-Event-ID`), then live notifications.
/// `receiver` must be subscribed before the replay is read, so nothing
/// published in between is missed.
pub async fn member_stream(
    store: Store,
    tenant: TenantId,
    agent: AgentId,
    receiver: broadcast::Receiver<Arc<Published>>,
    after: Option<i64>,
) -> Result<impl Stream<Item = Result<Event, Infallible>>, crate::store::StoreError> {
    let mut state = State {
        store,
        tenant,
        agent,
        receiver,
        queued: VecDeque::new(),
        sent: 0,
    };
    if let Some(after) = after {
        state.sent = after;
        state.replay().await?;
    }
    Ok(futures_util::stream::unfold(
        state,
        |mut state| async move {
            loop {
                if let Some((seq, event)) = state.queued.pop_front() {
                    state.sent = state.sent.max(seq);
                    return Some((Ok(event), state));
                }
                match state.receiver.recv().await {
                    Ok(published) => {
                        if published.tenant == state.tenant
                            && published.agent == state.agent
                            && published.seq > state.sent
                        {
                            state
                                .queued
                                .push_back((published.seq, published.event.clone()));
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Fell behind the hub: read what was missed instead.
                        if let Err(error) = state.replay().await {
                            tracing::warn!(%error, "catching up an in-app stream failed");
                            return None;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    ))
}

impl State {
    async fn replay(&mut self) -> Result<(), crate::store::StoreError> {
        let missed = self
            .store
            .in_app_after(&self.tenant, &self.agent, self.sent, REPLAY)
            .await?;
        self.queued.extend(missed.iter().map(|n| (n.seq, event(n))));
        Ok(())
    }
}
