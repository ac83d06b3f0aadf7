//! Workflow template "auto-close after inactivity" (Channel Talk's
//! automation): every new conversation and every public message restarts a
//! timer; when it fires on an open conversation, the conversation is closed,
//! optionally with a last message to the customer.
//!
//! Config: `{"after_minutes": 60, "message": "We close this chat for now.", "tag": "auto-closed"}`.

use baton_sdk::{
    Action, ConversationStatus, Event, EventKind, Manifest, PluginError, PluginKind, TimerRequest,
    Workflow, host,
};
use serde::Deserialize;
use serde_json::json;

/// The timer's name: one per conversation, restarted by activity.
const TIMER: &str = "inactivity";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    after_minutes: u64,
    message: Option<String>,
    tag: Option<String>,
}

struct InactivityClose;

impl Workflow for InactivityClose {
    fn describe() -> Manifest {
        baton_sdk::manifest!("inactivity-close", PluginKind::Workflow)
            .description(
                "Auto-close after inactivity: an open conversation without a message from \
                 either side for the set number of minutes is closed.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "inactivity-close",
                "type": "object",
                "properties": {
                    "after_minutes": {"type": "integer", "minimum": 1, "maximum": 525600},
                    "message": {"type": "string", "minLength": 1, "maxLength": 2000},
                    "tag": {"type": "string", "minLength": 1, "maxLength": 64},
                },
                "required": ["after_minutes"],
                "additionalProperties": false,
            }))
            .subscribes([
                EventKind::ConversationCreated,
                EventKind::MessageReceived,
                EventKind::TimerFired,
            ])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        Ok(decide(&config, &event))
    }
}

baton_sdk::export_workflow!(InactivityClose);

fn decide(config: &Config, event: &Event) -> Vec<Action> {
    let open = event
        .conversation
        .as_ref()
        .is_some_and(|c| c.status == ConversationStatus::Open);
    match event.kind {
        EventKind::ConversationCreated | EventKind::MessageReceived => {
            let public = event.message.as_ref().is_none_or(|m| !m.internal);
            if !public {
                return Vec::new();
            }
            vec![Action::StartTimer(TimerRequest {
                name: TIMER.into(),
                after_ms: config.after_minutes.saturating_mul(60_000),
            })]
        }
        EventKind::TimerFired if event.is_timer(TIMER) && open => {
            let mut actions = Vec::new();
            if let Some(message) = &config.message {
                actions.push(Action::SendMessage(message.clone()));
            }
            if let Some(tag) = &config.tag {
                actions.push(Action::AddTag(tag.clone()));
            }
            actions.push(Action::SetStatus(ConversationStatus::Closed));
            actions
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::testing::{conversation, event};

    fn on(kind: EventKind, status: ConversationStatus, timer: Option<&str>) -> Event {
        let mut e = event(kind).conversation(conversation("cnv_1").status(status));
        if let Some(name) = timer {
            e = e.timer(name);
        }
        e.build()
    }

    #[test]
    fn activity_restarts_the_timer_and_its_end_closes_open_conversations() {
        let config: Config =
            serde_json::from_value(json!({"after_minutes": 30, "message": "Bye"})).expect("config");
        assert_eq!(
            decide(
                &config,
                &on(EventKind::MessageReceived, ConversationStatus::Open, None)
            ),
            vec![Action::StartTimer(TimerRequest {
                name: "inactivity".into(),
                after_ms: 1_800_000
            })]
        );
        assert_eq!(
            decide(
                &config,
                &on(EventKind::TimerFired, ConversationStatus::Open, Some(TIMER))
            ),
            vec![
                Action::SendMessage("Bye".into()),
                Action::SetStatus(ConversationStatus::Closed)
            ]
        );
        // Already closed by hand, or someone else's timer: nothing to do.
        for (status, timer) in [
            (ConversationStatus::Closed, TIMER),
            (ConversationStatus::Open, "other"),
        ] {
            assert!(decide(&config, &on(EventKind::TimerFired, status, Some(timer))).is_empty());
        }
    }
}
