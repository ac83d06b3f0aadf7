//! Workflow template "escalate to a supervisor when waiting longer than N
//! minutes". A conversation that starts waiting for an agent (queued)
//! starts a timer; an assignment cancels it; if it fires while the
//! conversation is still open and without an agent, the supervisor is
//! notified, the conversation is tagged, and optionally given to them.
//!
//! Config: `{"minutes": 10, "supervisor": "agt_…", "assign": false, "tag": "escalated"}`.

use baton_sdk::{
    Action, ConversationStatus, Event, EventKind, HandoffTarget, Manifest, Notification,
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
        baton_sdk::manifest!("escalate-waiting", PluginKind::Workflow)
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
    let waiting = conversation.status == ConversationStatus::Open && conversation.agent().is_none();
    match event.kind {
        EventKind::ConversationQueued => vec![Action::StartTimer(TimerRequest {
            name: TIMER.into(),
            after_ms: config.minutes.saturating_mul(60_000),
        })],
        EventKind::ConversationAssigned => vec![Action::CancelTimer(TIMER.into())],
        EventKind::TimerFired if event.is_timer(TIMER) && waiting => {
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
    use baton_sdk::testing::{conversation, event};

    fn on(kind: EventKind, assignee: Option<&str>, timer: Option<&str>) -> Event {
        let mut c = conversation("cnv_1");
        if let Some(agent) = assignee {
            c = c.assigned_to(agent);
        }
        let mut e = event(kind).conversation(c);
        if let Some(name) = timer {
            e = e.timer(name);
        }
        e.build()
    }

    #[test]
    fn waiting_past_the_limit_escalates_and_an_assignment_stops_it() {
        let config: Config = serde_json::from_value(
            json!({"minutes": 10, "supervisor": "agt_boss", "assign": true}),
        )
        .expect("config");
        assert_eq!(
            decide(&config, &on(EventKind::ConversationQueued, None, None)),
            vec![Action::StartTimer(TimerRequest {
                name: TIMER.into(),
                after_ms: 600_000
            })]
        );
        let fired = decide(&config, &on(EventKind::TimerFired, None, Some(TIMER)));
        assert_eq!(fired.len(), 3, "{fired:?}");
        assert_eq!(fired[1], Action::AddTag("escalated".into()));
        assert_eq!(
            fired[2],
            Action::Assign(HandoffTarget::Agent("agt_boss".into()))
        );
        assert!(
            decide(
                &config,
                &on(EventKind::TimerFired, Some("agt_ana"), Some(TIMER))
            )
            .is_empty()
        );
        assert_eq!(
            decide(&config, &on(EventKind::ConversationAssigned, None, None)),
            vec![Action::CancelTimer(TIMER.into())]
        );
    }
}
