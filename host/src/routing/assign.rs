//! Choosing an owner: candidates in scope, the bound strategy, validation of
//! its answer, and the fallback when it fails.

use std::collections::BTreeSet;

use super::hot::TenantState;
use super::rules::RuleDecision;
use super::spec::{self, Fallback};
use super::{Router, bounded, snapshot};
use crate::domain::{
    AgentId, AgentRecord, Arrival, AssignmentMode, Change, ConversationRecord, ConversationStatus,
    EventKind, HistoryEntry, Millis, PluginUse, Role, Slot, TeamId, TenantId, arrival,
};
use crate::plugin::bindings::types;
use crate::plugin::defaults::ROUND_ROBIN;
use crate::plugin::{AssignmentRequest, CallError};

/// Which agents may get the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Any agent of the tenant.
    Any,
    /// Members of one team.
    Team(TeamId),
    /// One agent.
    Agent(AgentId),
    /// Named agents plus every member of the named teams.
    Members {
        agents: Vec<AgentId>,
        teams: Vec<TeamId>,
    },
}

impl Scope {
    pub(super) fn admits(&self, agent: &AgentRecord) -> bool {
        match self {
            Scope::Any => true,
            Scope::Team(team) => agent.teams.contains(team),
            Scope::Agent(id) => &agent.id == id,
            Scope::Members { agents, teams } => {
                agents.contains(&agent.id) || agent.teams.iter().any(|t| teams.contains(t))
            }
        }
    }

    /// The team a conversation waits in while this scope has nobody free.
    fn team(&self) -> Option<TeamId> {
        match self {
            Scope::Team(team) => Some(team.clone()),
            Scope::Members { agents, teams } if agents.is_empty() && teams.len() == 1 => {
                teams.first().cloned()
            }
            _ => None,
        }
    }
}

/// A validated strategy answer.
enum Verdict {
    Assign(AgentId, String),
    Offer(Vec<AgentId>, String),
    Queue(String),
    Nobody(String),
}

/// Check an answer against the candidates: only an agent in scope with
/// spare capacity on the channel may be chosen.
fn validate(
    decision: types::AssignmentDecision,
    agents: &[AgentRecord],
    conversation: &ConversationRecord,
) -> Result<Verdict, String> {
    let check = |id: &str| -> Result<AgentId, String> {
        let agent = agents
            .iter()
            .find(|a| a.id.as_str() == id)
            .ok_or_else(|| format!("chose {id:?}, which is not a candidate"))?;
        if !agent.can_take(conversation.channel) {
            return Err(format!(
                "chose {id}, who cannot take a {} conversation now ({}, {} of {} open)",
                conversation.channel,
                agent.presence,
                agent.load.get(&conversation.channel).copied().unwrap_or(0),
                agent.capacity.on(conversation.channel)
            ));
        }
        Ok(agent.id.clone())
    };
    match decision {
        types::AssignmentDecision::Assign(to) => Ok(Verdict::Assign(check(&to.agent)?, to.reason)),
        types::AssignmentDecision::Offer(offer) => {
            // More names than there are candidates can only be repeats;
            // refusing them also bounds the work an answer can cause.
            if offer.agents.len() > agents.len() {
                return Err(format!(
                    "offered the conversation {} times; there are {} candidates",
                    offer.agents.len(),
                    agents.len()
                ));
            }
            let unique: BTreeSet<String> = offer.agents.into_iter().collect();
            if unique.is_empty() {
                return Err("offered the conversation to nobody".into());
            }
            let agents = unique
                .iter()
                .map(|id| check(id))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Verdict::Offer(agents, offer.reason))
        }
        types::AssignmentDecision::Queue(reason) => Ok(Verdict::Queue(reason)),
        types::AssignmentDecision::NoAssignment(reason) => Ok(Verdict::Nobody(reason)),
    }
}

impl Router {
    /// Decide who gets `conversation` among agents in `scope`, returning the
    /// changes to apply. Never fails for a plugin's fault: a failure is
    /// recorded and the fallback decides.
    pub(super) async fn assign(
        &self,
        tenant: &TenantId,
        conversation: &ConversationRecord,
        scope: &Scope,
        now: Millis,
    ) -> Result<Vec<Change>, spec::BindError> {
        let hot = self.hot(tenant).await?;
        self.assign_in_mode(
            tenant,
            &hot,
            conversation,
            scope,
            now,
            AssignmentMode::Automatic,
        )
        .await
    }

