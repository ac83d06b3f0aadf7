//! Example: a workflow that tags conversations by keyword, on arrival and
//! on every customer message.
//!
//! ```json
//! {"keywords": {"refund": "billing", "返品": "returns"}}
//! ```
//!
//! Build: `cargo build -p baton-sdk --example keyword_tags --release --target wasm32-wasip2`.

use std::collections::BTreeMap;

use baton_sdk::{
    Action, Author, Event, EventKind, JsonSchema, Manifest, PluginError, PluginKind, Workflow, host,
};
use serde::Deserialize;

/// Which words set which tags.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Keyword (case-insensitive) → tag.
    pub keywords: BTreeMap<String, String>,
}

pub struct KeywordTags;

impl Workflow for KeywordTags {
    fn describe() -> Manifest {
        Manifest::new("keyword-tags", "0.1.0", PluginKind::Workflow)
            .description("Tags conversations by the keywords customers write")
            .config_schema_for::<Config>()
            .subscribes([EventKind::ConversationCreated, EventKind::MessageReceived])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        Ok(tags(&config, &event))
    }
}

baton_sdk::export_workflow!(KeywordTags);

pub fn tags(config: &Config, event: &Event) -> Vec<Action> {
    let text = match (&event.message, &event.conversation) {
        (Some(m), _) if m.author == Author::Customer && !m.internal => m.body.clone(),
        (None, Some(c)) if event.kind == EventKind::ConversationCreated => c.customer_text(),
        _ => return Vec::new(),
    }
    .to_lowercase();
    let mut actions: Vec<Action> = Vec::new();
    for (keyword, tag) in &config.keywords {
        let action = Action::AddTag(tag.clone());
        if text.contains(&keyword.to_lowercase()) && !actions.contains(&action) {
            actions.push(action);
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::testing::{conversation, event, message};

    #[test]
    fn each_keyword_tags_once() {
        let config = Config {
            keywords: [
                ("refund", "billing"),
                ("money back", "billing"),
                ("返品", "returns"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        };
        let said = event(EventKind::MessageReceived)
            .conversation(conversation("cnv_1"))
            .message(message(
                Author::Customer,
                "Refund or money back please, 返品したい",
            ))
            .build();
        assert_eq!(
            tags(&config, &said),
            vec![
                Action::AddTag("billing".into()),
                Action::AddTag("returns".into())
            ]
        );
        let agent = event(EventKind::MessageReceived)
            .message(message(Author::Agent, "refund sent"))
            .build();
        assert!(tags(&config, &agent).is_empty());
    }
}
