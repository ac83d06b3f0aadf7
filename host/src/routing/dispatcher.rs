//! The dispatcher: claims events from the outbox and applies each one's
//! routing outcome in a single transaction with its "processed" mark, so
//! an event is never lost and never applied twice.
//!
//! Tenants are handled side by side: a supervisor hands each tenant with
//! pending events a turn on a task of its own, up to a set number at once,
//! and a turn handles that tenant's events in order. A tenant whose plugin
//! spends its whole time budget on every call holds up its own turns, not
//! other tenants'. While tenants wait for a free place, a turn ends after a
//! bounded time and the waiting are taken oldest event first. Beside them the queue is
//! swept now and then (see [`Router::dispatch`]). Whoever decides for a
//! tenant (its turn, or the sweep) holds that tenant's lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use super::dispatch_handle::{DispatchHandle, DispatcherState};
use super::hot::TenantState;
use super::{Router, Scope, group, spec::BindError, workflow};
use crate::domain::{
    Author, Change, ConversationRecord, ConversationStatus, EventKind, EventRef, Millis, Outcome,
    Presence, Routing, Slot, TenantId, folded_assignment,
};
use crate::notify;
use crate::store::{EventRecord, StoreError};

/// How often the supervisor, with pending events it does not hold, looks
/// again (another process handles them, and callers here may wait on them).
const OTHERS_POLL: Duration = Duration::from_millis(20);

/// How long the supervisor sleeps with nothing pending, unless woken.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// New tenants an idle supervisor may claim in one pass before it looks at
/// its tenants' events.
const CLAIMS_PER_PASS: usize = 8;

/// Events a turn reads at a time.
const TURN_EVENTS: u32 = 64;

/// How long a turn goes on while other tenants wait for a place. A turn
/// that has run this long then ends after the event in hand, so that a
/// tenant whose plugin is slow gives its place to the next tenant waiting.
const TURN_TIME: Duration = Duration::from_millis(100);

/// Attempts at an event that keeps failing for a database reason before it
/// is set aside with its error recorded, so one bad row cannot stall the rest.
const MAX_ATTEMPTS: u32 = 5;

/// Whether handling an event of `kind` may drain the queue, applying
/// assignments before the event's own outcome (the drain arms of
/// [`Router::handle`]).
fn may_drain(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::AgentStatusChanged
            | EventKind::ConversationTransferred
            | EventKind::QueueRetry
            | EventKind::ConversationStatusChanged
    )
}

/// One lock per tenant: whoever decides for a tenant (its turn, or the
/// queue sweep) holds it.
#[derive(Default)]
struct TenantLocks(Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>);

impl TenantLocks {
    fn of(&self, tenant: &TenantId) -> Arc<tokio::sync::Mutex<()>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(tenant.clone())
            .or_default()
            .clone()
    }
}

/// The turns under way.
#[derive(Default)]
struct Turns {
    set: JoinSet<()>,
    /// Which tenant each turn is for (a panicked turn's task id still
    /// names it). At most `concurrency` entries, so looking a tenant up
    /// among the values is cheap.
    running: HashMap<tokio::task::Id, TenantId>,
    /// Set while tenants wait for a place: turns then end after
    /// [`TURN_TIME`].
    contended: Arc<AtomicBool>,
    /// Set when the process stops: turns then end after the event in hand,
    /// and the rest wait in the outbox for the next start.
    stopping: Arc<AtomicBool>,
}

impl Turns {
    fn start(&mut self, tenant: TenantId, turn: impl Future<Output = ()> + Send + 'static) {
        let id = self.set.spawn(turn).id();
        self.running.insert(id, tenant);
    }

    /// Whether `tenant` has a turn under way.
    fn busy(&self, tenant: &TenantId) -> bool {
        self.running.values().any(|t| t == tenant)
    }

    fn ended(&mut self, ended: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match ended {
            Ok((id, ())) => id,
            Err(error) => {
                tracing::error!(%error, "a dispatch turn stopped abnormally");
                error.id()
            }
        };
        self.running.remove(&id);
    }
}

