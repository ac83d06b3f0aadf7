//! Workflows: each bound workflow subscribed to the event returns actions;
//! the host checks them all and applies them together or not at all.

use super::spec::{self, PluginUse};
use super::{Router, Scope, bounded, failure_change, snapshot};
use crate::domain::{ConversationId, EventKind, NotificationKind, Slot, TenantId};
use crate::plugin::CallError;
use crate::plugin::bindings::types;
use crate::store::{Change, ConversationRecord, EventRecord, HistoryEntry, MessageRecord, Notice};

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
        // Handoff signals reach workflows as the handoff they cause.
        EventKind::BotCannotAnswer | EventKind::BotPaused => return None,
        // Not in the contract: workflows see the status change itself.
        EventKind::ConversationReopened => return None,
    })
}

impl Router {
    /// Run the workflows subscribed to `event`; returns the changes.
    pub(super) async fn workflows(
        &self,
        event: &EventRecord,
        conversation: Option<&ConversationRecord>,
        message: Option<&MessageRecord>,
    ) -> Result<Vec<Change>, spec::BindError> {
        let Some(kind) = wit_event_kind(event.kind) else {
            return Ok(Vec::new());
        };
        let binding = spec::current(&self.store, &event.tenant_id, Slot::Workflows).await?;
        let subscribed: Vec<&PluginUse> = binding
            .plugins
            .iter()
            .filter(|p| p.subscribes.iter().any(|k| k == event.kind.as_str()))
            .collect();
        if subscribed.is_empty() {
            return Ok(Vec::new());
        }
        let snapshot = match conversation {
            Some(c) => {
                let messages = self
                    .store
                    .messages(
                        &c.id,
                        self.plugins.runtime().limits().max_recent_messages as u32,
                    )
                    .await?;
                Some(snapshot::conversation(c, &messages))
            }
            None => None,
        };
        let wit_event = types::Event {
            kind,
            conversation: snapshot,
            message: message.map(snapshot::message),
            agent: event.agent.as_ref().map(ToString::to_string),
            at_ms: event.created_at.0,
        };
        let mut changes = Vec::new();
        for plugin in subscribed {
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
                    .check_actions(&event.tenant_id, conversation, plugin, answer.value)
                    .await
                    .map(|actions| (actions, answer.kv_writes)),
                Err(error) => Err(error),
            };
            match result {
                Ok((actions, kv)) => {
                    if !kv.is_empty() {
                        changes.push(Change::Kv {
                            plugin: plugin.name.clone(),
                            writes: kv,
                        });
                    }
                    changes.extend(actions);
                }
                // Nothing to fall back to: the event still completes and
                // the other workflows still run.
                Err(error) => changes.push(failure_change(
                    conversation.map(|c| &c.id),
                    plugin,
                    &error,
                    "skipped",
                )),
            }
        }
        Ok(changes)
    }

    /// Turn actions into changes, rejecting the whole list if one is invalid.
    async fn check_actions(
        &self,
        tenant: &TenantId,
        conversation: Option<&ConversationRecord>,
        plugin: &PluginUse,
        actions: Vec<types::Action>,
    ) -> Result<Vec<Change>, CallError> {
        let limit = self.plugins.runtime().limits().max_actions;
        if actions.len() > limit {
            return Err(CallError::Invalid(format!(
                "returned {} actions; the limit is {limit}",
                actions.len()
            )));
        }
        let max = self.max_text();
        let needs = |what: &str| -> Result<ConversationId, CallError> {
            conversation.map(|c| c.id.clone()).ok_or_else(|| {
                CallError::Invalid(format!(
                    "{what} needs a conversation, and this event has none"
                ))
            })
        };
        let history = |reason: String| HistoryEntry {
            decided_by: "workflow".into(),
            rule: None,
            plugin_name: Some(plugin.name.clone()),
            plugin_version: Some(plugin.version.clone()),
            reason,
        };
        let mut changes = Vec::new();
        for action in actions {
            let change = match action {
                types::Action::Assign(target) => {
                    let conversation = needs("assign")?;
                    match self.target_scope(tenant, target, "assign to").await? {
                        Scope::Agent(agent) => Change::Assign {
                            conversation,
                            agent,
                            team: None,
                            history: history("assigned by workflow".into()),
                        },
                        Scope::Team(team) => Change::Queue {
                            conversation,
                            team: Some(team),
                            history: history("moved to team by workflow".into()),
                        },
                        Scope::Any | Scope::Members { .. } => Change::Queue {
                            conversation,
                            team: None,
                            history: history("returned to the queue by workflow".into()),
                        },
                    }
                }
                types::Action::SetStatus(status) => Change::SetStatus {
                    conversation: needs("set-status")?,
                    status: snapshot::status_from(status),
                },
                types::Action::AddTag(tag) => {
                    let tag = tag.trim().to_owned();
                    if tag.is_empty() || tag.chars().count() > 64 {
                        return Err(CallError::Invalid(
                            "tags must have 1 to 64 characters".into(),
                        ));
                    }
                    Change::AddTag {
                        conversation: needs("add-tag")?,
                        tag,
                    }
                }
                types::Action::AddInternalNote(body) => {
                    if body.trim().is_empty() {
                        return Err(CallError::Invalid(
                            "an internal note must not be empty".into(),
                        ));
                    }
                    Change::AddNote {
                        conversation: needs("add-internal-note")?,
                        body: bounded(body, max),
                    }
                }
                types::Action::Notify(notification) => {
                    let recipient = match notification.recipient {
                        types::Recipient::Agent(id) => serde_json::json!({"agent": id}),
                        types::Recipient::Team(id) => serde_json::json!({"team": id}),
                        types::Recipient::Assignee => serde_json::json!("assignee"),
                        types::Recipient::Contact => serde_json::json!("contact"),
                    };
                    Change::Notify(Notice {
                        kind: NotificationKind::Workflow,
                        conversation: conversation.map(|c| c.id.clone()),
                        recipient,
                        message: bounded(notification.message, max),
                        about: None,
                        once: None,
                    })
                }
                types::Action::CreateTicket(ticket) => Change::CreateTicket {
                    conversation: needs("create-ticket")?,
                    subject: bounded(ticket.subject, 500),
                    pipeline: ticket.pipeline,
                },
            };
            changes.push(change);
        }
        Ok(changes)
    }
}
