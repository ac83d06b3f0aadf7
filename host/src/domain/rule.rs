//! Assignment rules as data (Zoho's model): an ordered list per tenant,
//! each with conditions on the conversation, a target and the method that
//! picks among the target's agents. Evaluating them against a conversation
//! is the rules module's business; the store keeps them as they are here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AgentId, Millis, PluginUse, RuleId, TeamId};

/// Who a rule sends conversations to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
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

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub enum Field {
    Channel,
    Subject,
    /// The text of the customer's messages so far.
    Message,
    ContactName,
    ContactEmail,
    /// The team the conversation waits in.
    Team,
    /// How many earlier conversations the same contact (by e-mail) had.
    PastConversations,
    /// A free attribute: website, browser, os, utm_source, campaign, crm.tier, ...
    Attribute(String),
}

impl TryFrom<String> for Field {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Ok(match value.as_str() {
            "channel" => Field::Channel,
            "subject" => Field::Subject,
            "message" => Field::Message,
            "contact.name" => Field::ContactName,
            "contact.email" => Field::ContactEmail,
            "team" => Field::Team,
            "past_conversations" => Field::PastConversations,
            other => match other.strip_prefix("attributes.") {
                Some(key) if !key.is_empty() && key.len() <= 100 => {
                    Field::Attribute(key.to_owned())
                }
                _ => {
                    return Err(format!(
                        "unknown field {other:?}; use channel, subject, message, contact.name, \
                         contact.email, team, past_conversations or attributes.<name>"
                    ));
                }
            },
        })
    }
}

impl From<Field> for String {
    fn from(field: Field) -> String {
        match field {
            Field::Channel => "channel".into(),
            Field::Subject => "subject".into(),
            Field::Message => "message".into(),
            Field::ContactName => "contact.name".into(),
            Field::ContactEmail => "contact.email".into(),
            Field::Team => "team".into(),
            Field::PastConversations => "past_conversations".into(),
            Field::Attribute(key) => format!("attributes.{key}"),
        }
    }
}

/// How a field is compared with the condition's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    /// The value is a list; the field equals one of its items.
    In,
    GreaterThan,
    LessThan,
}

/// One test on one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(from = "ConditionWire", into = "ConditionWire")]
pub struct Condition {
    pub field: Field,
    pub op: Operator,
    pub value: Value,
    /// The value folded for comparing, once when the condition is parsed:
    /// a rule is evaluated for every conversation, and must not lowercase
    /// or convert its own value every time.
    pub wanted: Wanted,
}

/// A condition as written in JSON.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConditionWire {
    field: Field,
    op: Operator,
    value: Value,
}

impl From<ConditionWire> for Condition {
    fn from(wire: ConditionWire) -> Self {
        Condition {
            wanted: Wanted::of(&wire.value),
            field: wire.field,
            op: wire.op,
            value: wire.value,
        }
    }
}

impl From<Condition> for ConditionWire {
    fn from(condition: Condition) -> Self {
        ConditionWire {
            field: condition.field,
            op: condition.op,
            value: condition.value,
        }
    }
}

/// A condition's value in the forms the operators compare with: as
/// lowercase text, as a list of lowercase texts (`in`; items that are not
/// scalars left out), and as a number. A form the value does not have is
/// `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wanted {
    pub text: Option<String>,
    pub items: Option<Vec<String>>,
    pub number: Option<f64>,
}

impl Wanted {
    pub fn of(value: &Value) -> Self {
        Wanted {
            text: folded_text(value),
            items: match value {
                Value::Array(items) => Some(items.iter().filter_map(folded_text).collect()),
                _ => None,
            },
            number: number_of(value),
        }
    }
}

/// A JSON scalar as text compared without regard to case: strings
/// lowercased, numbers and booleans as written; other values have none.
pub fn folded_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A JSON value as a number: numbers, and strings that read as one.
pub fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// How the conditions of a rule combine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    #[default]
    All,
    Any,
}

/// The conditions of a rule. No conditions matches every conversation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    #[serde(rename = "match", default)]
    pub combine: Match,
    #[serde(default)]
    pub items: Vec<Condition>,
    /// Rule-condition plugins, combined with the items in the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PluginUse>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