impl Router {
    /// Run until `shutdown` resolves, handling the events of up to
    /// `concurrency` tenants at once. Every `sweep_every` the queue is
    /// swept: tenants with a queued conversation and someone free for it
    /// are drained. Events drain the queue when capacity frees or routing
    /// changes; the sweep catches what no event announces (a conversation
    /// deleted, a plugin that failed for a passing reason, a change made by
    /// another process).
    pub async fn dispatch(
        self,
        handle: Arc<DispatchHandle>,
        shutdown: watch::Receiver<bool>,
        sweep_every: Duration,
        lease: Duration,
        concurrency: usize,
    ) {
        let _running = handle.running();
        let locks = Arc::new(TenantLocks::default());
        let sweeps = tokio::spawn(self.clone().sweeps(
            handle.clone(),
            shutdown.clone(),
            sweep_every,
            lease,
            locks.clone(),
        ));
        self.supervise(&handle, shutdown, lease, concurrency.max(1), &locks)
            .await;
        if let Err(error) = sweeps.await {
            tracing::error!(%error, "the queue sweep stopped abnormally");
        }
        // Let another process take this one's tenants at once.
        if let Err(error) = self.store.release_leases().await {
            tracing::warn!(%error, "releasing the dispatch leases failed");
        }
    }

    /// Claim tenants with pending events and give each a turn, up to
    /// `concurrency` at once, until `shutdown`; then wait for the turns
    /// under way to end.
    async fn supervise(
        &self,
        handle: &Arc<DispatchHandle>,
        mut shutdown: watch::Receiver<bool>,
        lease: Duration,
        concurrency: usize,
        locks: &Arc<TenantLocks>,
    ) {
        let mut wakes = handle.wakes();
        let mut turns = Turns::default();
        let mut next_look = Instant::now();
        let mut look = true;
        while !*shutdown.borrow() {
            if look {
                let idle = self
                    .pass(handle, lease, concurrency, locks, &mut turns)
                    .await;
                // A deadline, not a pause: wakes that need no look must
                // not put off the next (it renews the leases).
                next_look = Instant::now() + idle;
            }
            tokio::select! {
                Some(ended) = turns.set.join_next_with_id(), if !turns.set.is_empty() => {
                    turns.ended(ended);
                    // Its tenant may have more, and its place is free.
                    look = true;
                }
                _ = wakes.changed() => {
                    // A wake for a tenant whose turn is under way needs no
                    // look: that turn takes the new events too.
                    let woken = handle.take_woken();
                    look = woken.any || woken.tenants.iter().any(|t| !turns.busy(t));
                }
                _ = tokio::time::sleep_until(next_look) => look = true,
                changed = shutdown.changed() => {
                    // The sender gone is a stop too, not a reason to spin.
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        turns.stopping.store(true, Ordering::Relaxed);
        while let Some(ended) = turns.set.join_next_with_id().await {
            turns.ended(ended);
        }
    }

    /// One look at the outbox: claim tenants, move the settled mark, and
    /// start a turn for each held tenant with pending events and no turn
    /// under way, oldest pending event first, while there is room. How
    /// long to wait before looking again unless something happens.
    async fn pass(
        &self,
        handle: &Arc<DispatchHandle>,
        lease: Duration,
        concurrency: usize,
        locks: &Arc<TenantLocks>,
        turns: &mut Turns,
    ) -> Duration {
        // What the reads below cover needs no wake of its own.
        handle.take_woken();
        // Read before the pending events: every event up to `written` that
        // is not pending has been handled, here or by another process
        // sharing the database, so waiters may go on.
        let written = self.store.last_event_id().await.unwrap_or(0);
        let ready = match self.claimed_tenants(lease, concurrency).await {
            Ok(ready) => ready,
            Err(error) => {
                tracing::error!(%error, "reading the outbox failed");
                return Duration::from_millis(200);
            }
        };
        let oldest = self.store.oldest_pending_event().await.unwrap_or(None);
        handle.settle(oldest.map_or(written, |first| first - 1));
        let mut waiting = false;
        for tenant in ready {
            if turns.busy(&tenant) {
                continue;
            }
            if turns.running.len() >= concurrency {
                waiting = true;
                break;
            }
            let turn = self.clone().turn(
                tenant.clone(),
                handle.clone(),
                locks.clone(),
                turns.contended.clone(),
                turns.stopping.clone(),
            );
            turns.start(tenant, turn);
        }
        // Turns under way make room as soon as they may.
        turns.contended.store(waiting, Ordering::Relaxed);
        // Events pending that no turn here will take (another process
        // holds them): look again soon, for the callers here waiting on
        // them (an HTTP reply waits for its routing).
        if oldest.is_some() && turns.running.is_empty() {
            OTHERS_POLL
        } else {
            IDLE_POLL
        }
    }

    /// Claim (and renew) tenants' leases, then list the held tenants with
    /// pending events, oldest event first. A supervisor with nothing of
    /// its own to do keeps taking tenants (one per claim) until it has
    /// events or there is no tenant left to take.
    async fn claimed_tenants(
        &self,
        lease: Duration,
        concurrency: usize,
    ) -> Result<Vec<TenantId>, StoreError> {
        // Enough to fill every place, with some to spare for tenants whose
        // turn is still running.
        let limit = u32::try_from(concurrency * 2).unwrap_or(u32::MAX);
        for _ in 0..CLAIMS_PER_PASS {
            let taken = self
                .store
                .claim_pending_tenants(self.store.now().plus(lease))
                .await?;
            let ready = self.store.held_tenants_with_pending(limit).await?;
            if !ready.is_empty() || !taken {
                return Ok(ready);
            }
        }
        self.store.held_tenants_with_pending(limit).await
    }

    /// One turn of `tenant`: its pending events in order until there are
    /// none, or, while other tenants wait for a place (`contended`), until
    /// the turn has run [`TURN_TIME`], or, once the process is stopping
    /// (`stopping`), until the event in hand is done.
    async fn turn(
        self,
        tenant: TenantId,
        handle: Arc<DispatchHandle>,
        locks: Arc<TenantLocks>,
        contended: Arc<AtomicBool>,
        stopping: Arc<AtomicBool>,
    ) {
        let lock = locks.of(&tenant);
        let _deciding = lock.lock().await;
        // Counted from here: waiting for the lock (a sweep draining this
        // tenant) is no reason to end the turn before its first event.
        let started = Instant::now();
        loop {
            let batch = match self.store.pending_events_of(&tenant, TURN_EVENTS).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(%tenant, %error, "reading the tenant's events failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return;
                }
            };
            if batch.is_empty() {
                return;
            }
            let mut rest = batch.as_slice();
            while let Some(first) = rest.first() {
                if stopping.load(Ordering::Relaxed)
                    || (contended.load(Ordering::Relaxed) && started.elapsed() > TURN_TIME)
                {
                    return;
                }
                // New conversations one after another are decided as a
                // group and committed together; anything else, or a group
                // that could not start, is handled alone.
                let run = group::leading_run(rest);
                let mut done = if run > 1 {
                    self.handle_group(&tenant, &rest[..run]).await
                } else {
                    0
                };
                if done == 0 {
                    self.handle_with_retries(first).await;
                    done = 1;
                }
                for event in &rest[..done] {
                    handle.handled_one(&tenant, event.id);
                }
                rest = &rest[done..];
            }
        }
    }

    /// Handle `event`, trying again after a database failure; after
    /// [`MAX_ATTEMPTS`] it is set aside with its error recorded, so one bad
    /// row cannot stall the tenant's other events.
    pub(super) async fn handle_with_retries(&self, event: &EventRecord) {
        for attempt in 1..=MAX_ATTEMPTS {
            match self.handle(event).await {
                Ok(()) => return,
                // Handled by another process on the same database.
                Err(BindError::Store(StoreError::Conflict(reason))) => {
                    tracing::debug!(event = event.id, %reason, "event handled elsewhere");
                    return;
                }
                Err(error) => {
                    tracing::error!(event = event.id, %error, attempt, "handling an event failed");
                    if attempt == MAX_ATTEMPTS {
                        let _ = self
                            .store
                            .mark_processed(event.id, &format!("error: {error}"))
                            .await;
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
            }
        }
    }

    /// Sweep the queue every `sweep_every` until `shutdown`.
    async fn sweeps(
        self,
        handle: Arc<DispatchHandle>,
        mut shutdown: watch::Receiver<bool>,
        sweep_every: Duration,
        lease: Duration,
        locks: Arc<TenantLocks>,
    ) {
        let mut next = Instant::now() + sweep_every;
        while !*shutdown.borrow() {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {
                    handle.sweeps().run_pass(self.sweep(lease, &locks)).await;
                    next = Instant::now() + sweep_every;
                }
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Handle one event: decide, then apply everything in one transaction.
    async fn handle(&self, event: &EventRecord) -> Result<(), BindError> {
        let (outcome, _) = self.outcome_of(event).await?;
        self.store.apply(&outcome).await?;
        Ok(())
    }

    /// Decide what `event` changes, with the conversation it names as it
    /// was read before deciding.
    pub(super) async fn outcome_of(
        &self,
        event: &EventRecord,
    ) -> Result<(Outcome, Option<ConversationRecord>), BindError> {
        let tenant = &event.tenant_id;
        // What the event names and the tenant's hot state are read side by
        // side, not one round trip after another. A queue drain applies
        // assignments of its own before this event's outcome, so for an
        // event that may drain, the hot state is left unread here and the
        // workflows after the drain read the state it left.
        let (conversation, message, mut hot) = tokio::try_join!(
            async {
                match &event.conversation {
                    Some(id) => match group::read_ahead(id, |a| a.conversation.clone()) {
                        Some(read) => Ok(Some(read)),
                        None => self.store.get_conversation(tenant, id).await,
                    },
                    None => Ok(None),
                }
            },
            async {
                match &event.message {
                    Some(id) => self.store.message(id).await,
                    None => Ok(None),
                }
            },
            async {
                if may_drain(event.kind) {
                    Ok(None)
                } else {
                    self.hot(tenant).await.map(Some)
                }
            },
        )?;
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
                let hot = self.hot_once(tenant, &mut hot).await?;
                changes.extend(self.assign_arrival(tenant, hot, c, event.created_at).await?);
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
            self.workflows(&mut hot, event, conversation.as_ref(), message.as_ref())
                .await?,
        );
        if let Some(c) = &conversation {
            self.fold_assigned(tenant, &mut hot, c, &mut changes)
                .await?;
        }
        let outcome = Outcome {
            tenant: tenant.clone(),
            event: Some(EventRef {
                id: event.id,
                depth: event.depth,
            }),
            summary,
            changes,
        };
        Ok((outcome, conversation))
    }

    /// Handle the `conversation.assigned` follow-up of `changes` with them
    /// when it is simple enough ([`folded_assignment`]) and no workflow
    /// hears it: then the assignee's notices are all its handling, so they
    /// join this outcome and the event is written as handled, sparing the
    /// tenant a second cycle (a read of the conversation, a transaction) for
    /// every assignment. Otherwise it waits for its own cycle as before.
    async fn fold_assigned(
        &self,
        tenant: &TenantId,
        hot: &mut Option<TenantState>,
        c: &ConversationRecord,
        changes: &mut Vec<Change>,
    ) -> Result<(), BindError> {
        let Some(folded) = folded_assignment(&c.id, changes) else {
            return Ok(());
        };
        let workflows = self
            .hot_once(tenant, hot)
            .await?
            .binding(Slot::Workflows)
            .await?;
        if workflows
            .plugins
            .iter()
            .any(|p| workflow::listens(p, EventKind::ConversationAssigned))
        {
            return Ok(());
        }
        let notices = notify::events::folded_assigned(&self.store, c, &folded).await?;
        let handled = Change::HandledEvent {
            kind: EventKind::ConversationAssigned,
            conversation: c.id.clone(),
            agent: folded.agent.clone(),
            summary: "handled with the assignment that caused it".into(),
        };
        let at = folded.event;
        changes[at] = handled;
        changes.extend(notices);
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
    async fn sweep(&self, lease: Duration, locks: &TenantLocks) {
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
            let lock = locks.of(&tenant);
            let _deciding = lock.lock().await;
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
