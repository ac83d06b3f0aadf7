//! Hot state: what nearly every decision reads and few writes change (the
//! tenant's bindings with their validated configs, rules, settings, and
//! agents with presence and load), kept in memory per tenant.
//!
//! It stays exact across processes without messages between them: the
//! database keeps three counters per tenant that triggers raise on every
//! write to what they cover (`Store::state_versions`), so a decision reads
//! three small numbers and re-reads a part only when its number moved. What
//! agents are doing (their load) moves on nearly every decision, so it is
//! not re-read whole: only the agents whose work moved are. What
//! is cached under a number was read after that number, so it is never
//! older than the number says; at worst it is newer, and the next moved
//! number replaces it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::spec::{self, BindError, Binding};
use crate::domain::{
    AgentId, AgentRecord, AssignmentSettings, Channel, HandoffSettings, Millis, Rule, Slot,
    TenantId, apply_work, assume_assigned,
};
use crate::store::{StateVersions, Store, StoreError};

/// The config part of a tenant's hot state at one version; each item is
/// read the first time a decision needs it.
#[derive(Default)]
struct Config {
    version: i64,
    assignment: OnceCell<Binding>,
    handoff: OnceCell<Binding>,
    workflows: OnceCell<Binding>,
    rules: OnceCell<Arc<Vec<Rule>>>,
    assignment_settings: OnceCell<AssignmentSettings>,
    handoff_settings: OnceCell<HandoffSettings>,
}

/// The agents of a tenant at one version of who they are.
#[derive(Default)]
struct Agents {
    version: i64,
    /// The list, read the first time a decision needs it, with the value of
    /// the work counter its work is exact for; brought forward by reading
    /// only the agents whose work moved since (most decisions move one).
    list: tokio::sync::Mutex<Option<(i64, Arc<Vec<AgentRecord>>)>>,
}

/// Every tenant's hot state in this process.
#[derive(Default)]
pub(crate) struct HotState {
    config: Mutex<HashMap<TenantId, Arc<Config>>>,
    agents: Mutex<HashMap<TenantId, Arc<Agents>>>,
}

/// The entry in `map` for `version`: the one held when it is as new or
/// newer (a concurrent reader may have seen a later number first), a fresh
/// empty one otherwise.
fn entry<T: Default>(
    map: &Mutex<HashMap<TenantId, Arc<T>>>,
    tenant: &TenantId,
    version: i64,
    version_of: impl Fn(&T) -> i64,
    fresh: impl FnOnce() -> T,
) -> Arc<T> {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match map.get(tenant) {
        Some(held) if version_of(held) >= version => held.clone(),
        _ => {
            let made = Arc::new(fresh());
            map.insert(tenant.clone(), made.clone());
            made
        }
    }
}

impl HotState {
    /// A tenant's hot state as of `versions`.
    fn at(&self, store: &Store, tenant: &TenantId, versions: StateVersions) -> TenantState {
        TenantState {
            store: store.clone(),
            tenant: tenant.clone(),
            config: entry(
                &self.config,
                tenant,
                versions.config,
                |c| c.version,
                || Config {
                    version: versions.config,
                    ..Config::default()
                },
            ),
            work: versions.work,
            assumed: None,
            agents: entry(
                &self.agents,
                tenant,
                versions.agents,
                |a| a.version,
                || Agents {
                    version: versions.agents,
                    ..Agents::default()
                },
            ),
        }
    }

    /// A tenant's hot state as the database stands now.
    pub(crate) async fn current(
        &self,
        store: &Store,
        tenant: &TenantId,
    ) -> Result<TenantState, StoreError> {
        let versions = store.state_versions(tenant).await?;
        Ok(self.at(store, tenant, versions))
    }
}

/// One tenant's hot state for one decision (or one group of decisions).
#[derive(Clone)]
pub(crate) struct TenantState {
    store: Store,
    tenant: TenantId,
    config: Arc<Config>,
    agents: Arc<Agents>,
    /// The tenant's work counter when this state was read.
    work: i64,
    /// For a group of decisions committed together: the agents as the
    /// group's assignments so far leave them, a copy of the list that
    /// nothing outside the group sees (see [`TenantState::holding_agents`]).
    assumed: Option<Arc<Vec<AgentRecord>>>,
}

