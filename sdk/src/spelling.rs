//! How case files spell things: as the HTTP API does, not as the Rust
//! bindings' serde derives would.
//!
//! A case file (see [`testing`](crate::testing)) names enum values and
//! variants by the contract's own kebab-case names, which are also the
//! API's (`"channel": "chat"`, `"presence": "available"`,
//! `"author": "customer"`, `{"assign": {...}}`, `{"hand-over": {...}}`,
//! `"target": "any-agent"`), gives a conversation's `attributes` as a JSON
//! object and its `assignee` as `{"kind": "agent", "id": "agt_…"}`, as
//! `GET /v1/conversations/{id}` does. Times stay milliseconds since the
//! epoch, in the fields whose names end in `_ms`.
//!
//! [`case_in`] turns a case of a file into the form the types deserialize
//! from, [`case_out`] the other way; the SDK's [`read_cases`] and
//! [`write_cases`] and the `baton` command line (`plugin test`, the
//! scaffold, recorded cases) all go through them, so there is one
//! spelling. Reading also takes the bindings' own spelling (`"Chat"`,
//! `attributes_json`), which files written before this spelling used.
//!
//! [`read_cases`]: crate::testing::read_cases
//! [`write_cases`]: crate::testing::write_cases

use serde_json::{Map, Value};

/// Which way a conversion goes.
#[derive(Clone, Copy)]
enum Way {
    /// From a file to the bindings' serde form.
    In,
    /// From the bindings' serde form to a file.
    Out,
}

/// `conversation-created` from `ConversationCreated`, and back.
fn name(way: Way, text: &str) -> String {
    match way {
        Way::Out => {
            let mut out = String::with_capacity(text.len() + 4);
            for (i, c) in text.chars().enumerate() {
                if c.is_ascii_uppercase() {
                    if i > 0 {
                        out.push('-');
                    }
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.push(c);
                }
            }
            out
        }
        Way::In => text
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            })
            .collect(),
    }
}

/// A unit variant given as a string.
fn unit(way: Way, value: &mut Value) {
    if let Value::String(text) = value {
        *text = name(way, text);
    }
}

fn field(value: &mut Value, key: &str, convert: impl FnOnce(&mut Value)) {
    if let Some(inner) = value.get_mut(key).filter(|inner| !inner.is_null()) {
        convert(inner);
    }
}

/// A variant with its payload, `{"Tag": payload}`: the tag's spelling, and
/// `payload` converted by what the variant is.
fn tagged(way: Way, value: &mut Value, payload: impl FnOnce(&str, &mut Value)) {
    let Value::Object(map) = value else {
        // A variant without a payload is a plain string.
        return unit(way, value);
    };
    if map.len() != 1 || map.contains_key("error") {
        return;
    }
    let Some((tag, mut inner)) = std::mem::take(map).into_iter().next() else {
        return;
    };
    let spelled = name(way, &tag);
    // The payload converts by its variant's kebab name, whichever way.
    payload(&name(Way::Out, &spelled), &mut inner);
    map.insert(spelled, inner);
}

fn message(way: Way, value: &mut Value) {
    field(value, "author", |v| unit(way, v));
}

fn conversation(way: Way, value: &mut Value) {
    field(value, "channel", |v| unit(way, v));
    field(value, "status", |v| unit(way, v));
    if let Some(messages) = value
        .get_mut("recent_messages")
        .and_then(Value::as_array_mut)
    {
        messages.iter_mut().for_each(|m| message(way, m));
    }
    let Some(map) = value.as_object_mut() else {
        return;
    };
    match way {
        Way::In => {
            if let Some(attributes) = map.remove("attributes") {
                map.insert(
                    "attributes_json".into(),
                    Value::String(attributes.to_string()),
                );
            }
            if let Some(assignee) = map.get_mut("assignee") {
                let parts = (assignee.get("kind"), assignee.get("id"));
                if let (Some(Value::String(kind)), Some(id)) = parts {
                    let mut tagged = Map::new();
                    tagged.insert(name(Way::In, kind), id.clone());
                    *assignee = Value::Object(tagged);
                }
            }
        }
        Way::Out => {
            if let Some(Value::String(json)) = map.remove("attributes_json") {
                let attributes = serde_json::from_str(&json).unwrap_or(Value::String(json));
                map.insert("attributes".into(), attributes);
            }
            if let Some(Value::Object(tagged)) = map.get_mut("assignee")
                && let Some((kind, id)) = tagged.iter().next()
            {
                let mut plain = Map::new();
                plain.insert("kind".into(), Value::String(name(Way::Out, kind)));
                plain.insert("id".into(), id.clone());
                *tagged = plain;
            }
        }
    }
}

fn handoff_target(way: Way, value: &mut Value) {
    tagged(way, value, |_, _| {});
}

fn action(way: Way, value: &mut Value) {
    tagged(way, value, |variant, payload| match variant {
        "assign" => handoff_target(way, payload),
        "set-status" => unit(way, payload),
        "notify" => field(payload, "recipient", |r| tagged(way, r, |_, _| {})),
        _ => {}
    });
}

/// A case's input, by its `kind`.
fn input(way: Way, kind: &str, value: &mut Value) {
    match kind {
        "assignment" => {
            field(value, "conversation", |c| conversation(way, c));
            if let Some(candidates) = value.get_mut("candidates").and_then(Value::as_array_mut) {
                for candidate in candidates {
                    field(candidate, "presence", |p| unit(way, p));
                }
            }
        }
        "handoff" => {
            field(value, "conversation", |c| conversation(way, c));
            field(value, "message", |m| message(way, m));
        }
        "workflow" => {
            field(value, "kind", |k| unit(way, k));
            field(value, "conversation", |c| conversation(way, c));
            field(value, "message", |m| message(way, m));
        }
        "condition" => conversation(way, value),
        _ => {}
    }
}

