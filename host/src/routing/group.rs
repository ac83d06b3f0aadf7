//! Groups of arrivals: a tenant's new conversations, pending one after
//! another, are decided in order and committed in one transaction, instead
//! of one transaction (and one wait for the writer) each.
//!
//! Each decision must see what the ones before it decided, though none is
//! committed yet. Of what a decision reads, an arrival's outcome changes
//! two things other decisions see: the work of the agent it assigns, and
//! the data its plugins store (a round-robin's last pick). While the group
//! is decided, both are kept in memory for its task only: the tenant's hot
//! state with the agents' list held as the group's own copy, each
//! assignment counted in it, and each plugin's stored data with the
//! group's writes over it. [`Router::hot`] and [`Router::context`] read
//! them from here, so every decision in the group, and every step of one
//! (rules, strategy, workflows, the notices), reads one consistent state.
//! An outcome that changes anything else ([`others_may_follow`]) is the
//! group's last, as is one whose contact already has a conversation in the
//! group (a rule may route to whoever had the contact before).
//!
//! The group commits whole or not at all ([`Store::apply_together`]); if
//! it cannot, its events are handled again one by one, decided afresh.
//!
//! [`Store::apply_together`]: crate::store::Store::apply_together

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::Router;
use super::hot::TenantState;
use crate::domain::{
    AgentId, Change, ConversationId, ConversationRecord, EventKind, MessageRecord, Outcome,
    TenantId, others_may_follow,
};
use crate::store::{Arriving, EventRecord, Store, StoreError};

/// Events decided together at most: a group's first event waits for the
/// last one's decision before its commit.
const GROUP_MAX: usize = 32;

/// How long a group's decisions may take before it is committed with what
/// it has: bounds how long its first event waits, and keeps a tenant whose
/// plugin is slow to groups of one, each answered as soon as it is decided.
const GROUP_TIME: Duration = Duration::from_millis(20);

/// What a group has decided and not committed, for the decisions after.
struct Pending {
    state: TenantState,
    /// Each plugin's stored data as the group's writes leave it; a plugin
    /// the group has not written is read from the store.
    kv: HashMap<String, BTreeMap<String, Vec<u8>>>,
    /// The group's conversations as deciding them reads them, read for
    /// all of them at once before the first decision.
    arriving: HashMap<ConversationId, Arriving>,
}

tokio::task_local! {
    /// Set while a group is decided, on the task deciding it only.
    static PENDING: RefCell<Pending>;
}

/// How many of `events` from the first may be decided as one group: the
/// conversations created one after another, at most [`GROUP_MAX`].
pub(super) fn leading_run(events: &[EventRecord]) -> usize {
    events
        .iter()
        .take(GROUP_MAX)
        .take_while(|e| e.kind == EventKind::ConversationCreated)
        .count()
}

/// The hot state of `tenant` as the group being decided on this task
/// leaves it, if one is.
pub(super) fn pending_state(tenant: &TenantId) -> Option<TenantState> {
    PENDING
        .try_with(|p| {
            let p = p.borrow();
            (p.state.tenant() == tenant).then(|| p.state.clone())
        })
        .ok()
        .flatten()
}

/// A plugin's stored data for a call: inside a group being decided on
/// this task, as the group leaves it (read from the store the first time
/// and kept, since nothing the group writes is committed before it ends);
/// otherwise as the store has it.
pub(super) async fn plugin_kv(
    store: &Store,
    tenant: &TenantId,
    plugin: &str,
) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
    let in_group = PENDING.try_with(|p| {
        let p = p.borrow();
        (p.state.tenant() == tenant).then(|| p.kv.get(plugin).cloned())
    });
    match in_group {
        Ok(Some(Some(held))) => Ok(held),
        Ok(Some(None)) => {
            let read = store.plugin_kv(tenant, plugin).await?;
            PENDING.with(|p| p.borrow_mut().kv.insert(plugin.to_owned(), read.clone()));
            Ok(read)
        }
        _ => store.plugin_kv(tenant, plugin).await,
    }
}

/// What the group being decided on this task read ahead about
/// `conversation`, through `part`; `None` outside a group, or for a
/// conversation it did not read (the caller reads the store).
pub(super) fn read_ahead<T>(
    conversation: &ConversationId,
    part: impl FnOnce(&Arriving) -> T,
) -> Option<T> {
    PENDING
        .try_with(|p| p.borrow().arriving.get(conversation).map(part))
        .ok()
        .flatten()
}

impl Router {
    /// How many of a conversation's newest messages a decision reads.
    fn recent_limit(&self) -> u32 {
        self.plugins.runtime().limits().max_recent_messages as u32
    }

