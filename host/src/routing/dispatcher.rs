//! The dispatcher: claims events from the outbox in order and applies each
//! one's routing outcome in a single transaction with its "processed" mark,
//! so an event is never lost and never applied twice.

use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::{Router, Scope, spec::BindError};
use crate::domain::{Author, ConversationStatus, EventKind, Presence, Routing};
use crate::store::{Change, EventRecord, Outcome, StoreError};

/// Events read per round trip.
const BATCH: u32 = 64;
/// Attempts at an event that keeps failing for a database reason before it
/// is set aside with its error recorded, so one bad row cannot stall the rest.
const MAX_ATTEMPTS: u32 = 5;

/// Wakes the dispatcher and lets callers wait for an event to be handled.
pub struct DispatchHandle {
    wake: Notify,
    processed: watch::Sender<i64>,
}

impl DispatchHandle {
    pub fn new() -> Self {
        Self {
            wake: Notify::new(),
            processed: watch::Sender::new(0),
        }
    }

    /// Tell the dispatcher new events are waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Changes whenever an event has been handled (the notification worker
    /// looks for new deliveries then).
    pub fn handled(&self) -> watch::Receiver<i64> {
        self.processed.subscribe()
    }

    /// Wait until `event` (and every event before it) has been handled, up
    /// to `timeout`. Returns whether it was.
    pub async fn wait_for(&self, event: i64, timeout: Duration) -> bool {
        self.wake();
        let mut rx = self.processed.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|done| *done >= event))
            .await
            .is_ok()
    }
}

