//! Evaluating rule conditions (a field of the conversation, an operator
//! and a value, combined with all/any; see [`Conditions`]). They are parsed
//! once when the rule is saved, so evaluating one is a walk over typed
//! values.

use std::borrow::Cow;

use serde_json::Value;

use crate::domain::{Condition, Conditions, Field, Match, Operator, folded_text, number_of};

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

/// A fact as a condition sees it, borrowed from [`Facts`].
enum Actual<'a> {
    Text(&'a str),
    Count(u64),
    Json(&'a Value),
}

impl Actual<'_> {
    /// The fact as text for the text operators (see [`folded_text`]), not
    /// yet folded: [`eq_folded`] and [`contains_folded`] fold as they go.
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Actual::Text(s) => Some(Cow::Borrowed(s)),
            Actual::Count(n) => Some(Cow::Owned(n.to_string())),
            Actual::Json(Value::String(s)) => Some(Cow::Borrowed(s)),
            Actual::Json(Value::Bool(b)) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Actual::Json(v @ Value::Number(_)) => folded_text(v).map(Cow::Owned),
            Actual::Json(_) => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Actual::Text(s) => s.trim().parse().ok(),
            Actual::Count(n) => Some(*n as f64),
            Actual::Json(v) => number_of(v),
        }
    }
}

impl Facts {
    fn get(&self, field: &Field) -> Option<Actual<'_>> {
        fn text(v: &Option<String>) -> Option<Actual<'_>> {
            v.as_deref().map(Actual::Text)
        }
        match field {
            Field::Channel => Some(Actual::Text(&self.channel)),
            Field::Subject => text(&self.subject),
            Field::Message => Some(Actual::Text(&self.message)),
            Field::ContactName => text(&self.contact_name),
            Field::ContactEmail => text(&self.contact_email),
            Field::Team => text(&self.team),
            Field::PastConversations => Some(Actual::Count(self.past_conversations)),
            // `crm.tier` looks inside nested objects as well as at a flat key.
            Field::Attribute(key) => self
                .attributes
                .get(key)
                .or_else(|| {
                    let mut parts = key.split('.');
                    let first = self.attributes.get(parts.next()?)?;
                    parts.try_fold(first, |v, part| v.get(part))
                })
                .map(Actual::Json),
        }
    }
}

/// Whether `text` lowercased equals `folded` (already lowercase). ASCII
/// text, nearly all of it, is compared in place without a copy.
fn eq_folded(text: &str, folded: &str) -> bool {
    if text.is_ascii() {
        text.eq_ignore_ascii_case(folded)
    } else {
        text.to_lowercase() == folded
    }
}

/// Whether `text` lowercased contains `folded` (already lowercase).
fn contains_folded(text: &str, folded: &str) -> bool {
    if !text.is_ascii() {
        return text.to_lowercase().contains(folded);
    }
    if folded.is_empty() {
        return true;
    }
    // Lowercased ASCII text can only contain an ASCII needle.
    folded.is_ascii()
        && text
            .as_bytes()
            .windows(folded.len())
            .any(|w| w.eq_ignore_ascii_case(folded.as_bytes()))
}

impl Condition {
    /// Check the value's shape for the operator, naming what is wrong.
    pub fn check(&self) -> Result<(), String> {
        match self.op {
            Operator::In => match &self.value {
                Value::Array(items)
                    if !items.is_empty() && items.iter().all(|i| folded_text(i).is_some()) =>
                {
                    Ok(())
                }
                _ => Err("\"in\" needs a non-empty list of strings or numbers".into()),
            },
            Operator::GreaterThan | Operator::LessThan => match self.wanted.number {
                Some(_) => Ok(()),
                None => Err("greater_than and less_than need a number".into()),
            },
            _ => match self.wanted.text {
                Some(_) => Ok(()),
                None => Err("needs a string, number or boolean".into()),
            },
        }
    }

    /// Text comparisons ignore case. A missing field equals nothing, and so
    /// satisfies `not_equals` and `not_contains`.
    pub fn holds(&self, facts: &Facts) -> bool {
        let actual = facts.get(&self.field);
        let wanted = &self.wanted;
        let text = || actual.as_ref().and_then(Actual::text);
        let folded = wanted.text.as_deref().unwrap_or_default();
        match self.op {
            Operator::Equals => text().is_some_and(|t| eq_folded(&t, folded)),
            Operator::NotEquals => text().is_none_or(|t| !eq_folded(&t, folded)),
            Operator::Contains => text().is_some_and(|t| contains_folded(&t, folded)),
            Operator::NotContains => text().is_none_or(|t| !contains_folded(&t, folded)),
            Operator::In => match (&wanted.items, text()) {
                (Some(items), Some(t)) => items.iter().any(|i| eq_folded(&t, i)),
                _ => false,
            },
            Operator::GreaterThan | Operator::LessThan => {
                match (actual.as_ref().and_then(Actual::number), wanted.number) {
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
    fn text_outside_ascii_is_compared_without_regard_to_case_too() {
        let f = Facts {
            channel: "chat".into(),
            subject: Some("ÉCOLE Straße".into()),
            contact_name: Some("ÅSA".into()),
            ..Facts::default()
        };
        let table = [
            ("subject", "contains", json!("école"), true),
            ("subject", "contains", json!("STRASSE"), false),
            ("subject", "contains", json!("straße"), true),
            ("contact.name", "equals", json!("åsa"), true),
            ("contact.name", "in", json!(["bob", "Åsa"]), true),
            ("contact.name", "not_equals", json!("ÅSA"), false),
            ("channel", "contains", json!("É"), false),
            ("channel", "contains", json!(""), true),
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
