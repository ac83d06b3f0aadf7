//! Workflows: each enabled workflow subscribed to the event, whose
//! conditions hold, returns actions; the host checks them ([`super::actions`])
//! and applies every workflow's actions with the event, recording what each
//! workflow did. Events caused by workflow actions run workflows again, up to
//! a depth: past it the chain is a loop, stopped and recorded.

use super::hot::TenantState;
use super::spec;
use super::{Router, rules, snapshot};
use crate::domain::{Change, ConversationRecord, EventKind, MessageRecord, PluginUse, Slot};
use crate::plugin::CallError;
use crate::plugin::bindings::types;
use crate::store::EventRecord;

/// How deep a chain of events caused by events may go before workflows stop
/// running on it. A legitimate chain (a message → an assignment → a
/// notification) is a handful deep; a loop between workflows reaches this
/// in a few milliseconds.
pub const MAX_EVENT_DEPTH: u32 = 8;

/// The contract's name for an event, if workflows can see this kind.
fn wit_event_kind(kind: EventKind) -> Option<types::EventKind> {
    Some(match kind {
        EventKind::ConversationCreated => types::EventKind::ConversationCreated,
        EventKind::MessageReceived => types::EventKind::MessageReceived,
        EventKind::AgentStatusChanged => types::EventKind::AgentStatusChanged,
        EventKind::ConversationAssigned => types::EventKind::ConversationAssigned,
        EventKind::ConversationQueued => types::EventKind::ConversationQueued,
        EventKind::ConversationHandedOver => types::EventKind::ConversationHandedOver,
        EventKind::ConversationStatusChanged => types::EventKind::ConversationStatusChanged,
        EventKind::ConversationTransferred => types::EventKind::ConversationTransferred,
        EventKind::TicketCreated => types::EventKind::TicketCreated,
        EventKind::TimerFired => types::EventKind::TimerFired,
        // Handoff signals reach workflows as the handoff they cause.
        EventKind::BotCannotAnswer | EventKind::BotPaused => return None,
        // Not in the contract: workflows see the status change itself.
        EventKind::ConversationReopened => return None,
        // Not in the contract yet.
        EventKind::TicketStatusChanged => return None,
        // Routing's own: workflows see the assignments it leads to.
        EventKind::QueueRetry => return None,
    })
}

/// Whether `plugin` should hear `event`: enabled, subscribed, and for a
/// fired timer, the workflow that started it.
fn hears(plugin: &PluginUse, event: &EventRecord) -> bool {
    listens(plugin, event.kind)
        && match event.timer() {
            Some((owner, _)) => owner == plugin.name,
            None => event.kind != EventKind::TimerFired,
        }
}

/// Whether `plugin` is enabled and subscribed to events of `kind`.
pub(super) fn listens(plugin: &PluginUse, kind: EventKind) -> bool {
    plugin.enabled && plugin.subscribes.iter().any(|k| k == kind.as_str())
}

impl Router {
    /// Run the workflows that hear `event`; returns the changes.
    pub(super) async fn workflows(
        &self,
        hot: &mut Option<TenantState>,
        event: &EventRecord,
        conversation: Option<&ConversationRecord>,
        message: Option<&MessageRecord>,
    ) -> Result<Vec<Change>, spec::BindError> {
        let Some(kind) = wit_event_kind(event.kind) else {
            return Ok(Vec::new());
        };
        let binding = self
            .hot_once(&event.tenant_id, hot)
            .await?
            .binding(Slot::Workflows)
            .await?;
        let hearing: Vec<&PluginUse> = binding.plugins.iter().filter(|p| hears(p, event)).collect();
        if hearing.is_empty() {
            return Ok(Vec::new());
        }
        let conversation_id = conversation.map(|c| c.id.clone());
        let run =
            |plugin: &PluginUse, actions: Vec<String>, error: Option<String>| Change::WorkflowRun {
                conversation: conversation_id.clone(),
                event_kind: event.kind,
                plugin_name: plugin.name.clone(),
                plugin_version: plugin.version.clone(),
                actions,
                error,
            };
        if event.depth >= MAX_EVENT_DEPTH {
            let why = format!(
                "workflow loop stopped: this {} event is {} events deep in a chain of events caused by workflow actions (the limit is {MAX_EVENT_DEPTH})",
                event.kind, event.depth
            );
            let mut changes = Vec::new();
            for plugin in hearing {
                let error = CallError::Invalid(why.clone());
                changes.push(self.failure_change(
                    &event.tenant_id,
                    conversation_id.as_ref(),
                    plugin,
                    &error,
                    "stopped",
                ));
                changes.push(run(plugin, Vec::new(), Some(why.clone())));
            }
            return Ok(changes);
        }
        let messages = match conversation {
            Some(c) => self.recent_messages(&c.id).await?,
            None => Vec::new(),
        };
        let facts = conversation.map(|c| rules::facts(c, &messages, 0));
        let wit_event = types::Event {
            kind,
            conversation: conversation.map(|c| snapshot::conversation(c, &messages)),
            message: message.map(snapshot::message),
            agent: event.agent.as_ref().map(ToString::to_string),
            ticket: match conversation {
                Some(c) => self.ticket_snapshot(&event.tenant_id, &c.id).await?,
                None => None,
            },
            timer: event.timer().map(|(_, name)| name.to_owned()),
            at_ms: event.created_at.0,
        };
        let mut changes = Vec::new();
        for plugin in hearing {
            // Conditions test the event's conversation; an event without one
            // passes only a workflow without conditions.
            if let Some(conditions) = &plugin.conditions {
                let holds = facts.as_ref().is_some_and(|f| conditions.holds(f));
                if !holds {
                    continue;
                }
            }
            let result = match self
                .on_event(
                    &event.tenant_id,
                    plugin,
                    event.created_at,
                    wit_event.clone(),
                )
                .await
            {
                Ok(answer) => self
                    .check_actions(event, conversation, plugin, answer.value)
                    .await
                    .map(|checked| (checked, answer.kv_writes)),
                Err(error) => Err(error),
            };
            match result {
                Ok((checked, kv)) => {
                    if !kv.is_empty() {
                        changes.push(Change::Kv {
                            plugin: plugin.name.clone(),
                            writes: kv,
                        });
                    }
                    changes.extend(checked.changes);
                    changes.push(run(plugin, checked.summary, None));
                }
                // Nothing to fall back to: the event still completes and
                // the other workflows still run.
                Err(error) => {
                    changes.push(self.failure_change(
                        &event.tenant_id,
                        conversation_id.as_ref(),
                        plugin,
                        &error,
                        "skipped",
                    ));
                    changes.push(run(plugin, Vec::new(), Some(error.to_string())));
                }
            }
        }
        Ok(changes)
    }
}
