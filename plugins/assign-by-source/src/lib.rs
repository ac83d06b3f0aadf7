//! Workflow template "assign tickets from a source to a person" (LiveAgent's
//! rule example: every ticket from social media goes to one agent). When a
//! ticket is created, the first route whose source matches assigns it.
//!
//! A source is the ticket's channel (`chat`, `email`, `call`, `form`, or
//! `manual`), an attribute of its conversation (`{"attribute": "source",
//! "equals": "twitter"}` for a social-media connector), or both:
//! `{"routes": [{"channel": "form", "attribute": "source", "equals": "twitter", "agent": "agt_…"}]}`.

use baton_sdk::{
    Action, Event, EventKind, HandoffTarget, Manifest, PluginError, PluginKind, Workflow, host,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    routes: Vec<Route>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Route {
    /// The ticket's source: a channel name or "manual".
    channel: Option<String>,
    /// An attribute of the conversation, compared case-insensitively.
    attribute: Option<String>,
    equals: Option<String>,
    agent: String,
}

impl Route {
    fn matches(&self, source: &str, attributes: &serde_json::Map<String, Value>) -> bool {
        let channel_ok = self
            .channel
            .as_deref()
            .is_none_or(|c| c.eq_ignore_ascii_case(source));
        let attribute_ok = match (&self.attribute, &self.equals) {
            (Some(key), Some(wanted)) => attributes.get(key).is_some_and(|v| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                text.eq_ignore_ascii_case(wanted)
            }),
            _ => true,
        };
        channel_ok && attribute_ok
    }
}

struct AssignBySource;

impl Workflow for AssignBySource {
    fn describe() -> Manifest {
        baton_sdk::manifest!("assign-by-source", PluginKind::Workflow)
            .description(
                "Assign tickets from a source to a person: a new ticket from a channel (or with \
                 a conversation attribute such as source = twitter) goes to a named agent.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "assign-by-source",
                "type": "object",
                "properties": {
                    "routes": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "properties": {
                                "channel": {"enum": ["chat", "email", "call", "form", "manual"]},
                                "attribute": {"type": "string", "minLength": 1},
                                "equals": {"type": "string"},
                                "agent": {"type": "string", "pattern": "^agt_[0-9a-f]{32}$"},
                            },
                            "required": ["agent"],
                            "dependentRequired": {"attribute": ["equals"], "equals": ["attribute"]},
                            "anyOf": [{"required": ["channel"]}, {"required": ["attribute"]}],
                            "additionalProperties": false,
                        },
                    },
                },
                "required": ["routes"],
                "additionalProperties": false,
            }))
            .subscribes([EventKind::TicketCreated])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        Ok(decide(&config, &event))
    }
}

baton_sdk::export_workflow!(AssignBySource);

fn decide(config: &Config, event: &Event) -> Vec<Action> {
    let (Some(ticket), Some(conversation)) = (&event.ticket, &event.conversation) else {
        return Vec::new();
    };
    let attributes = conversation.attributes();
    config
        .routes
        .iter()
        .find(|route| route.matches(&ticket.source, &attributes))
        .map(|route| vec![Action::Assign(HandoffTarget::Agent(route.agent.clone()))])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::testing::{conversation, event};
    use baton_sdk::{Channel, Ticket};

    fn created(source: &str, attribute: Option<&str>) -> Event {
        let mut c = conversation("cnv_1").channel(Channel::Form);
        if let Some(value) = attribute {
            c = c.attribute("source", json!(value));
        }
        event(EventKind::TicketCreated)
            .conversation(c)
            .ticket(Ticket {
                id: "tkt_1".into(),
                name: "Help".into(),
                pipeline: "pipe_1".into(),
                stage: "stage_1".into(),
                source: source.into(),
            })
            .build()
    }

    fn config() -> Config {
        serde_json::from_value(json!({"routes": [
            {"attribute": "source", "equals": "Twitter", "agent": "agt_social"},
            {"channel": "email", "agent": "agt_mail"},
        ]}))
        .expect("config")
    }

    #[test]
    fn the_first_matching_source_decides() {
        let assign = |id: &str| vec![Action::Assign(HandoffTarget::Agent(id.into()))];
        assert_eq!(
            decide(&config(), &created("form", Some("twitter"))),
            assign("agt_social")
        );
        assert_eq!(
            decide(&config(), &created("email", None)),
            assign("agt_mail")
        );
        assert!(decide(&config(), &created("form", Some("web"))).is_empty());
    }
}
