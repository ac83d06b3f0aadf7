//! Workflow template "assign by content" (Channel Talk's automation: "make
//! Aya the assignee of questions about returns"). When a new conversation
//! or a customer message mentions one of a rule's phrases, the rule's agent
//! becomes the assignee (or a follower), and the rule's tag is added.
//!
//! Config:
//! `{"rules": [{"phrases": ["return", "返品"], "agent": "agt_…", "as": "assignee", "tag": "returns"}],
//!   "only_unassigned": true}`. The first rule that matches decides.

use baton_sdk::{
    Action, Author, Event, EventKind, HandoffTarget, Manifest, PluginError, PluginKind, Workflow,
    host,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    rules: Vec<Rule>,
    /// Leave conversations an agent already has alone.
    #[serde(default = "yes")]
    only_unassigned: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    phrases: Vec<String>,
    agent: String,
    #[serde(rename = "as", default)]
    role: Role,
    tag: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Role {
    #[default]
    Assignee,
    Follower,
}

struct AssignByContent;

impl Workflow for AssignByContent {
    fn describe() -> Manifest {
        baton_sdk::manifest!("assign-by-content", PluginKind::Workflow)
            .description(
                "Assign by content: a conversation whose subject or customer messages mention \
                 a rule's phrase goes to the rule's agent (as assignee or follower), tagged.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "assign-by-content",
                "type": "object",
                "properties": {
                    "rules": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "properties": {
                                "phrases": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                                "agent": {"type": "string", "pattern": "^agt_[0-9a-f]{32}$"},
                                "as": {"enum": ["assignee", "follower"], "default": "assignee"},
                                "tag": {"type": "string", "minLength": 1, "maxLength": 64},
                            },
                            "required": ["phrases", "agent"],
                            "additionalProperties": false,
                        },
                    },
                    "only_unassigned": {"type": "boolean", "default": true},
                },
                "required": ["rules"],
                "additionalProperties": false,
            }))
            .subscribes([EventKind::ConversationCreated, EventKind::MessageReceived])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        Ok(decide(&config, &event))
    }
}

baton_sdk::export_workflow!(AssignByContent);

/// The text to look in: a new conversation's subject and first messages, or
/// the customer's new message.
fn text_of(event: &Event) -> Option<String> {
    match event.kind {
        EventKind::ConversationCreated => event.conversation.as_ref().map(|c| c.customer_text()),
        EventKind::MessageReceived => event
            .message
            .as_ref()
            .filter(|m| m.author == Author::Customer && !m.internal)
            .map(|m| m.body.clone()),
        _ => None,
    }
}

fn decide(config: &Config, event: &Event) -> Vec<Action> {
    let Some(conversation) = &event.conversation else {
        return Vec::new();
    };
    let assigned = conversation.agent().is_some();
    let Some(text) = text_of(event).map(|t| t.to_lowercase()) else {
        return Vec::new();
    };
    let Some(rule) = config.rules.iter().find(|rule| {
        rule.phrases
            .iter()
            .any(|p| !p.trim().is_empty() && text.contains(&p.to_lowercase()))
    }) else {
        return Vec::new();
    };
    let mut actions = Vec::new();
    match rule.role {
        Role::Assignee if assigned && config.only_unassigned => {}
        Role::Assignee => actions.push(Action::Assign(HandoffTarget::Agent(rule.agent.clone()))),
        Role::Follower => actions.push(Action::AddFollower(rule.agent.clone())),
    }
    if let Some(tag) = &rule.tag {
        actions.push(Action::AddTag(tag.clone()));
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::testing::{conversation, event, message};

    fn on(kind: EventKind, assignee: Option<&str>, said: Option<&str>) -> Event {
        let mut c = conversation("cnv_1")
            .subject("Question")
            .customer_says("商品の返品をしたいです");
        if let Some(agent) = assignee {
            c = c.assigned_to(agent);
        }
        let mut e = event(kind).conversation(c);
        if let Some(body) = said {
            e = e.message(message(Author::Customer, body));
        }
        e.build()
    }

    fn config(role: &str) -> Config {
        serde_json::from_value(json!({"rules": [
            {"phrases": ["return", "返品"], "agent": "agt_aya", "as": role, "tag": "returns"},
            {"phrases": ["invoice"], "agent": "agt_ben"},
        ]}))
        .expect("config")
    }

    #[test]
    fn the_first_matching_rule_assigns_and_tags() {
        let actions = decide(
            &config("assignee"),
            &on(EventKind::ConversationCreated, None, None),
        );
        assert_eq!(
            actions,
            vec![
                Action::Assign(HandoffTarget::Agent("agt_aya".into())),
                Action::AddTag("returns".into())
            ]
        );
        let actions = decide(
            &config("assignee"),
            &on(
                EventKind::MessageReceived,
                None,
                Some("My INVOICE is wrong"),
            ),
        );
        assert_eq!(
            actions,
            vec![Action::Assign(HandoffTarget::Agent("agt_ben".into()))]
        );
        let nothing = decide(
            &config("assignee"),
            &on(EventKind::MessageReceived, None, Some("hello")),
        );
        assert!(nothing.is_empty());
    }

    #[test]
    fn an_assigned_conversation_keeps_its_agent_unless_told_otherwise() {
        let taken = Some("agt_other");
        let actions = decide(
            &config("assignee"),
            &on(EventKind::ConversationCreated, taken, None),
        );
        assert_eq!(actions, vec![Action::AddTag("returns".into())]);
        let follower = decide(
            &config("follower"),
            &on(EventKind::ConversationCreated, taken, None),
        );
        assert_eq!(
            follower,
            vec![
                Action::AddFollower("agt_aya".into()),
                Action::AddTag("returns".into())
            ]
        );
    }
}