    /// Route a conversation that arrives (created, or written to again by
    /// the customer while nobody owns it) as the tenant's assignment mode
    /// says: in manual mode it waits for a person unless a rule assigns it.
    /// Everything else routing assigns (queue drains, handoffs, workflows'
    /// targets) was asked for, and goes by [`Router::assign`].
    pub(super) async fn assign_arrival(
        &self,
        tenant: &TenantId,
        hot: &TenantState,
        conversation: &ConversationRecord,
        now: Millis,
    ) -> Result<Vec<Change>, spec::BindError> {
        let mode = hot.assignment_settings().await?.mode;
        self.assign_in_mode(tenant, hot, conversation, &Scope::Any, now, mode)
            .await
    }

    async fn assign_in_mode(
        &self,
        tenant: &TenantId,
        hot: &TenantState,
        conversation: &ConversationRecord,
        scope: &Scope,
        now: Millis,
        mode: AssignmentMode,
    ) -> Result<Vec<Change>, spec::BindError> {
        let mut changes = Vec::new();
        let decided = self
            .assign_recording(tenant, hot, conversation, scope, now, mode, &mut changes)
            .await?;
        changes.extend(decided);
        Ok(changes)
    }

    /// [`Router::assign_in_mode`], pushing condition-plugin failures to
    /// `failures`.
    #[allow(clippy::too_many_arguments)]
    async fn assign_recording(
        &self,
        tenant: &TenantId,
        hot: &TenantState,
        conversation: &ConversationRecord,
        scope: &Scope,
        now: Millis,
        mode: AssignmentMode,
        failures: &mut Vec<Change>,
    ) -> Result<Vec<Change>, spec::BindError> {
        // Read side by side. Who declined is needed only when a strategy
        // decides (not when a rule closes or queues), but reading it here
        // costs no round trip of its own.
        let (messages, all_agents, declined) = tokio::try_join!(
            self.recent_messages(&conversation.id),
            hot.agents(),
            self.declined(&conversation.id),
        )?;
        // Solo mode (LiveAgent): a desk run by one admin gives them everything,
        // whatever their presence or load.
        let solo = match all_agents.as_slice() {
            [only] if only.role == Role::Admin => Some(only),
            _ => None,
        };
        // Rules apply when nothing narrower (a handoff or a workflow target)
        // already decided who may get the conversation. Failed condition
        // plugins are recorded with whatever is decided.
        let (scope, rule, method) = if *scope == Scope::Any {
            let decision = self
                .match_rule(tenant, hot, conversation, &messages, failures)
                .await?;
            let history = |decided_by: &str, reason: String| HistoryEntry {
                decided_by: decided_by.into(),
                rule: decision.rule().map(str::to_owned),
                plugin_name: None,
                plugin_version: None,
                reason,
            };
            let rule_said = match &decision {
                RuleDecision::Unresolved { rule, reason } => format!("rule {rule:?}: {reason}; "),
                _ => String::new(),
            };
            match arrival(mode, decision.verdict(), solo.is_some()) {
                Arrival::Close => {
                    let rule = decision.rule().unwrap_or_default();
                    return Ok(vec![
                        Change::Unassign {
                            conversation: conversation.id.clone(),
                            history: history(
                                "rule",
                                format!("rule {rule:?} sends it to nobody: ended unhandled"),
                            ),
                        },
                        Change::SetStatus {
                            conversation: conversation.id.clone(),
                            status: ConversationStatus::Closed,
                        },
                    ]);
                }
                Arrival::Queue => {
                    let history = history("rule", format!("{rule_said}waiting in the queue"));
                    return self.enqueue(tenant, conversation, None, history).await;
                }
                Arrival::WaitForPerson => {
                    let history = history(
                        "host",
                        format!(
                            "{rule_said}the desk assigns by hand: waiting unclaimed for an agent to take it"
                        ),
                    );
                    return Ok(vec![Change::Unclaim {
                        conversation: conversation.id.clone(),
                        team: conversation.team.clone(),
                        history,
                    }]);
                }
                Arrival::Strategy => match decision {
                    RuleDecision::Route {
                        rule,
                        scope,
                        method,
                    } => (scope, Some(rule), method),
                    other => (Scope::Any, other.rule().map(str::to_owned), None),
                },
            }
        } else {
            (scope.clone(), None, None)
        };
        let scope = &scope;
        if let Some(solo) = solo {
            let history = HistoryEntry {
                decided_by: "solo".into(),
                rule: rule.clone(),
                plugin_name: None,
                plugin_version: None,
                reason: format!("{} is the only agent and an admin: solo mode", solo.name),
            };
            let id = conversation.id.clone();
            return Ok(vec![
                Change::Assign {
                    conversation: id.clone(),
                    agent: solo.id.clone(),
                    team: None,
                    history,
                },
                Change::Event {
                    kind: EventKind::ConversationAssigned,
                    conversation: Some(id),
                    agent: Some(solo.id.clone()),
                },
            ]);
        }
        let agents: Vec<AgentRecord> = all_agents
            .iter()
            .filter(|a| scope.admits(a) && !declined.contains(&a.id))
            .take(self.plugins.runtime().limits().max_candidates)
            .cloned()
            .collect();
        let team = scope.team().or_else(|| conversation.team.clone());
        if !agents.iter().any(|a| a.can_take(conversation.channel)) {
            let reason = format!(
                "no agent in scope can take a {} conversation now",
                conversation.channel
            );
            return self
                .enqueue(
                    tenant,
                    conversation,
                    team,
                    HistoryEntry {
                        decided_by: "host".into(),
                        rule: rule.clone(),
                        plugin_name: None,
                        plugin_version: None,
                        reason,
                    },
                )
                .await;
        }
        let binding = hot.binding(Slot::Assignment).await?;
        let request = AssignmentRequest::new(
            snapshot::conversation(conversation, &messages),
            agents.iter().map(snapshot::candidate).collect(),
        );
        let mut changes = Vec::new();
        let mut plugin = match method.or_else(|| binding.plugins.first().cloned()) {
            Some(p) => p,
            None => spec::default_binding(&self.store, tenant, Slot::Assignment)
                .await?
                .plugins
                .remove(0),
        };
        let mut decided_by = "plugin";
        loop {
            match self
                .try_strategy(tenant, &plugin, now, request.clone(), &agents, conversation)
                .await
            {
                Ok((verdict, kv)) => {
                    if !kv.is_empty() {
                        changes.push(Change::Kv {
                            plugin: plugin.name.clone(),
                            writes: kv,
                        });
                    }
                    let entry = |reason: String| HistoryEntry {
                        decided_by: decided_by.into(),
                        rule: rule.clone(),
                        plugin_name: Some(plugin.name.clone()),
                        plugin_version: Some(plugin.version.clone()),
                        reason: bounded(reason, self.max_text()),
                    };
                    let verdict = self
                        .apply_verdict(tenant, conversation, team.clone(), verdict, entry)
                        .await?;
                    changes.extend(verdict);
                    return Ok(changes);
                }
                Err(error) => {
                    let next = if decided_by == "fallback" {
                        None
                    } else {
                        match &binding.fallback {
                            Fallback::Queue => None,
                            Fallback::Plugin(p) => Some(p.clone()),
                            Fallback::Default if plugin.id == ROUND_ROBIN => None,
                            Fallback::Default => Some(
                                spec::default_binding(&self.store, tenant, Slot::Assignment)
                                    .await?
                                    .plugins
                                    .remove(0),
                            ),
                        }
                    };
                    let label = next.as_ref().map_or("queue".to_owned(), PluginUse::label);
                    changes.push(self.failure_change(
                        tenant,
                        Some(&conversation.id),
                        &plugin,
                        &error,
                        &label,
                    ));
                    match next {
                        Some(fallback) => {
                            decided_by = "fallback";
                            plugin = fallback;
                        }
                        None => {
                            let reason = format!(
                                "queued because {} failed ({})",
                                plugin.label(),
                                error.kind()
                            );
                            let history = HistoryEntry {
                                decided_by: "fallback".into(),
                                rule: rule.clone(),
                                plugin_name: Some(plugin.name.clone()),
                                plugin_version: Some(plugin.version.clone()),
                                reason,
                            };
                            changes
                                .extend(self.enqueue(tenant, conversation, team, history).await?);
                            return Ok(changes);
                        }
                    }
                }
            }
        }
    }

