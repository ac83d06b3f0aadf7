//! Workflow template "reassign if the assignee has not replied within N
//! minutes". An assignment starts a timer; the assignee's first public
//! reply cancels it; if it fires while the conversation is still open and
//! assigned, the conversation is taken from that agent and routed to
//! someone else, with an internal note saying why.
//!
//! Config: `{"minutes": 15}`.

use baton_sdk::{
    Action, Author, ConversationStatus, Event, EventKind, Manifest, PluginError, PluginKind,
    TimerRequest, Workflow, host,
};
use serde::Deserialize;
use serde_json::json;

/// The timer's name.
const TIMER: &str = "reply-deadline";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    minutes: u64,
}

struct ReplyDeadline;

impl Workflow for ReplyDeadline {
    fn describe() -> Manifest {
        baton_sdk::manifest!("reply-deadline", PluginKind::Workflow)
            .description(
                "Reassign if the assignee has not replied within N minutes of being assigned.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "reply-deadline",
                "type": "object",
                "properties": {
                    "minutes": {"type": "integer", "minimum": 1, "maximum": 10080},
                },
                "required": ["minutes"],
                "additionalProperties": false,
            }))
            .subscribes([
                EventKind::ConversationAssigned,
                EventKind::MessageReceived,
                EventKind::TimerFired,
            ])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        Ok(decide(&config, &event))
    }
}

baton_sdk::export_workflow!(ReplyDeadline);

fn decide(config: &Config, event: &Event) -> Vec<Action> {
    let Some(conversation) = &event.conversation else {
        return Vec::new();
    };
    let assignee = conversation.agent();
    match event.kind {
        EventKind::ConversationAssigned => vec![Action::StartTimer(TimerRequest {
            name: TIMER.into(),
            after_ms: config.minutes.saturating_mul(60_000),
        })],
        EventKind::MessageReceived
            if event
                .message
                .as_ref()
                .is_some_and(|m| m.author == Author::Agent && !m.internal) =>
        {
            vec![Action::CancelTimer(TIMER.into())]
        }
        EventKind::TimerFired
            if event.is_timer(TIMER) && conversation.status == ConversationStatus::Open =>
        {
            let Some(agent) = assignee else {
                return Vec::new();
            };
            let why = format!("{agent} did not reply within {} minutes", config.minutes);
            vec![
                Action::AddInternalNote(format!("Reassigned: {why}.")),
                Action::Reassign(why),
            ]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::testing::{conversation, event, message};

    fn on(kind: EventKind, said: Option<Author>, timer: Option<&str>) -> Event {
        let mut e = event(kind).conversation(conversation("cnv_1").assigned_to("agt_slow"));
        if let Some(author) = said {
            e = e.message(message(author, "hi"));
        }
        if let Some(name) = timer {
            e = e.timer(name);
        }
        e.build()
    }

    #[test]
    fn assignment_starts_the_clock_a_reply_stops_it_and_silence_reassigns() {
        let config = Config { minutes: 15 };
        assert_eq!(
            decide(&config, &on(EventKind::ConversationAssigned, None, None)),
            vec![Action::StartTimer(TimerRequest {
                name: TIMER.into(),
                after_ms: 900_000
            })]
        );
        assert_eq!(
            decide(
                &config,
                &on(EventKind::MessageReceived, Some(Author::Agent), None)
            ),
            vec![Action::CancelTimer(TIMER.into())]
        );
        assert!(
            decide(
                &config,
                &on(EventKind::MessageReceived, Some(Author::Customer), None)
            )
            .is_empty()
        );
        let fired = decide(&config, &on(EventKind::TimerFired, None, Some(TIMER)));
        assert_eq!(
            fired.last(),
            Some(&Action::Reassign(
                "agt_slow did not reply within 15 minutes".into()
            ))
        );
    }
}
