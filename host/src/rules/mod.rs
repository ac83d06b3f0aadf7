//! Assignment rules (Zoho's model): an ordered list per tenant; the first
//! enabled rule whose conditions match decides the target agents and the
//! method that picks among them.

mod condition;

use serde::{Deserialize, Serialize};

pub use condition::{Condition, Conditions, Facts, Field, Match, Operator, Verdict};

use crate::domain::{AgentId, Millis, RuleId, TeamId};
use crate::routing::spec::PluginUse;

/// Who a rule sends conversations to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// Every agent of the tenant.
    All,
    /// Named agents and whole teams, together (a team plus single agents of
    /// another team at once).
    Members {
        #[serde(default)]
        agents: Vec<AgentId>,
        #[serde(default)]
        teams: Vec<TeamId>,
    },
    /// The agent who owns the contact (CRM-style owner).
    ContactOwner,
    /// The agent who last handled a conversation with this contact.
    LastAgent,
    /// Nobody: the conversation ends unhandled, and that is recorded.
    Nobody,
}

/// One rule as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: RuleId,
    pub position: u32,
    pub name: String,
    pub enabled: bool,
    pub conditions: Conditions,
    pub target: Target,
    /// The method; `None` uses the tenant's bound assignment strategy.
    pub method: Option<PluginUse>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

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

    #[test]
    fn targets_parse_with_their_kind() {
        let members: Target = serde_json::from_value(
            json!({"kind": "members", "teams": ["team_0123456789abcdef0123456789abcdef"]}),
        )
        .expect("parses");
        assert!(matches!(members, Target::Members { ref teams, .. } if teams.len() == 1));
        assert!(serde_json::from_value::<Target>(json!({"kind": "everyone"})).is_err());
        assert!(
            serde_json::from_value::<Target>(json!({"kind": "members", "agents": ["bob"]}))
                .is_err()
        );
    }
}