impl Default for DispatchHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl Router {
    /// Run until `shutdown` resolves.
    pub async fn dispatch(
        self,
        handle: std::sync::Arc<DispatchHandle>,
        shutdown: watch::Receiver<bool>,
    ) {
        let mut shutdown = shutdown;
        let mut attempts = 0u32;
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Read before the pending events: every event up to `written`
            // that is not pending has been handled, here or by another
            // process sharing the database, so waiters may go on.
            let written = self.store.last_event_id().await.unwrap_or(0);
            let batch = match self.store.pending_events(BATCH).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(%error, "reading the outbox failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let settled = batch.first().map_or(written, |first| first.id - 1);
            handle.processed.send_if_modified(|done| {
                let moved = settled > *done;
                if moved {
                    *done = settled;
                }
                moved
            });
            if batch.is_empty() {
                tokio::select! {
                    _ = handle.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            for event in batch {
                match self.handle(&event).await {
                    Ok(()) => attempts = 0,
                    // Handled by another process on the same database.
                    Err(BindError::Store(StoreError::Conflict(reason))) => {
                        tracing::debug!(event = event.id, %reason, "event handled elsewhere");
                        attempts = 0;
                    }
                    Err(error) => {
                        attempts += 1;
                        tracing::error!(event = event.id, %error, attempts, "handling an event failed");
                        if attempts < MAX_ATTEMPTS {
                            tokio::time::sleep(Duration::from_millis(50 * u64::from(attempts)))
                                .await;
                            break;
                        }
                        attempts = 0;
                        let _ = self
                            .store
                            .mark_processed(event.id, &format!("error: {error}"))
                            .await;
                    }
                }
                handle.processed.send_replace(event.id);
            }
        }
    }

    /// Handle one event: decide, then apply everything in one transaction.
    async fn handle(&self, event: &EventRecord) -> Result<(), BindError> {
        let tenant = &event.tenant_id;
        let conversation = match &event.conversation {
            Some(id) => self.store.get_conversation(tenant, id).await?,
            None => None,
        };
        let message = match &event.message {
            Some(id) => self.store.message(id).await?,
            None => None,
        };
        let mut changes: Vec<Change> = Vec::new();
        let mut summary = String::from("no routing needed");
        match (event.kind, &conversation) {
            (EventKind::ConversationCreated, Some(c)) | (EventKind::MessageReceived, Some(c))
                // A customer writing again after being turned away by a
                // full queue gets another try. An agent writing (a reply on
                // an unowned ticket, say) is no reason to route.
                if matches!(c.routing, Routing::Unassigned | Routing::Rejected)
                    && c.status == ConversationStatus::Open
                    && c.assignee.is_none()
                    && message.as_ref().is_none_or(|m| m.author == Author::Customer) =>
            {
                changes.extend(
                    self.assign(tenant, c, &Scope::Any, event.created_at)
                        .await?,
                );
                summary = "assignment".into();
            }
            (EventKind::MessageReceived, Some(c)) if c.routing == Routing::Bot => {
                // The bot's own messages count too: a trigger may hear it
                // give up. Agents writing in a bot's conversation do not.
                if let Some(m) = message
                    .as_ref()
                    .filter(|m| m.author != Author::Agent && !m.internal)
                {
                    changes.extend(self.handoff(tenant, c, m, event.created_at).await?);
                    summary = "handoff triggers".into();
                }
            }
            (EventKind::BotCannotAnswer | EventKind::BotPaused, Some(c))
                if c.routing == Routing::Bot && c.status != ConversationStatus::Closed =>
            {
                let (trigger, reason) = match event.kind {
                    EventKind::BotPaused => ("bot-paused", "the bot was paused"),
                    _ => ("bot-cannot-answer", "the bot said it cannot answer"),
                };
                changes.extend(
                    self.default_handoff(tenant, c, trigger, reason, event.created_at)
                        .await?,
                );
                summary = format!("default handoff trigger {trigger}");
            }
            (EventKind::AgentStatusChanged, _) => {
                let available = match &event.agent {
                    Some(agent) => self
                        .store
                        .get_agent(tenant, agent)
                        .await?
                        .is_some_and(|a| a.presence == Presence::Available),
                    None => false,
                };
                if available {
                    summary = format!(
                        "queue drained: {} assigned",
                        self.drain(tenant, event).await?
                    );
                }
            }
            (EventKind::ConversationTransferred, _) => {
                summary = format!("queue drained: {} assigned", self.drain(tenant, event).await?);
            }
            (EventKind::ConversationStatusChanged, Some(c))
                if c.status == ConversationStatus::Closed =>
            {
                summary = format!(
                    "queue drained: {} assigned",
                    self.drain(tenant, event).await?
                );
            }
            _ => {}
        }
        let notices = self
            .notices(event, conversation.as_ref(), message.as_ref(), &changes)
            .await?;
        changes.extend(notices);
        // Workflows see the conversation as the routing left it.
        changes.extend(
            self.workflows(event, conversation.as_ref(), message.as_ref())
                .await?,
        );
        self.store
            .apply(&Outcome {
                tenant: tenant.clone(),
                event: Some(event.id),
                summary,
                changes,
            })
            .await?;
        Ok(())
    }

    /// Offer queued conversations, oldest first, to agents with room. Each
    /// assignment is its own transaction so capacity is fresh for the next.
    async fn drain(
        &self,
        tenant: &crate::domain::TenantId,
        event: &EventRecord,
    ) -> Result<usize, BindError> {
        let mut assigned = 0;
        for conversation in self.store.queued_conversations(tenant).await? {
            let scope = match &conversation.team {
                Some(team) => Scope::Team(team.clone()),
                None => Scope::Any,
            };
            let changes = self
                .assign(tenant, &conversation, &scope, event.created_at)
                .await?;
            if changes.iter().any(|c| matches!(c, Change::Assign { .. })) {
                assigned += 1;
            }
            if !changes.is_empty() {
                self.store
                    .apply(&Outcome {
                        tenant: tenant.clone(),
                        event: None,
                        summary: String::new(),
                        changes,
                    })
                    .await?;
            }
            if !self.anyone_free(tenant).await? {
                break;
            }
        }
        Ok(assigned)
    }

    async fn anyone_free(&self, tenant: &crate::domain::TenantId) -> Result<bool, StoreError> {
        let agents = self.store.list_agents(tenant).await?;
        Ok(crate::domain::Channel::ALL
            .iter()
            .any(|c| agents.iter().any(|a| a.can_take(*c))))
    }
}