    async fn try_strategy(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        now: Millis,
        request: AssignmentRequest,
        agents: &[AgentRecord],
        conversation: &ConversationRecord,
    ) -> Result<(Verdict, Vec<(String, Option<Vec<u8>>)>), CallError> {
        let answer = self.decide(tenant, plugin, now, request).await?;
        let verdict = validate(answer.value, agents, conversation).map_err(CallError::Invalid)?;
        Ok((verdict, answer.kv_writes))
    }

    async fn apply_verdict(
        &self,
        tenant: &TenantId,
        conversation: &ConversationRecord,
        team: Option<TeamId>,
        verdict: Verdict,
        entry: impl Fn(String) -> HistoryEntry,
    ) -> Result<Vec<Change>, spec::BindError> {
        let id = conversation.id.clone();
        Ok(match verdict {
            Verdict::Assign(agent, reason) => vec![
                Change::Assign {
                    conversation: id.clone(),
                    agent: agent.clone(),
                    team,
                    history: entry(reason),
                },
                Change::Event {
                    kind: EventKind::ConversationAssigned,
                    conversation: Some(id),
                    agent: Some(agent),
                },
            ],
            Verdict::Offer(agents, reason) => vec![Change::Offer {
                conversation: id,
                agents,
                history: entry(reason),
            }],
            Verdict::Queue(reason) => {
                return self
                    .enqueue(tenant, conversation, team, entry(reason))
                    .await;
            }
            Verdict::Nobody(reason) => vec![Change::Unassign {
                conversation: id,
                history: entry(reason),
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::{Channel, Presence};

    use crate::domain::fixtures::chat;

    fn agent(presence: Presence, open_chats: u32) -> AgentRecord {
        let mut agent =
            crate::domain::fixtures::agent(presence, serde_json::json!({"chat": 2, "call": 1}));
        agent.load = HashMap::from([(Channel::Chat, open_chats)]);
        agent
    }

    fn assign(id: &AgentId) -> types::AssignmentDecision {
        types::AssignmentDecision::Assign(types::AssignTo {
            agent: id.to_string(),
            reason: "r".into(),
        })
    }

    #[test]
    fn only_a_candidate_with_room_may_be_chosen() {
        let free = agent(Presence::Available, 1);
        let full = agent(Presence::Available, 2);
        let away = agent(Presence::Away, 0);
        let agents = [free.clone(), full.clone(), away.clone()];
        let conversation = chat();
        assert!(
            matches!(validate(assign(&free.id), &agents, &conversation), Ok(Verdict::Assign(id, _)) if id == free.id)
        );
        for (who, why) in [(&full.id, "2 of 2"), (&away.id, "away")] {
            let error = validate(assign(who), &agents, &conversation)
                .err()
                .expect("refused");
            assert!(
                error.contains("cannot take") && error.contains(why),
                "{error}"
            );
        }
        let stranger = AgentId::generate();
        let error = validate(assign(&stranger), &agents, &conversation)
            .err()
            .expect("refused");
        assert!(error.contains("not a candidate"), "{error}");
    }

    #[test]
    fn offers_must_name_someone_and_every_one_must_have_room() {
        let free = agent(Presence::Available, 0);
        let full = agent(Presence::Available, 2);
        let agents = [free.clone(), full.clone()];
        let offer = |ids: Vec<String>| {
            types::AssignmentDecision::Offer(types::OfferTo {
                agents: ids,
                reason: "r".into(),
            })
        };
        assert!(validate(offer(vec![]), &agents, &chat()).is_err());
        assert!(
            validate(
                offer(vec![free.id.to_string(), full.id.to_string()]),
                &agents,
                &chat()
            )
            .is_err()
        );
        let twice = offer(vec![free.id.to_string(), free.id.to_string()]);
        assert!(
            matches!(validate(twice, &agents, &chat()), Ok(Verdict::Offer(ids, _)) if ids == vec![free.id.clone()])
        );
        // More names than candidates: repeats beyond any use.
        let flood = offer(vec![free.id.to_string(); 3]);
        let error = validate(flood, &agents, &chat()).err().expect("refused");
        assert!(error.contains("3 times; there are 2 candidates"), "{error}");
    }
}