/// An answer of a plugin of `kind` (`assignment`, `handoff`, `workflow`,
/// `condition`), or `{"error": ...}`.
fn answer(way: Way, kind: &str, value: &mut Value) {
    if value.get("error").is_some() {
        return;
    }
    match kind {
        "assignment" => tagged(way, value, |_, _| {}),
        "handoff" => tagged(way, value, |variant, payload| {
            if variant == "hand-over" {
                field(payload, "target", |t| handoff_target(way, t));
                field(payload, "mode", |m| unit(way, m));
            }
        }),
        "workflow" => {
            if let Some(actions) = value.as_array_mut() {
                actions.iter_mut().for_each(|a| action(way, a));
            }
        }
        _ => {}
    }
}

fn case(way: Way, mut value: Value) -> Value {
    let Some(kind) = value.get("kind").and_then(Value::as_str).map(str::to_owned) else {
        return value;
    };
    field(&mut value, "input", |i| input(way, &kind, i));
    field(&mut value, "expect", |e| answer(way, &kind, e));
    value
}

/// A case as a file gives it, in the form [`Case`](crate::testing::Case)
/// deserializes from.
pub fn case_in(value: Value) -> Value {
    case(Way::In, value)
}

/// The cases of a case file's text, each read with [`case_in`] into `T`
/// (the SDK's [`Case`](crate::testing::Case), or the host's own).
///
/// # Errors
///
/// When the text is not a JSON list, or one of its items not a `T`
/// (the message says which, counting from 0).
pub fn parse_list<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    let list: Vec<Value> =
        serde_json::from_str(text).map_err(|e| format!("not a list of cases: {e}"))?;
    list.into_iter()
        .enumerate()
        .map(|(i, case)| {
            serde_json::from_value(case_in(case)).map_err(|e| format!("case {i}: {e}"))
        })
        .collect()
}

/// A [`Case`](crate::testing::Case) serialized, as a file gives it.
pub fn case_out(value: Value) -> Value {
    case(Way::Out, value)
}

/// A plugin's answer serialized (a decision, a list of actions, or a
/// condition's `true`/`false`), spelled as a case file's `expect`. `kind`
/// is the case's: `assignment`, `handoff`, `workflow` or `condition`.
pub fn answer_out(kind: &str, mut value: Value) -> Value {
    answer(Way::Out, kind, &mut value);
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_go_to_kebab_case_and_back() {
        for (rust, file) in [
            ("Chat", "chat"),
            ("ConversationCreated", "conversation-created"),
            ("AnyAgent", "any-agent"),
            ("HandOver", "hand-over"),
        ] {
            assert_eq!(name(Way::Out, rust), file);
            assert_eq!(name(Way::In, file), rust);
            // Files in the bindings' spelling still read.
            assert_eq!(name(Way::In, rust), rust);
        }
    }

    #[test]
    fn a_case_reads_as_the_api_spells_it_and_writes_back_the_same() {
        let file = json!({
            "name": "a chat",
            "kind": "handoff",
            "input": {
                "conversation": {
                    "id": "cnv_1", "channel": "chat", "status": "open",
                    "attributes": {"tier": "gold"},
                    "assignee": {"kind": "bot", "id": "bot_1"},
                    "recent_messages": [{"author": "customer", "body": "Chat", "internal": false, "at_ms": 0}],
                },
                "message": {"author": "customer", "body": "Help", "internal": false, "at_ms": 0},
            },
            "expect": {"hand-over": {"target": {"team": "team_1"}, "mode": "real-time", "reason": "Stay"}},
        });
        let bindings = case_in(file.clone());
        let conversation = &bindings["input"]["conversation"];
        assert_eq!(conversation["channel"], "Chat");
        assert_eq!(conversation["attributes_json"], r#"{"tier":"gold"}"#);
        assert_eq!(conversation["assignee"], json!({"Bot": "bot_1"}));
        // Text is left alone; only names change.
        assert_eq!(conversation["recent_messages"][0]["body"], "Chat");
        assert_eq!(
            bindings["expect"],
            json!({"HandOver": {"target": {"Team": "team_1"}, "mode": "RealTime", "reason": "Stay"}})
        );
        assert_eq!(case_out(bindings), file);
    }

    #[test]
    fn workflow_actions_and_errors_are_spelled_by_position() {
        let actions = json!([
            {"Assign": "AnyAgent"},
            {"SetStatus": "Closed"},
            {"AddTag": "VipCustomer"},
            {"Notify": {"recipient": "Assignee", "message": "Look"}},
            {"Notify": {"recipient": {"Team": "team_1"}, "message": "Look"}},
        ]);
        assert_eq!(
            answer_out("workflow", actions),
            json!([
                {"assign": "any-agent"},
                {"set-status": "closed"},
                {"add-tag": "VipCustomer"},
                {"notify": {"recipient": "assignee", "message": "Look"}},
                {"notify": {"recipient": {"team": "team_1"}, "message": "Look"}},
            ])
        );
        let error = json!({"error": "invalid config: max_open"});
        assert_eq!(answer_out("assignment", error.clone()), error);
        assert_eq!(answer_out("condition", json!(true)), json!(true));
    }
}