    /// A conversation's newest messages, oldest first: as the group being
    /// decided on this task read them ahead, or from the store.
    pub(super) async fn recent_messages(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        match read_ahead(conversation, |a| a.recent.clone()) {
            Some(read) => Ok(read),
            None => self.store.messages(conversation, self.recent_limit()).await,
        }
    }

    /// The agents who declined a conversation: as the group being decided
    /// on this task read them ahead, or from the store.
    pub(super) async fn declined(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<AgentId>, StoreError> {
        match read_ahead(conversation, |a| a.declined.clone()) {
            Some(read) => Ok(read),
            None => self.store.declined(conversation).await,
        }
    }

    /// Decide the leading events of `events` (all the tenant's new
    /// conversations) as a group and commit them together. How many were
    /// handled, from the first; 0 when no group could start, and the first
    /// is then for the caller to handle alone.
    pub(super) async fn handle_group(&self, tenant: &TenantId, events: &[EventRecord]) -> usize {
        self.handle_group_within(tenant, events, GROUP_TIME).await
    }

    /// [`Router::handle_group`], adding no decision to the group once its
    /// decisions have taken `time`.
    async fn handle_group_within(
        &self,
        tenant: &TenantId,
        events: &[EventRecord],
        time: Duration,
    ) -> usize {
        let state = match self.hot(tenant).await {
            Ok(state) => state.holding_agents().await,
            Err(error) => Err(error),
        };
        let state = match state {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(%tenant, %error, "reading the state for a group failed");
                return 0;
            }
        };
        let ids: Vec<ConversationId> = events
            .iter()
            .filter_map(|e| e.conversation.clone())
            .collect();
        // Without it each decision reads its own conversation, as alone.
        let recent = self.recent_limit();
        let arriving = match self.store.arriving(tenant, &ids, recent).await {
            Ok(arriving) => arriving,
            Err(error) => {
                tracing::warn!(%tenant, %error, "reading a group's conversations ahead failed");
                HashMap::new()
            }
        };
        let pending = RefCell::new(Pending {
            state,
            kv: HashMap::new(),
            arriving,
        });
        let outcomes = PENDING
            .scope(pending, self.decide_group(events, time))
            .await;
        if outcomes.is_empty() {
            return 0;
        }
        if let Err(error) = self.store.apply_together(&outcomes).await {
            // Handled elsewhere in part (another process), or a passing
            // failure: each event again on its own, as if never grouped.
            tracing::info!(%tenant, %error, events = outcomes.len(), "a group was not committed; handling its events one by one");
            for event in &events[..outcomes.len()] {
                self.handle_with_retries(event).await;
            }
        }
        outcomes.len()
    }

    /// The outcomes of the leading events of `events` that may be
    /// committed as one group, decided in order, each after the ones
    /// before it are counted in [`PENDING`].
    async fn decide_group(&self, events: &[EventRecord], time: Duration) -> Vec<Outcome> {
        let started = Instant::now();
        let mut outcomes = Vec::new();
        let mut contacts = HashSet::new();
        for event in events {
            // A failure is the event's own: it is handled alone after the
            // group, and tried again there.
            let Ok((outcome, conversation)) = self.outcome_of(event).await else {
                break;
            };
            let goes_on = match &conversation {
                // Deleted since: nothing to route, and nothing to count.
                None => true,
                Some(conversation) => {
                    if let Some(email) = &conversation.contact_email
                        && !contacts.insert(email.clone())
                    {
                        // Decided without the group's assignment of the
                        // contact's earlier conversation: dropped, and
                        // decided again alone once the group is committed.
                        break;
                    }
                    others_may_follow(&conversation.id, &outcome.changes)
                        && self.count_in(conversation, &outcome)
                }
            };
            outcomes.push(outcome);
            if !goes_on || started.elapsed() >= time {
                break;
            }
        }
        outcomes
    }

