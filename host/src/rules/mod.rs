//! Evaluating assignment rules (Zoho's model; the rules themselves are
//! [`Rule`]s of the domain): an ordered list per tenant; the first enabled
//! rule whose conditions match decides the target agents and the method
//! that picks among them.

mod condition;

pub use condition::{Facts, Verdict};

use crate::domain::Rule;

/// The first enabled rule that matches, if any.
pub fn first_match<'a>(rules: &'a [Rule], facts: &Facts) -> Option<&'a Rule> {
    rules
        .iter()
        .filter(|r| r.enabled)
        .find(|r| r.conditions.holds(facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Millis, RuleId, Target};
    use serde_json::json;

    fn rule(position: u32, name: &str, enabled: bool, channel: &str) -> Rule {
        Rule {
            id: RuleId::generate(),
            position,
            name: name.into(),
            enabled,
            conditions: serde_json::from_value(
                json!({"items": [{"field": "channel", "op": "equals", "value": channel}]}),
            )
            .expect("conditions"),
            target: Target::All,
            method: None,
            created_at: Millis(0),
            updated_at: Millis(0),
        }
    }

    #[test]
    fn the_first_enabled_match_decides() {
        let rules = [
            rule(0, "off", false, "chat"),
            rule(1, "calls", true, "call"),
            rule(2, "chats", true, "chat"),
            rule(3, "later", true, "chat"),
        ];
        let facts = Facts {
            channel: "chat".into(),
            ..Facts::default()
        };
        assert_eq!(
            first_match(&rules, &facts).map(|r| r.name.as_str()),
            Some("chats")
        );
        let facts = Facts {
            channel: "email".into(),
            ..Facts::default()
        };
        assert!(first_match(&rules, &facts).is_none());
    }
}
