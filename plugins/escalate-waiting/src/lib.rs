//! Workflow template "escalate to a supervisor when waiting longer than N
//! minutes". A conversation that starts waiting for an agent (queued)
//! starts a timer; an assignment cancels it; if it fires while the
//! conversation is still open and without an agent, the supervisor is
//! notified, the conversation is tagged, and optionally given to them.
//!
//! Config: `{"minutes": 10, "supervisor": "agt_…", "assign": false, "tag": "escalated"}`.

use baton_sdk::{
    Action, Assignee, ConversationStatus, Event, EventKind, HandoffTarget, Manifest, Notification,
    PluginError, PluginKind, Recipient, TimerRequest, Workflow, host,
};
use serde::Deserialize;
use serde_json::json;

/// The timer's name.
const TIMER: &str = "escalate";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    minutes: u64,
    supervisor: String,
    /// Also make the supervisor the assignee.
    #[serde(default)]
    assign: bool,
    #[serde(default = "escalated")]
    tag: String,
}

fn escalated() -> String {
    "escalated".to_owned()
}

struct EscalateWaiting;

impl Workflow for EscalateWaiting {
    fn describe() -> Manifest {
        Manifest::new("escalate-waiting", "0.1.0", PluginKind::Workflow)
            .description(
                "Escalate to a supervisor when a conversation waits for an agent longer than \
                 N minutes: notify them, tag it, and optionally assign it to them.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "escalate-waiting",
                "type": "object",
                "properties": {
                    "minutes": {"type": "integer", "minimum": 1, "maximum": 10080},
                    "supervisor": {"type": "string", "pattern": "^agt_[0-9a-f]{32}$"},
                    "assign": {"type": "boolean", "default": false},
                    "tag": {"type": "string", "minLength": 1, "maxLength": 64, "default": "escalated"},
                },
                "required": ["minutes", "supervisor"],
                "additionalProperties": false,
            }))
            .subscribes([
                EventKind::ConversationQueued,
                EventKind::ConversationAssigned,
                EventKind::TimerFired,
            ])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        Ok(decide(&config, &event))
    }
}

baton_sdk::export_workflow!(EscalateWaiting);

fn decide(config: &Config, event: &Event) -> Vec<Action> {
    let Some(conversation) = &event.conversation else {
        return Vec::new();
    };
    let waiting = conversation.status == ConversationStatus::Open
        && !matches!(conversation.assignee, Some(Assignee::Agent(_)));
    match event.kind {
        EventKind::ConversationQueued => vec![Action::StartTimer(TimerRequest {
            name: TIMER.into(),
            after_ms: config.minutes.saturating_mul(60_000),
        })],
        EventKind::ConversationAssigned => vec![Action::CancelTimer(TIMER.into())],
        EventKind::TimerFired if event.timer.as_deref() == Some(TIMER) && waiting => {
            let mut actions = vec![
                Action::Notify(Notification {
                    recipient: Recipient::Agent(config.supervisor.clone()),
                    message: format!(
                        "Conversation {} has waited over {} minutes for an agent",
                        conversation.id, config.minutes
                    ),
                }),
                Action::AddTag(config.tag.clone()),
            ];
            if config.assign {
                actions.push(Action::Assign(HandoffTarget::Agent(
                    config.supervisor.clone(),
                )));
            }
            actions
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::{Channel, Contact, Conversation};

    fn event(kind: EventKind, assignee: Option<Assignee>, timer: Option<&str>) -> Event {
        Event {
            kind,
            conversation: Some(Conversation {
                id: "cnv_1".into(),
                channel: Channel::Chat,
                subject: None,
                status: ConversationStatus::Open,
                contact: Contact {
                    name: None,
                    email: None,
                },
                attributes_json: "{}".into(),
                assignee,
                team: None,
                created_at_ms: 0,
                recent_messages: Vec::new(),
            }),
            message: None,
            agent: None,
            ticket: None,
            timer: timer.map(Into::into),
            at_ms: 0,
        }
    }

    #[test]
    fn waiting_past_the_limit_escalates_and_an_assignment_stops_it() {
        let config: Config = serde_json::from_value(
            json!({"minutes": 10, "supervisor": "agt_boss", "assign": true}),
        )
        .expect("config");
        assert_eq!(
            decide(&config, &event(EventKind::ConversationQueued, None, None)),
            vec![Action::StartTimer(TimerRequest {
                name: TIMER.into(),
                after_ms: 600_000
            })]
        );
        let fired = decide(&config, &event(EventKind::TimerFired, None, Some(TIMER)));
        assert_eq!(fired.len(), 3, "{fired:?}");
        assert_eq!(fired[1], Action::AddTag("escalated".into()));
        assert_eq!(
            fired[2],
            Action::Assign(HandoffTarget::Agent("agt_boss".into()))
        );
        let taken = Some(Assignee::Agent("agt_ana".into()));
        assert!(decide(&config, &event(EventKind::TimerFired, taken, Some(TIMER))).is_empty());
        assert_eq!(
            decide(&config, &event(EventKind::ConversationAssigned, None, None)),
            vec![Action::CancelTimer(TIMER.into())]
        );
    }
}