    /// Count what `outcome` changes in [`PENDING`] for the decisions after
    /// it: its assignment in the agent's work, its plugins' writes in their
    /// stored data. A plugin writes only after a call, and the call's
    /// context read its data into the group ([`plugin_kv`]); data the group
    /// does not hold cannot be written over, and `false` ends the group.
    fn count_in(&self, conversation: &ConversationRecord, outcome: &Outcome) -> bool {
        let now = self.store.now();
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            for change in &outcome.changes {
                match change {
                    Change::Assign { agent, .. } => {
                        p.state.assume_assigned(agent, conversation.channel, now);
                    }
                    Change::Kv { plugin, writes } => {
                        let Some(data) = p.kv.get_mut(plugin) else {
                            return false;
                        };
                        for (key, value) in writes {
                            match value {
                                Some(value) => data.insert(key.clone(), value.clone()),
                                None => data.remove(key),
                            };
                        }
                    }
                    _ => {}
                }
            }
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::{
        AgentId, Assignee, Capacity, ConversationId, Millis, NewAgent, NewConversation, Presence,
        Role, Routing, TicketAccess,
    };
    use crate::metrics::Metrics;
    use crate::plugin::{PluginRegistry, PluginRuntime, SandboxLimits};
    use crate::store::Store;
    use crate::store::testing::{kims_chat, on_each_engine};

    /// A router with the default plugins (round-robin decides) on `store`.
    async fn router(store: &Store) -> Router {
        let runtime = Arc::new(PluginRuntime::new(SandboxLimits::default()).expect("runtime"));
        let metrics = Arc::new(Metrics::new());
        let plugins = Arc::new(PluginRegistry::new(runtime, store.clone(), metrics.clone()));
        plugins.install_builtins().await.expect("default plugins");
        Router::new(store.clone(), plugins, metrics)
    }

    /// A tenant with two available agents taking `chats` chats each.
    async fn desk(store: &Store, chats: u32) -> (TenantId, [AgentId; 2]) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let tenant = tenant.id;
        let mut agents = Vec::new();
        for name in ["Ana", "Bo"] {
            let agent = store
                .create_agent(
                    &tenant,
                    NewAgent {
                        name: name.into(),
                        email: format!("{}@example.com", name.to_lowercase()),
                        role: Role::Agent,
                        teams: Vec::new(),
                        capacity: Capacity::parse(&serde_json::json!({ "chat": chats }))
                            .expect("capacity"),
                        ticket_access: TicketAccess::Own,
                    },
                )
                .await
                .expect("agent");
            store
                .set_presence(&tenant, &agent.id, Presence::Available)
                .await
                .expect("presence");
            agents.push(agent.id);
        }
        // The set-up's own events (presence changes) are out of the way.
        assert!(
            store
                .claim_tenant(&tenant, Millis(i64::MAX / 2))
                .await
                .expect("claim")
        );
        for event in store.pending_events_of(&tenant, 64).await.expect("events") {
            store
                .mark_processed(event.id, "set-up")
                .await
                .expect("marked");
        }
        let agents = agents.try_into().expect("two");
        (tenant, agents)
    }

    /// `n` new chats, each from a contact of its own; their events, pending
    /// for this process.
    async fn arrivals(
        store: &Store,
        tenant: &TenantId,
        n: usize,
    ) -> (Vec<ConversationId>, Vec<EventRecord>) {
        let mut ids = Vec::new();
        for i in 0..n {
            let chat = NewConversation {
                contact_email: Some(format!("customer{i}@example.com")),
                ..kims_chat()
            };
            let (conversation, _) = store
                .create_conversation(tenant, chat, None)
                .await
                .expect("conversation");
            ids.push(conversation.id);
        }
        let events = store.pending_events_of(tenant, 64).await.expect("events");
        (ids, events)
    }

    async fn owners(store: &Store, tenant: &TenantId, ids: &[ConversationId]) -> Vec<Routing> {
        let mut routings = Vec::new();
        for id in ids {
            let c = store
                .get_conversation(tenant, id)
                .await
                .expect("read")
                .expect("conversation");
            routings.push(c.routing);
        }
        routings
    }

    async fn assignee(store: &Store, tenant: &TenantId, id: &ConversationId) -> Option<AgentId> {
        match store
            .get_conversation(tenant, id)
            .await
            .expect("read")
            .expect("conversation")
            .assignee
        {
            Some(Assignee::Agent(agent)) => Some(agent),
            _ => None,
        }
    }

    /// How long the tests' groups may take: as long as they need, so that
    /// a slow build's decisions do not cut a group short.
    const UNHURRIED: Duration = Duration::from_secs(3600);

    /// A desk whose agents take `chats` chats each, and `n` arrivals
    /// pending on it, handled as one group given `time`: the tenant, its
    /// agents, the conversations, their events, and how many the group
    /// handled.
    async fn grouped(
        store: &Store,
        chats: u32,
        n: usize,
        time: Duration,
    ) -> (
        TenantId,
        [AgentId; 2],
        Vec<ConversationId>,
        Vec<EventRecord>,
        usize,
    ) {
        let (tenant, agents) = desk(store, chats).await;
        let router = router(store).await;
        let (ids, events) = arrivals(store, &tenant, n).await;
        let handled = router.handle_group_within(&tenant, &events, time).await;
        (tenant, agents, ids, events, handled)
    }

