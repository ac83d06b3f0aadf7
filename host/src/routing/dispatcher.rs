//! The dispatcher: claims events from the outbox in order and applies each
//! one's routing outcome in a single transaction with its "processed" mark,
//! so an event is never lost and never applied twice. Between events it
//! sweeps the queue now and then (see [`Router::dispatch`]).

use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::{Router, Scope, spec::BindError};
use crate::domain::{
    Author, Change, ConversationStatus, EventKind, Millis, Outcome, Presence, Routing, TenantId,
};
use crate::notify;
use crate::store::{EventRecord, StoreError};
use crate::worker::PassHandle;

/// How often a dispatcher with nothing of its own looks again while
/// another process handles pending events.
const OTHERS_POLL: Duration = Duration::from_millis(20);

/// New tenants an idle dispatcher may claim in one pass before it looks
/// at its events.
const CLAIMS_PER_PASS: usize = 8;

/// Events read per round trip.
const BATCH: u32 = 64;
/// Attempts at an event that keeps failing for a database reason before it
/// is set aside with its error recorded, so one bad row cannot stall the rest.
const MAX_ATTEMPTS: u32 = 5;

/// Wakes the dispatcher and lets callers wait for an event to be handled.
pub struct DispatchHandle {
    wake: Notify,
    processed: watch::Sender<i64>,
    sweeps: PassHandle,
}

impl DispatchHandle {
    pub fn new() -> Self {
        Self {
            wake: Notify::new(),
            processed: watch::Sender::new(0),
            sweeps: PassHandle::new(),
        }
    }

