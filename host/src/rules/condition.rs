//! Evaluating rule conditions (a field of the conversation, an operator
//! and a value, combined with all/any; see [`Conditions`]). They are parsed
//! once when the rule is saved, so evaluating one is a walk over typed
//! values.

use serde_json::Value;

use crate::domain::{Condition, Conditions, Field, Match, Operator};

/// The facts about a conversation that conditions test.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub channel: String,
    pub subject: Option<String>,
    pub message: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub team: Option<String>,
    pub past_conversations: u64,
    pub attributes: serde_json::Map<String, Value>,
}

impl Facts {
    fn get(&self, field: &Field) -> Option<Value> {
        let text = |v: &Option<String>| v.clone().map(Value::String);
        match field {
            Field::Channel => Some(Value::String(self.channel.clone())),
            Field::Subject => text(&self.subject),
            Field::Message => Some(Value::String(self.message.clone())),
            Field::ContactName => text(&self.contact_name),
            Field::ContactEmail => text(&self.contact_email),
            Field::Team => text(&self.team),
            Field::PastConversations => Some(Value::from(self.past_conversations)),
            // `crm.tier` looks inside nested objects as well as at a flat key.
            Field::Attribute(key) => self.attributes.get(key).cloned().or_else(|| {
                let mut parts = key.split('.');
                let first = self.attributes.get(parts.next()?)?;
                parts.try_fold(first, |v, part| v.get(part)).cloned()
            }),
        }
    }
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Condition {
    /// Check the value's shape for the operator, naming what is wrong.
    pub fn check(&self) -> Result<(), String> {
        match self.op {
            Operator::In => match &self.value {
                Value::Array(items)
                    if !items.is_empty() && items.iter().all(|i| as_text(i).is_some()) =>
                {
                    Ok(())
                }
                _ => Err("\"in\" needs a non-empty list of strings or numbers".into()),
            },
            Operator::GreaterThan | Operator::LessThan => match as_number(&self.value) {
                Some(_) => Ok(()),
                None => Err("greater_than and less_than need a number".into()),
            },
            _ => match as_text(&self.value) {
                Some(_) => Ok(()),
                None => Err("needs a string, number or boolean".into()),
            },
        }
    }

    /// Text comparisons ignore case. A missing field equals nothing, and so
    /// satisfies `not_equals` and `not_contains`.
    pub fn holds(&self, facts: &Facts) -> bool {
        let actual = facts.get(&self.field);
        let text = actual.as_ref().and_then(as_text);
        let wanted = as_text(&self.value).unwrap_or_default();
        match self.op {
            Operator::Equals => text.is_some_and(|t| t == wanted),
            Operator::NotEquals => text.is_none_or(|t| t != wanted),
            Operator::Contains => text.is_some_and(|t| t.contains(&wanted)),
            Operator::NotContains => text.is_none_or(|t| !t.contains(&wanted)),
            Operator::In => match (&self.value, text) {
                (Value::Array(items), Some(t)) => items.iter().filter_map(as_text).any(|i| i == t),
                _ => false,
            },
            Operator::GreaterThan | Operator::LessThan => {
                match (actual.as_ref().and_then(as_number), as_number(&self.value)) {
                    (Some(a), Some(b)) if self.op == Operator::GreaterThan => a > b,
                    (Some(a), Some(b)) => a < b,
                    _ => false,
                }
            }
        }
    }
}

/// What the built-in conditions alone say about a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Fails,
    /// Depends on the rule's condition plugins.
    AskPlugins,
}

impl Conditions {
    /// Evaluate the items; plugins are asked only when they can change the
    /// answer, since each is a sandboxed call.
    pub fn verdict(&self, facts: &Facts) -> Verdict {
        let no_plugins = self.plugins.is_empty();
        match self.combine {
            Match::All if !self.items.iter().all(|c| c.holds(facts)) => Verdict::Fails,
            Match::All if no_plugins => Verdict::Holds,
            Match::All => Verdict::AskPlugins,
            Match::Any if self.items.is_empty() && no_plugins => Verdict::Holds,
            Match::Any if self.items.iter().any(|c| c.holds(facts)) => Verdict::Holds,
            Match::Any if no_plugins => Verdict::Fails,
            Match::Any => Verdict::AskPlugins,
        }
    }

    /// The built-in items alone (rules without plugins).
    pub fn holds(&self, facts: &Facts) -> bool {
        self.verdict(facts) == Verdict::Holds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Facts {
        Facts {
            channel: "chat".into(),
            subject: Some("Refund for order 42".into()),
            message: "Hello, I need HELP".into(),
            contact_email: Some("kim@example.com".into()),
            past_conversations: 3,
            attributes: json!({"website": "shop.example.com", "utm_source": "spring-sale", "crm": {"tier": "gold"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..Facts::default()
        }
    }

    fn condition(field: &str, op: &str, value: Value) -> Condition {
        serde_json::from_value(json!({"field": field, "op": op, "value": value})).expect("parses")
    }

    #[test]
    fn every_operator_on_every_kind_of_field() {
        let f = facts();
        let table = [
            ("channel", "equals", json!("CHAT"), true),
            ("channel", "not_equals", json!("email"), true),
            ("subject", "contains", json!("refund"), true),
            ("message", "not_contains", json!("help"), false),
            ("contact.name", "not_equals", json!("x"), true),
            ("contact.name", "equals", json!("x"), false),
            ("channel", "in", json!(["email", "chat"]), true),
            ("past_conversations", "greater_than", json!(2), true),
            ("past_conversations", "less_than", json!(3), false),
            ("attributes.utm_source", "contains", json!("spring"), true),
            ("attributes.crm.tier", "equals", json!("gold"), true),
            ("attributes.browser", "equals", json!("firefox"), false),
        ];
        for (field, op, value, expected) in table {
            assert_eq!(
                condition(field, op, value.clone()).holds(&f),
                expected,
                "{field} {op} {value}"
            );
        }
    }

    #[test]
    fn all_and_any_combine() {
        let yes = condition("channel", "equals", json!("chat"));
        let no = condition("channel", "equals", json!("call"));
        let all = Conditions {
            combine: Match::All,
            items: vec![yes.clone(), no.clone()],
            plugins: vec![],
        };
        let any = Conditions {
            combine: Match::Any,
            items: vec![yes, no],
            plugins: vec![],
        };
        assert!(!all.holds(&facts()));
        assert!(any.holds(&facts()));
        assert!(Conditions::default().holds(&facts()));
    }

    #[test]
    fn bad_fields_and_values_are_refused() {
        assert!(
            serde_json::from_value::<Condition>(
                json!({"field": "colour", "op": "equals", "value": "x"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<Condition>(
                json!({"field": "channel", "op": "like", "value": "x"})
            )
            .is_err()
        );
        assert!(condition("channel", "in", json!("chat")).check().is_err());
        assert!(
            condition("past_conversations", "greater_than", json!("many"))
                .check()
                .is_err()
        );
        assert!(
            condition("channel", "equals", json!({"a": 1}))
                .check()
                .is_err()
        );
    }
}