    /// Nothing is committed until the group is, yet each decision sees the
    /// ones before it: an agent with room for one chat gets one, and the
    /// round-robin's pick moves on from the last one made in the group.
    #[tokio::test]
    async fn each_arrival_is_decided_after_the_ones_before_it_in_the_group() {
        on_each_engine(async |store| {
            // The third finds nobody free and is queued: that ends the
            // group, with it.
            let (tenant, [ana, bo], ids, events, handled) = grouped(store, 1, 3, UNHURRIED).await;
            assert_eq!(leading_run(&events), 3);
            assert_eq!(handled, 3);
            assert_eq!(
                owners(store, &tenant, &ids).await,
                [Routing::Assigned, Routing::Assigned, Routing::Queued]
            );
            let first = assignee(store, &tenant, &ids[0]).await.expect("assigned");
            let second = assignee(store, &tenant, &ids[1]).await.expect("assigned");
            assert_ne!(first, second, "one chat each");
            assert!([&ana, &bo].contains(&&first) && [&ana, &bo].contains(&&second));
            // What is left is the queued one's follow-up, none of the group.
            let left = store.pending_events_of(&tenant, 64).await.expect("events");
            assert!(left.iter().all(|e| e.kind == EventKind::ConversationQueued));
            assert!(left.iter().all(|e| events.iter().all(|g| g.id != e.id)));
        })
        .await;
    }

    #[tokio::test]
    async fn the_round_robin_goes_round_within_a_group() {
        on_each_engine(async |store| {
            let (tenant, _, ids, _, handled) = grouped(store, 10, 4, UNHURRIED).await;
            assert_eq!(handled, 4);
            let mut picks = Vec::new();
            for id in &ids {
                picks.push(assignee(store, &tenant, id).await.expect("assigned"));
            }
            // Each pick differs from the one before: with room to spare, only
            // the stored last pick (written in the group, not committed)
            // moves it on.
            assert!(picks.windows(2).all(|w| w[0] != w[1]), "{picks:?}");
            assert_eq!(picks[0], picks[2]);
        })
        .await;
    }

    /// Once its decisions have taken their time, a group takes no more: the
    /// rest wait for the next.
    #[tokio::test]
    async fn a_group_out_of_time_is_committed_with_what_it_has() {
        on_each_engine(async |store| {
            let (tenant, _, ids, _, handled) = grouped(store, 10, 3, Duration::ZERO).await;
            assert_eq!(handled, 1);
            assert_eq!(
                owners(store, &tenant, &ids).await,
                [Routing::Assigned, Routing::Unassigned, Routing::Unassigned]
            );
        })
        .await;
    }

    /// A contact's second conversation in a run waits for the group before
    /// it: a rule may route it to whoever got the first.
    #[tokio::test]
    async fn a_contacts_second_arrival_starts_after_the_group() {
        on_each_engine(async |store| {
            let (tenant, _) = desk(store, 10).await;
            let router = router(store).await;
            for _ in 0..2 {
                store
                    .create_conversation(&tenant, kims_chat(), None)
                    .await
                    .expect("conversation");
            }
            let (_, events) = arrivals(store, &tenant, 0).await;
            assert_eq!(
                router
                    .handle_group_within(&tenant, &events, UNHURRIED)
                    .await,
                1
            );
            let left = store.pending_events_of(&tenant, 64).await.expect("events");
            assert_eq!(left.len(), 1);
            assert_eq!(left[0].id, events[1].id);
        })
        .await;
    }

    /// Another process handled one of the group's events first: the group
    /// is not committed, and its events are handled one by one, the one
    /// handled elsewhere left as it was.
    #[tokio::test]
    async fn a_group_refused_whole_is_handled_one_by_one() {
        on_each_engine(async |store| {
            let (tenant, _) = desk(store, 10).await;
            let router = router(store).await;
            let (ids, events) = arrivals(store, &tenant, 3).await;
            store
                .mark_processed(events[1].id, "elsewhere")
                .await
                .expect("marked");
            assert_eq!(
                router
                    .handle_group_within(&tenant, &events, UNHURRIED)
                    .await,
                3
            );
            assert_eq!(
                owners(store, &tenant, &ids).await,
                [Routing::Assigned, Routing::Unassigned, Routing::Assigned]
            );
            assert!(
                store
                    .pending_events_of(&tenant, 64)
                    .await
                    .expect("events")
                    .is_empty()
            );
        })
        .await;
    }
}