impl TenantState {
    /// The binding in force for `slot` (the tenant's, or the default).
    pub(crate) async fn binding(&self, slot: Slot) -> Result<Binding, BindError> {
        let cell = match slot {
            Slot::Assignment => &self.config.assignment,
            Slot::Handoff => &self.config.handoff,
            Slot::Workflows => &self.config.workflows,
        };
        cell.get_or_try_init(|| spec::current(&self.store, &self.tenant, slot))
            .await
            .cloned()
    }

    /// The tenant's rules in order.
    pub(crate) async fn rules(&self) -> Result<Arc<Vec<Rule>>, StoreError> {
        self.config
            .rules
            .get_or_try_init(|| async { self.store.list_rules(&self.tenant).await.map(Arc::new) })
            .await
            .cloned()
    }

    pub(crate) async fn assignment_settings(&self) -> Result<AssignmentSettings, StoreError> {
        self.config
            .assignment_settings
            .get_or_try_init(|| self.store.assignment_settings(&self.tenant))
            .await
            .copied()
    }

    pub(crate) async fn handoff_settings(&self) -> Result<HandoffSettings, StoreError> {
        self.config
            .handoff_settings
            .get_or_try_init(|| self.store.handoff_settings(&self.tenant))
            .await
            .cloned()
    }

    pub(crate) fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// This state with the agents' list held as its own, so that a group
    /// of decisions committed together can count each assignment before
    /// the commit ([`TenantState::assume_assigned`]) for the decisions
    /// after it, while every other decision goes on seeing what is
    /// committed.
    pub(crate) async fn holding_agents(mut self) -> Result<Self, StoreError> {
        self.assumed = Some(self.agents().await?);
        Ok(self)
    }

    /// Count an assignment the group has decided and not yet committed
    /// (nothing unless the list is held, see above). The first one copies
    /// the list; the next ones change that copy in place, since no
    /// decision holds it between decisions.
    pub(crate) fn assume_assigned(&mut self, agent: &AgentId, channel: Channel, now: Millis) {
        if let Some(list) = &mut self.assumed {
            assume_assigned(Arc::make_mut(list).as_mut_slice(), agent, channel, now);
        }
    }

