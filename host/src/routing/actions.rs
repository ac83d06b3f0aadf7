//! Checking a workflow's actions and turning them into changes. One invalid
//! action rejects the workflow's whole list: its actions land together or
//! not at all.

use super::{Router, Scope, bounded, snapshot};
use crate::domain::{
    AgentId, Change, ConversationId, ConversationRecord, EventKind, HistoryEntry, Millis, Notice,
    NotificationKind, PluginUse,
};
use crate::plugin::CallError;
use crate::plugin::bindings::types;
use crate::store::EventRecord;

/// Longest timer a workflow may start: a year.
const MAX_TIMER_MS: u64 = 366 * 24 * 3_600_000;
/// Longest timer name and tag, in characters.
const MAX_NAME: usize = 64;

/// A workflow's actions as changes, with one line per action for the record.
pub(super) struct Checked {
    pub changes: Vec<Change>,
    pub summary: Vec<String>,
}

fn name(what: &str, text: &str) -> Result<String, CallError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NAME || text.chars().any(char::is_control) {
        return Err(CallError::Invalid(format!(
            "{what} must have 1 to {MAX_NAME} printable characters"
        )));
    }
    Ok(text.to_owned())
}

fn text(what: &str, body: String, max: usize) -> Result<String, CallError> {
    if body.trim().is_empty() {
        return Err(CallError::Invalid(format!("{what} must not be empty")));
    }
    Ok(bounded(body, max))
}

