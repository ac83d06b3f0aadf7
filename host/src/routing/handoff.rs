//! Bot-to-human handoff: the tenant's triggers run on each customer message
//! of a bot-owned conversation; the first that hands over decides.

use super::spec::{self, PluginUse};
use super::{Router, assign::Scope, bounded, failure_change, snapshot};
use crate::domain::{EventKind, Millis, Slot, TenantId};
use crate::plugin::CallError;
use crate::plugin::bindings::types;
use crate::plugin::defaults::KEYWORD_HANDOFF;
use crate::store::{Change, ConversationRecord, HistoryEntry, MessageRecord};

/// A validated decision to hand over.
struct Handover {
    scope: Scope,
    mode: types::HandoffMode,
    reason: String,
}

impl Router {
    /// Run the handoff triggers for one message; returns the changes.
    pub(super) async fn handoff(
        &self,
        tenant: &TenantId,
        conversation: &ConversationRecord,
        message: &MessageRecord,
        now: Millis,
    ) -> Result<Vec<Change>, spec::BindError> {
        let binding = spec::current(&self.store, tenant, Slot::Handoff).await?;
        let messages = self
            .store
            .messages(
                &conversation.id,
                self.plugins.runtime().limits().max_recent_messages as u32,
            )
            .await?;
        let snapshot = snapshot::conversation(conversation, &messages);
        let wit_message = snapshot::message(message);
        let mut changes = Vec::new();
        for trigger in &binding.plugins {
            let mut current = trigger.clone();
            let mut outcome = self
                .try_trigger(tenant, &current, now, &snapshot, &wit_message)
                .await;
            if let Err(error) = &outcome {
                // A failed trigger is replaced by the default one for this
                // message, so "refund" still reaches a human.
                let fallback = match binding.fallback {
                    spec::Fallback::Queue => None,
                    _ if current.id == KEYWORD_HANDOFF => None,
                    _ => Some(
                        spec::default_binding(&self.store, tenant, Slot::Handoff)
                            .await?
                            .plugins
                            .remove(0),
                    ),
                };
                let label = fallback
                    .as_ref()
                    .map_or("none".to_owned(), PluginUse::label);
                changes.push(failure_change(
                    Some(&conversation.id),
                    &current,
                    error,
                    &label,
                ));
                if let Some(fallback) = fallback {
                    current = fallback;
                    outcome = self
                        .try_trigger(tenant, &current, now, &snapshot, &wit_message)
                        .await;
                    if let Err(error) = &outcome {
                        changes.push(failure_change(
                            Some(&conversation.id),
                            &current,
                            error,
                            "none",
                        ));
                    }
                }
            }
            let Ok((decision, kv)) = outcome else {
                continue;
            };
            if !kv.is_empty() {
                changes.push(Change::Kv {
                    plugin: current.name.clone(),
                    writes: kv,
                });
            }
            let Some(handover) = decision else { continue };
            changes.extend(
                self.hand_over(tenant, conversation, &current, handover, now)
                    .await?,
            );
            return Ok(changes);
        }
        Ok(changes)
    }

    async fn try_trigger(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        now: Millis,
        conversation: &types::Conversation,
        message: &types::Message,
    ) -> Result<(Option<Handover>, Vec<(String, Option<Vec<u8>>)>), CallError> {
        let answer = self
            .evaluate(tenant, plugin, now, conversation.clone(), message.clone())
            .await?;
        let decision = match answer.value {
            types::HandoffDecision::Stay(_) => None,
            types::HandoffDecision::HandOver(handoff)
                if handoff.mode == types::HandoffMode::None =>
            {
                None
            }
            types::HandoffDecision::HandOver(handoff) => {
                let scope = self
                    .target_scope(tenant, handoff.target, "handed over to")
                    .await?;
                Some(Handover {
                    scope,
                    mode: handoff.mode,
                    reason: bounded(handoff.reason, self.max_text()),
                })
            }
        };
        Ok((decision, answer.kv_writes))
    }

    async fn hand_over(
        &self,
        tenant: &TenantId,
        conversation: &ConversationRecord,
        trigger: &PluginUse,
        handover: Handover,
        now: Millis,
    ) -> Result<Vec<Change>, spec::BindError> {
        let entry = |reason: String| HistoryEntry {
            decided_by: "handoff".into(),
            rule: None,
            plugin_name: Some(trigger.name.clone()),
            plugin_version: Some(trigger.version.clone()),
            reason,
        };
        let mut changes = vec![Change::Event {
            kind: EventKind::ConversationHandedOver,
            conversation: Some(conversation.id.clone()),
            agent: None,
        }];
        let mode = match handover.mode {
            types::HandoffMode::Asynchronous => "asynchronous",
            _ => "real-time",
        };
        let reason = format!("{mode} handoff: {}", handover.reason);
        match (handover.mode, &handover.scope) {
            // Asynchronous to a named agent: theirs for later follow-up,
            // whether or not they are online now.
            (types::HandoffMode::Asynchronous, Scope::Agent(agent)) => {
                changes.push(Change::Assign {
                    conversation: conversation.id.clone(),
                    agent: agent.clone(),
                    team: None,
                    history: entry(reason),
                });
            }
            (types::HandoffMode::Asynchronous, scope) => {
                let team = match scope {
                    Scope::Team(team) => Some(team.clone()),
                    _ => None,
                };
                changes.push(Change::Queue {
                    conversation: conversation.id.clone(),
                    team,
                    history: entry(reason),
                });
            }
            (_, scope) => {
                // Real time: leave the bot now, then the strategy picks a human.
                let team = match scope {
                    Scope::Team(team) => Some(team.clone()),
                    _ => None,
                };
                changes.push(Change::Queue {
                    conversation: conversation.id.clone(),
                    team: team.clone(),
                    history: entry(reason),
                });
                let mut waiting = conversation.clone();
                waiting.routing = crate::domain::Routing::Queued;
                waiting.assignee = None;
                waiting.team = team.or(waiting.team);
                changes.extend(self.assign(tenant, &waiting, scope, now).await?);
            }
        }
        Ok(changes)
    }
}