    /// Counts the queue sweeps, so a caller can wait for the next one
    /// ([`PassHandle::next`]); sweeps keep their own schedule.
    pub fn sweeps(&self) -> &PassHandle {
        &self.sweeps
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
    /// Run until `shutdown` resolves. Every `sweep_every` (between batches
    /// of events) the queue is swept: tenants with a queued conversation
    /// and someone free for it are drained. Events drain the queue when
    /// capacity frees or routing changes; the sweep catches what no event
    /// announces (a conversation deleted, a plugin that failed for a
    /// passing reason, a change made by another process).
    pub async fn dispatch(
        self,
        handle: std::sync::Arc<DispatchHandle>,
        shutdown: watch::Receiver<bool>,
        sweep_every: Duration,
        lease: Duration,
    ) {
        let mut shutdown = shutdown;
        let mut attempts = 0u32;
        let mut next_sweep = tokio::time::Instant::now() + sweep_every;
        loop {
            if *shutdown.borrow() {
                // Let another process take this one's tenants at once.
                if let Err(error) = self.store.release_leases().await {
                    tracing::warn!(%error, "releasing the dispatch leases failed");
                }
                return;
            }
            if tokio::time::Instant::now() >= next_sweep {
                handle.sweeps.run_pass(self.sweep(lease)).await;
                next_sweep = tokio::time::Instant::now() + sweep_every;
            }
            // Read before the pending events: every event up to `written`
            // that is not pending has been handled, here or by another
            // process sharing the database, so waiters may go on.
            let written = self.store.last_event_id().await.unwrap_or(0);
            // Claim the tenants with pending events that no live process
            // holds, renew our own, then read the events of those alone:
            // each tenant's events are handled by one process, in order.
            let renewed = tokio::time::Instant::now();
            let batch = match self.claimed_events(lease).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(%error, "reading the outbox failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let oldest = self.store.oldest_pending_event().await.unwrap_or(None);
            let settled = oldest.map_or(written, |first| first - 1);
            handle.processed.send_if_modified(|done| {
                let moved = settled > *done;
                if moved {
                    *done = settled;
                }
                moved
            });
            if batch.is_empty() {
                // Events pending that another process holds: look again
                // soon, for the callers here waiting on them (an HTTP reply
                // waits for its routing); otherwise only when woken.
                let idle = if oldest.is_some() {
                    OTHERS_POLL
                } else {
                    Duration::from_secs(1)
                };
                let poll = (tokio::time::Instant::now() + idle).min(next_sweep);
                tokio::select! {
                    _ = handle.wake.notified() => {}
                    _ = tokio::time::sleep_until(poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            for event in batch {
                // Renew before the lease could run out mid-batch (a batch
                // of slow plugin calls); an expired lease is another
                // process's to take.
                if renewed.elapsed() > lease / 2 {
                    break;
                }
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

    /// Claim (and renew) tenants' leases, then read the pending events of
    /// the tenants this process holds.
    /// A process with nothing of its own to do keeps taking tenants (one
    /// per claim) until it has events or there is no tenant left to take.
    async fn claimed_events(&self, lease: Duration) -> Result<Vec<EventRecord>, StoreError> {
        for _ in 0..CLAIMS_PER_PASS {
            let taken = self
                .store
                .claim_pending_tenants(self.store.now().plus(lease))
                .await?;
            let batch = self.store.pending_events_held(BATCH).await?;
            if !batch.is_empty() || !taken {
                return Ok(batch);
            }
        }
        self.store.pending_events_held(BATCH).await
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
                changes.extend(self.assign_arrival(tenant, c, event.created_at).await?);
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
                    summary = self.drained(tenant, event.created_at).await?;
                }
            }
            // A change of hands frees the previous owner's room; a retry
            // follows a change of binding or a raised capacity.
            (EventKind::ConversationTransferred | EventKind::QueueRetry, _) => {
                summary = self.drained(tenant, event.created_at).await?;
            }
            (EventKind::ConversationStatusChanged, Some(c)) if !c.status.holds_capacity() => {
                summary = self.drained(tenant, event.created_at).await?;
            }
            _ => {}
        }
        let notices = notify::events::notices(
            &self.store,
            event,
            conversation.as_ref(),
            message.as_ref(),
            &changes,
        )
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

    /// [`Router::drain`], as an event's summary.
    async fn drained(&self, tenant: &TenantId, now: Millis) -> Result<String, BindError> {
        Ok(format!(
            "queue drained: {} assigned",
            self.drain(tenant, now).await?
        ))
    }

    /// Drain every tenant the store finds with a queued conversation and
    /// someone free for it. A tenant that fails is logged and left for the
    /// next sweep.
    async fn sweep(&self, lease: Duration) {
        let tenants = match self.store.tenants_with_drainable_queue().await {
            Ok(tenants) => tenants,
            Err(error) => {
                tracing::error!(%error, "the queue sweep could not read the queue");
                return;
            }
        };
        for tenant in tenants {
            // Another process dispatching this tenant drains it there.
            match self
                .store
                .claim_tenant(&tenant, self.store.now().plus(lease))
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    tracing::error!(%tenant, %error, "the queue sweep could not claim a tenant");
                    continue;
                }
            }
            match self.drain(&tenant, self.store.now()).await {
                Ok(0) => {}
                Ok(assigned) => tracing::info!(%tenant, assigned, "the queue sweep assigned"),
                Err(error) => tracing::error!(%tenant, %error, "the queue sweep failed"),
            }
        }
    }

    /// Offer queued conversations (priority first, then oldest) to agents
    /// with room, each within its team when it waits in one. Only queued
    /// conversations are drained: an unclaimed one waits for a person.
    /// Each assignment is its own transaction so capacity is fresh for the
    /// next.
    async fn drain(&self, tenant: &TenantId, now: Millis) -> Result<usize, BindError> {
        let mut assigned = 0;
        if !self.anyone_free(tenant).await? {
            return Ok(assigned);
        }
        for conversation in self.store.queued_conversations(tenant).await? {
            let scope = match &conversation.team {
                Some(team) => Scope::Team(team.clone()),
                None => Scope::Any,
            };
            let changes = self.assign(tenant, &conversation, &scope, now).await?;
            if changes.iter().any(|c| matches!(c, Change::Assign { .. })) {
                assigned += 1;
            }
            let placed = changes
                .iter()
                .any(|c| matches!(c, Change::Assign { .. } | Change::Offer { .. }));
            let failed = changes.iter().any(|c| matches!(c, Change::Failure { .. }));
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
            // A strategy that failed and left this conversation waiting
            // would most likely fail the next one the same way: one failed
            // call per drain bounds what a broken plugin costs the
            // dispatcher, and so every other tenant. The next sweep tries
            // again.
            if failed && !placed {
                break;
            }
            if !self.anyone_free(tenant).await? {
                break;
            }
        }
        Ok(assigned)
    }

    async fn anyone_free(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        let agents = self.hot(tenant).await?.agents().await?;
        Ok(crate::domain::Channel::ALL
            .iter()
            .any(|c| agents.iter().any(|a| a.can_take(*c))))
    }
}
