//! Bot-to-human handoff: the tenant's triggers run on each public message
//! of a bot-owned conversation; the first that hands over decides, and the
//! tenant's handoff process (mode, destination, business hours, messages)
//! says what happens next. The host's own default triggers (the bot cannot
//! answer, the bot was paused) go the same way.

use super::spec;
use super::{Router, assign::Scope, bounded, snapshot};
use crate::domain::{
    Change, Channel, ConversationRecord, ConversationStatus, Desk, EventKind, HandoffMode,
    HistoryEntry, MessageRecord, Millis, PluginUse, Routing, Slot, TenantId, WhenUnassigned,
    handoff_result,
};
use crate::plugin::CallError;
use crate::plugin::bindings::types;
use crate::plugin::defaults::KEYWORD_HANDOFF;

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
        let binding = self.hot(tenant).await?.binding(Slot::Handoff).await?;
        let messages = self.recent_messages(&conversation.id).await?;
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
                changes.push(self.failure_change(
                    tenant,
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
                        changes.push(self.failure_change(
                            tenant,
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
                self.hand_over(
                    tenant,
                    conversation,
                    Trigger::Plugin(&current),
                    handover,
                    now,
                )
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

    /// A handoff set off by one of the host's default triggers (the bot said
    /// it cannot answer, the bot was paused) rather than a plugin.
    pub(super) async fn default_handoff(
        &self,
        tenant: &TenantId,
        conversation: &ConversationRecord,
        trigger: &'static str,
        reason: &str,
        now: Millis,
    ) -> Result<Vec<Change>, spec::BindError> {
        let handover = Handover {
            scope: Scope::Any,
            mode: types::HandoffMode::RealTime,
            reason: reason.to_owned(),
        };
        self.hand_over(
            tenant,
            conversation,
            Trigger::Default(trigger),
            handover,
            now,
        )
        .await
    }

    /// Whether `scope` can take the conversation now: inside its team's
    /// business hours (a team without hours is always open), and whether
    /// anyone in it is free.
    async fn availability(
        &self,
        tenant: &TenantId,
        scope: &Scope,
        channel: Channel,
        now: Millis,
    ) -> Result<(bool, bool), spec::BindError> {
        let in_hours = match scope {
            Scope::Team(team) => self
                .store
                .team_hours(tenant, team)
                .await?
                .is_none_or(|hours| hours.is_open(now)),
            _ => true,
        };
        let free = self
            .hot(tenant)
            .await?
            .agents()
            .await?
            .iter()
            .any(|a| scope.admits(a) && a.can_take(channel));
        Ok((in_hours, free))
    }

    /// Hand a bot's conversation over following the tenant's handoff
    /// process: its mode, destination, business hours and messages. A
    /// trigger's own team or agent, or its asking for asynchronous
    /// follow-up, narrows what the settings say.
    async fn hand_over(
        &self,
        tenant: &TenantId,
        conversation: &ConversationRecord,
        trigger: Trigger<'_>,
        handover: Handover,
        now: Millis,
    ) -> Result<Vec<Change>, spec::BindError> {
        let settings = self.hot(tenant).await?.handoff_settings().await?;
        let entry = |reason: String| HistoryEntry {
            decided_by: "handoff".into(),
            rule: None,
            plugin_name: trigger.plugin().map(|p| p.name.clone()),
            plugin_version: trigger.plugin().map(|p| p.version.clone()),
            reason,
        };
        let id = &conversation.id;
        if settings.mode == HandoffMode::None {
            return Ok(vec![Change::History {
                conversation: id.clone(),
                action: "handoff-declined".into(),
                agent: None,
                history: entry(format!(
                    "{}: {}; the handoff mode is none, so the bot keeps answering",
                    trigger.label(),
                    handover.reason
                )),
            }]);
        }
        let asynchronous = settings.mode == HandoffMode::Asynchronous
            || handover.mode == types::HandoffMode::Asynchronous;
        let destination = &settings.destination;
        let scope = match (handover.scope, destination.desk) {
            (Scope::Any, Desk::TicketWorkflow) => Scope::Any,
            (Scope::Any, _) => match (&destination.agent, &destination.team) {
                (Some(agent), _) => Scope::Agent(agent.clone()),
                (None, Some(team)) => Scope::Team(team.clone()),
                (None, None) => Scope::Any,
            },
            (narrower, _) => narrower,
        };
        let team = match &scope {
            Scope::Team(team) => Some(team.clone()),
            _ => None,
        };
        let mut changes = vec![Change::Event {
            kind: EventKind::ConversationHandedOver,
            conversation: Some(id.clone()),
            agent: None,
        }];
        if destination.desk != Desk::Inbox {
            changes.push(Change::CreateTicket {
                conversation: id.clone(),
                subject: conversation
                    .subject
                    .clone()
                    .unwrap_or_else(|| format!("Handoff from {}", conversation.channel)),
                pipeline: destination.pipeline.clone(),
            });
        }
        let (in_hours, free) = self
            .availability(tenant, &scope, conversation.channel, now)
            .await?;
        let mode = if asynchronous {
            "asynchronous"
        } else {
            "real-time"
        };
        let reason = format!(
            "{mode} handoff to the {}: {}",
            destination.desk, handover.reason
        );
        let taken = if asynchronous {
            match &scope {
                // Theirs for later follow-up, whether or not they are online now.
                Scope::Agent(agent) => {
                    changes.push(Change::Assign {
                        conversation: id.clone(),
                        agent: agent.clone(),
                        team: None,
                        history: entry(reason),
                    });
                    changes.push(Change::Event {
                        kind: EventKind::ConversationAssigned,
                        conversation: Some(id.clone()),
                        agent: Some(agent.clone()),
                    });
                }
                _ => changes.push(Change::Queue {
                    conversation: id.clone(),
                    team,
                    history: entry(reason),
                }),
            }
            matches!(scope, Scope::Agent(_))
        } else if !in_hours {
            // Real time is not possible outside business hours: it waits for
            // the team, and the customer is told so.
            changes.push(Change::Queue {
                conversation: id.clone(),
                team,
                history: entry(format!("{reason}; outside the team's business hours")),
            });
            false
        } else {
            changes.push(Change::Queue {
                conversation: id.clone(),
                team: team.clone(),
                history: entry(reason),
            });
            let mut waiting = conversation.clone();
            waiting.routing = Routing::Queued;
            waiting.assignee = None;
            waiting.team = team.or(waiting.team);
            let assigned = self.assign(tenant, &waiting, &scope, now).await?;
            let taken = assigned
                .iter()
                .any(|c| matches!(c, Change::Assign { .. } | Change::Offer { .. }));
            changes.extend(assigned);
            taken
        };
        let result = handoff_result(asynchronous, in_hours, free, taken);
        if result.ended_unassigned && settings.when_unassigned == WhenUnassigned::Close {
            changes.push(Change::SetStatus {
                conversation: id.clone(),
                status: ConversationStatus::Closed,
            });
            changes.push(Change::History {
                conversation: id.clone(),
                action: "closed".into(),
                agent: None,
                history: entry(
                    "the real-time handoff ended unassigned, and this desk closes such chats"
                        .into(),
                ),
            });
        }
        if let Some(body) = settings.messages.text(result.notice) {
            changes.push(Change::Say {
                conversation: id.clone(),
                body: body.clone(),
            });
        }
        Ok(changes)
    }
}

/// What set a handoff off.
#[derive(Clone, Copy)]
enum Trigger<'a> {
    /// A bound trigger plugin.
    Plugin(&'a PluginUse),
    /// One of the host's default triggers, by name.
    Default(&'static str),
}

impl Trigger<'_> {
    fn plugin(&self) -> Option<&PluginUse> {
        match self {
            Trigger::Plugin(plugin) => Some(plugin),
            Trigger::Default(_) => None,
        }
    }

    fn label(&self) -> String {
        match self {
            Trigger::Plugin(plugin) => plugin.label(),
            Trigger::Default(name) => (*name).to_owned(),
        }
    }
}