impl Router {
    /// Turn actions into changes, rejecting the whole list if one is invalid.
    pub(super) async fn check_actions(
        &self,
        event: &EventRecord,
        conversation: Option<&ConversationRecord>,
        plugin: &PluginUse,
        actions: Vec<types::Action>,
    ) -> Result<Checked, CallError> {
        let tenant = &event.tenant_id;
        let limit = self.plugins.runtime().limits().max_actions;
        if actions.len() > limit {
            return Err(CallError::Invalid(format!(
                "returned {} actions; the limit is {limit}",
                actions.len()
            )));
        }
        let max = self.max_text();
        let needs = |what: &str| -> Result<&ConversationRecord, CallError> {
            conversation.ok_or_else(|| {
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
        let event_of =
            |kind: EventKind, id: &ConversationId, agent: Option<&AgentId>| Change::Event {
                kind,
                conversation: Some(id.clone()),
                agent: agent.cloned(),
            };
        let mut out = Checked {
            changes: Vec::new(),
            summary: Vec::new(),
        };
        for action in actions {
            let (changes, line) = match action {
                types::Action::Assign(target) => {
                    let c = needs("assign")?;
                    match self.target_scope(tenant, target, "assign to").await? {
                        Scope::Agent(agent) => {
                            let line = format!("assigned to {agent}");
                            (
                                vec![
                                    Change::Assign {
                                        conversation: c.id.clone(),
                                        agent: agent.clone(),
                                        team: None,
                                        history: history(line.clone()),
                                    },
                                    event_of(EventKind::ConversationAssigned, &c.id, Some(&agent)),
                                ],
                                line,
                            )
                        }
                        Scope::Team(team) => {
                            let line = format!("moved to team {team}");
                            (
                                vec![
                                    Change::Queue {
                                        conversation: c.id.clone(),
                                        team: Some(team),
                                        history: history(line.clone()),
                                    },
                                    // Lets the team's free members take it now.
                                    event_of(EventKind::ConversationTransferred, &c.id, None),
                                ],
                                line,
                            )
                        }
                        Scope::Any | Scope::Members { .. } => {
                            let line = "returned to routing".to_owned();
                            (
                                vec![
                                    Change::Queue {
                                        conversation: c.id.clone(),
                                        team: None,
                                        history: history(line.clone()),
                                    },
                                    event_of(EventKind::ConversationTransferred, &c.id, None),
                                ],
                                line,
                            )
                        }
                    }
                }
                types::Action::Reassign(reason) => {
                    let c = needs("reassign")?;
                    let reason = bounded(reason, max);
                    let mut changes = Vec::new();
                    // The current assignee is not offered it again.
                    if let Some(crate::domain::Assignee::Agent(agent)) = &c.assignee {
                        changes.push(Change::Exclude {
                            conversation: c.id.clone(),
                            agent: agent.clone(),
                        });
                    }
                    changes.push(Change::Queue {
                        conversation: c.id.clone(),
                        team: None,
                        history: history(format!("reassigned: {reason}")),
                    });
                    changes.push(event_of(EventKind::ConversationTransferred, &c.id, None));
                    (changes, format!("reassigned: {reason}"))
                }
                types::Action::AddFollower(agent) => {
                    let c = needs("add-follower")?;
                    let agent = AgentId::parse(&agent).map_err(|_| {
                        CallError::Invalid(format!("add-follower: {agent:?} is not an agent id"))
                    })?;
                    let known = self
                        .store
                        .agent_exists(tenant, &agent)
                        .await
                        .map_err(|e| CallError::Unavailable(e.to_string()))?;
                    if !known {
                        return Err(CallError::Invalid(format!(
                            "add-follower: unknown agent {agent}"
                        )));
                    }
                    let line = format!("follower {agent} added");
                    (
                        vec![Change::Follow {
                            conversation: c.id.clone(),
                            agent,
                        }],
                        line,
                    )
                }
                types::Action::SetStatus(status) => {
                    let c = needs("set-status")?;
                    let status = snapshot::status_from(status);
                    (
                        vec![
                            Change::SetStatus {
                                conversation: c.id.clone(),
                                status,
                            },
                            event_of(EventKind::ConversationStatusChanged, &c.id, None),
                        ],
                        format!("status set to {status}"),
                    )
                }
                types::Action::SetStage(stage) => {
                    let c = needs("set-stage")?;
                    let change = self.stage_change(tenant, &c.id, &stage).await?;
                    (vec![change], format!("ticket moved to status {stage}"))
                }
                types::Action::AddTag(tag) => {
                    let c = needs("add-tag")?;
                    let tag = name("a tag", &tag)?;
                    let line = format!("tag {tag:?} added");
                    (
                        vec![Change::AddTag {
                            conversation: c.id.clone(),
                            tag,
                        }],
                        line,
                    )
                }
                types::Action::RemoveTag(tag) => {
                    let c = needs("remove-tag")?;
                    let tag = name("a tag", &tag)?;
                    let line = format!("tag {tag:?} removed");
                    (
                        vec![Change::RemoveTag {
                            conversation: c.id.clone(),
                            tag,
                        }],
                        line,
                    )
                }
                types::Action::AddInternalNote(body) => {
                    let c = needs("add-internal-note")?;
                    (
                        vec![Change::AddNote {
                            conversation: c.id.clone(),
                            body: text("an internal note", body, max)?,
                        }],
                        "internal note added".to_owned(),
                    )
                }
                types::Action::SendMessage(body) => {
                    let c = needs("send-message")?;
                    (
                        vec![Change::Say {
                            conversation: c.id.clone(),
                            body: text("a message", body, max)?,
                        }],
                        "message sent to the customer".to_owned(),
                    )
                }
                types::Action::Notify(notification) => {
                    let recipient = match notification.recipient {
                        types::Recipient::Agent(id) => serde_json::json!({"agent": id}),
                        types::Recipient::Team(id) => serde_json::json!({"team": id}),
                        types::Recipient::Assignee => serde_json::json!("assignee"),
                        types::Recipient::Contact => serde_json::json!("contact"),
                    };
                    let line = format!("notified {recipient}");
                    (
                        vec![Change::Notify(Notice {
                            kind: NotificationKind::Workflow,
                            conversation: conversation.map(|c| c.id.clone()),
                            subject_line: conversation.map(ConversationRecord::subject_line),
                            recipient,
                            message: text("a notification", notification.message, max)?,
                            about: None,
                            once: None,
                        })],
                        line,
                    )
                }
                types::Action::CreateTicket(ticket) => {
                    let c = needs("create-ticket")?;
                    let subject = text("a ticket's subject", ticket.subject, 500)?;
                    let line = format!("ticket {subject:?} created");
                    (
                        vec![Change::CreateTicket {
                            conversation: c.id.clone(),
                            subject,
                            pipeline: ticket.pipeline,
                        }],
                        line,
                    )
                }
                types::Action::StartTimer(timer) => {
                    let c = needs("start-timer")?;
                    let timer_name = name("a timer's name", &timer.name)?;
                    if timer.after_ms > MAX_TIMER_MS {
                        return Err(CallError::Invalid(
                            "start-timer: a timer runs a year at most".into(),
                        ));
                    }
                    let after = i64::try_from(timer.after_ms).unwrap_or(i64::MAX);
                    let due = Millis(event.created_at.0.saturating_add(after));
                    let line = format!("timer {timer_name:?} started, due {}", due.to_rfc3339());
                    (
                        vec![Change::StartTimer {
                            conversation: c.id.clone(),
                            plugin: plugin.name.clone(),
                            name: timer_name,
                            due,
                        }],
                        line,
                    )
                }
                types::Action::CancelTimer(timer_name) => {
                    let c = needs("cancel-timer")?;
                    let timer_name = name("a timer's name", &timer_name)?;
                    let line = format!("timer {timer_name:?} cancelled");
                    (
                        vec![Change::CancelTimer {
                            conversation: c.id.clone(),
                            plugin: plugin.name.clone(),
                            name: timer_name,
                        }],
                        line,
                    )
                }
            };
            out.changes.extend(changes);
            out.summary.push(line);
        }
        Ok(out)
    }
}