    /// Every agent of the tenant with teams, presence and load.
    pub(crate) async fn agents(&self) -> Result<Arc<Vec<AgentRecord>>, StoreError> {
        if let Some(assumed) = &self.assumed {
            return Ok(assumed.clone());
        }
        let mut held = self.agents.list.lock().await;
        match &mut *held {
            // As new as this state, or newer.
            Some((at, list)) if *at >= self.work => Ok(list.clone()),
            Some((at, list)) => {
                let moved = self.store.agent_work_since(&self.tenant, *at).await?;
                // In place when no decision still holds the list, which is
                // the rule: a decision lets go of it when it is done.
                apply_work(Arc::make_mut(list).as_mut_slice(), moved);
                *at = self.work;
                Ok(list.clone())
            }
            None => {
                let list = Arc::new(self.store.list_agents(&self.tenant).await?);
                *held = Some((self.work, list.clone()));
                Ok(list)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::domain::{
        AssignmentMode, Capacity, Change, Channel, HistoryEntry, Millis, NewAgent, Outcome,
        Presence, Role, TicketAccess,
    };
    use crate::store::testing::{TestDb, kims_chat};

    /// Two stores on one database stand for two processes: what one writes,
    /// the other's hot state shows at its next decision, and what nobody
    /// wrote is not read again.
    #[tokio::test]
    async fn hot_state_follows_writes_made_by_another_process() {
        for db in TestDb::all().await {
            let clock = Clock::manual(Millis(1_000));
            let here = Store::connect(&db.url, clock.clone()).await.expect("store");
            let there = Store::connect(&db.url, clock).await.expect("store");
            follows(&here, &there).await;
            drop((here, there));
            db.drop_now().await;
        }
    }

    async fn follows(here: &Store, there: &Store) {
        let (tenant, _) = here.create_tenant("Acme").await.expect("tenant");
        let tenant = tenant.id;
        let agent = here
            .create_agent(
                &tenant,
                NewAgent {
                    name: "Ana".into(),
                    email: "ana@example.com".into(),
                    role: Role::Agent,
                    teams: Vec::new(),
                    capacity: Capacity::parse(&serde_json::json!({"chat": 2})).expect("capacity"),
                    ticket_access: TicketAccess::Own,
                },
            )
            .await
            .expect("agent");
        let hot = HotState::default();

        let before = hot.current(here, &tenant).await.expect("hot");
        assert_eq!(
            before.agents().await.expect("agents")[0].presence,
            Presence::Offline
        );
        assert_eq!(
            before.assignment_settings().await.expect("settings").mode,
            AssignmentMode::Automatic
        );
        let rules = before.rules().await.expect("rules");
        assert!(
            before
                .binding(Slot::Workflows)
                .await
                .expect("binding")
                .plugins
                .is_empty()
        );

        // Nothing written: the same parts, not read again.
        let same = hot.current(here, &tenant).await.expect("hot");
        assert!(Arc::ptr_eq(&same.config, &before.config));
        assert!(Arc::ptr_eq(&same.agents, &before.agents));
        assert!(Arc::ptr_eq(&same.rules().await.expect("rules"), &rules));

        // Another process changes presence, the assignment mode and binds a
        // workflow.
        let workflow = crate::domain::PluginUse {
            id: "plg_test".into(),
            name: "tagger".into(),
            version: "1.0.0".into(),
            sha256: "00".into(),
            subscribes: Vec::new(),
            config: serde_json::json!({}),
            enabled: true,
            conditions: None,
        };
        there
            .put_binding(
                &tenant,
                Slot::Workflows,
                &serde_json::json!({"plugins": [workflow], "fallback": {"kind": "default"}}),
            )
            .await
            .expect("binding");
        there
            .set_presence(&tenant, &agent.id, Presence::Available)
            .await
            .expect("presence");
        there
            .put_assignment_settings(
                &tenant,
                &AssignmentSettings {
                    mode: AssignmentMode::Manual,
                },
            )
            .await
            .expect("settings");
        let after = hot.current(here, &tenant).await.expect("hot");
        assert_eq!(
            after.agents().await.expect("agents")[0].presence,
            Presence::Available
        );
        assert_eq!(
            after.assignment_settings().await.expect("settings").mode,
            AssignmentMode::Manual
        );
        assert_eq!(
            after
                .binding(Slot::Workflows)
                .await
                .expect("binding")
                .plugins,
            vec![workflow]
        );

        // An assignment in the other process moves the agent's load.
        let (conversation, event) = there
            .create_conversation(&tenant, kims_chat(), None)
            .await
            .expect("conversation");
        let conversation_id = conversation.id;
        let config = hot.current(here, &tenant).await.expect("hot").config;
        there
            .apply(&Outcome {
                tenant: tenant.clone(),
                event: Some(crate::domain::EventRef {
                    id: event,
                    depth: 0,
                }),
                summary: "assigned".into(),
                changes: vec![Change::Assign {
                    conversation: conversation_id.clone(),
                    agent: agent.id.clone(),
                    team: None,
                    history: HistoryEntry {
                        decided_by: "test".into(),
                        rule: None,
                        plugin_name: None,
                        plugin_version: None,
                        reason: "test".into(),
                    },
                }],
            })
            .await
            .expect("applied");
        let loaded = hot.current(here, &tenant).await.expect("hot");
        let agents = loaded.agents().await.expect("agents");
        assert_eq!(agents[0].load.get(&Channel::Chat).copied(), Some(1));
        assert_eq!(agents[0].handled, 1);
        assert_eq!(agents[0].last_assigned_at, Some(Millis(1_000)));
        // Load is agents' state, not config; and what they do, not who
        // they are: the list was brought forward, not read again.
        assert!(Arc::ptr_eq(&loaded.config, &config));
        assert!(Arc::ptr_eq(&loaded.agents, &after.agents));
        drop(agents);

        // Closed in the other process: the chat no longer counts.
        there
            .apply(&Outcome {
                tenant: tenant.clone(),
                event: None,
                summary: "closed".into(),
                changes: vec![Change::SetStatus {
                    conversation: conversation_id.clone(),
                    status: crate::domain::ConversationStatus::Closed,
                }],
            })
            .await
            .expect("closed");
        let freed = hot.current(here, &tenant).await.expect("hot");
        let agents = freed.agents().await.expect("agents");
        assert_eq!(agents[0].load.get(&Channel::Chat), None);
        assert!(agents[0].can_take(Channel::Chat));
        assert!(Arc::ptr_eq(&freed.agents, &after.agents));

        // Who they are moved again: read whole.
        there
            .set_presence(&tenant, &agent.id, Presence::Away)
            .await
            .expect("presence");
        let away = hot.current(here, &tenant).await.expect("hot");
        assert!(!Arc::ptr_eq(&away.agents, &after.agents));
        let agents = away.agents().await.expect("agents");
        assert_eq!(agents[0].presence, Presence::Away);
        assert_eq!(agents[0].handled, 1);
    }
}
