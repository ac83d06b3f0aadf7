//! Running recorded cases against a component, in the same sandbox as the
//! server: what `baton plugin test` does. A case file is the one
//! `baton_sdk::testing` reads and writes, so the same file checks a
//! plugin's native logic and its built component.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use super::bindings::types;
use super::runtime::{Answer, CallError, Compiled, PluginRuntime};
use super::state::CallContext;
use crate::domain::PluginKind;

/// What a case gives the plugin (`"kind"` and `"input"` in the file).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", content = "input", rename_all = "kebab-case")]
pub enum Input {
    Assignment(super::AssignmentRequest),
    Handoff {
        conversation: types::Conversation,
        message: types::Message,
    },
    Workflow(types::Event),
    Condition(types::Conversation),
}

impl Input {
    /// The case's `"kind"`.
    pub fn case_kind(&self) -> &'static str {
        match self {
            Input::Assignment(_) => "assignment",
            Input::Handoff { .. } => "handoff",
            Input::Workflow(_) => "workflow",
            Input::Condition(_) => "condition",
        }
    }

    /// The kind of plugin that answers this input.
    pub fn plugin_kind(&self) -> PluginKind {
        match self {
            Input::Assignment(_) => PluginKind::AssignmentStrategy,
            Input::Handoff { .. } => PluginKind::HandoffTrigger,
            Input::Workflow(_) => PluginKind::Workflow,
            Input::Condition(_) => PluginKind::RuleCondition,
        }
    }
}

/// One recorded case.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub name: String,
    #[serde(default = "empty_object")]
    pub config: Value,
    #[serde(default)]
    pub now_ms: i64,
    #[serde(flatten)]
    pub input: Input,
    #[serde(default)]
    pub expect: Option<Value>,
}

fn empty_object() -> Value {
    json!({})
}

/// Parse a case file, spelled as the API spells things
/// ([`baton_sdk::spelling`]).
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
    baton_sdk::spelling::parse_list(text).map_err(|e| {
        format!(
            "{e}; see the format in the README's \"Case files\", or write one with baton_sdk::testing::write_cases"
        )
    })
}

/// A case as a file spells it, from one in the bindings' serde form.
pub fn spelled(case: Value) -> Value {
    baton_sdk::spelling::case_out(case)
}

/// What one case did.
#[derive(Debug)]
pub struct Outcome {
    /// The answer as JSON, or `{"error": ...}`.
    pub answer: Value,
    /// The reason the plugin gave, if its answer carries one.
    pub reason: Option<String>,
    pub fuel: u64,
    pub elapsed: Duration,
    /// `None` when the case expects nothing; otherwise whether it matched.
    pub agrees: Option<bool>,
}

fn reason_of(answer: &Value) -> Option<String> {
    // The reason sits one level inside the decision: {"Assign": {"reason"}},
    // {"Queue": "reason"}, {"HandOver": {"reason"}}, {"Stay": "reason"}.
    let (_, inner) = answer.as_object()?.iter().next()?;
    match inner {
        Value::String(reason) => Some(reason.clone()),
        Value::Object(fields) => fields.get("reason")?.as_str().map(str::to_owned),
        _ => None,
    }
}

fn json_of<T: serde::Serialize>(result: Result<Answer<T>, CallError>) -> (Value, u64) {
    match result {
        Ok(answer) => (
            serde_json::to_value(&answer.value).unwrap_or(Value::Null),
            answer.fuel_used,
        ),
        // Errors the plugin itself returns read as the SDK's native runner
        // writes them, so the two can be compared.
        Err(CallError::Plugin(message)) => (json!({ "error": message }), 0),
        Err(error) => (json!({ "error": error.to_string() }), 0),
    }
}

/// Run one case in the sandbox, under the runtime's limits.
pub fn run(runtime: &PluginRuntime, compiled: &Compiled, case: &Case) -> Result<Outcome, String> {
    if case.input.plugin_kind() != compiled.kind {
        return Err(format!(
            "case {:?} is for a {}, and this component is a {}",
            case.name,
            case.input.plugin_kind(),
            compiled.kind
        ));
    }
    let ctx = CallContext {
        tenant: "test".into(),
        plugin: "under-test".into(),
        config: case.config.to_string(),
        now_ms: case.now_ms,
        kv: Default::default(),
    };
    let started = Instant::now();
    let (answer, fuel) = match &case.input {
        Input::Assignment(request) => json_of(runtime.decide(compiled, ctx, request)),
        Input::Handoff {
            conversation,
            message,
        } => json_of(runtime.evaluate(compiled, ctx, conversation, message)),
        Input::Workflow(event) => json_of(runtime.on_event(compiled, ctx, event)),
        Input::Condition(conversation) => json_of(runtime.matches(compiled, ctx, conversation)),
    };
    let elapsed = started.elapsed();
    let agrees = case.expect.as_ref().map(|expected| *expected == answer);
    Ok(Outcome {
        reason: reason_of(&answer),
        // Shown as the case file would write it as `expect`.
        answer: baton_sdk::spelling::answer_out(case.input.case_kind(), answer),
        fuel,
        elapsed,
        agrees,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_api_spelling() {
        let cases = parse(
            r#"[{"name": "n", "kind": "workflow",
                 "input": {"kind": "conversation-created", "conversation": null, "message": null,
                           "agent": null, "ticket": null, "timer": null, "at_ms": 5},
                 "expect": [{"add-tag": "x"}, {"set-status": "closed"}]}]"#,
        )
        .expect("parses");
        let Input::Workflow(event) = &cases[0].input else {
            panic!("{:?}", cases[0].input)
        };
        assert_eq!(event.kind, types::EventKind::ConversationCreated);
        assert_eq!(
            cases[0].expect,
            Some(json!([{"AddTag": "x"}, {"SetStatus": "Closed"}]))
        );
    }

    #[test]
    fn reads_the_sdk_case_shape_and_finds_reasons() {
        let cases = parse(
            r#"[{"name": "n", "kind": "workflow", "config": {"tag": "x"},
                 "input": {"kind": "ConversationCreated", "conversation": null, "message": null,
                           "agent": null, "ticket": null, "timer": null, "at_ms": 5},
                 "expect": [{"AddTag": "x"}]}]"#,
        )
        .expect("parses");
        assert_eq!(cases[0].input.plugin_kind(), PluginKind::Workflow);
        assert_eq!(cases[0].expect, Some(json!([{"AddTag": "x"}])));
        assert!(parse(r#"{"name": "n"}"#).is_err());
        assert_eq!(
            reason_of(&json!({"Assign": {"agent": "a", "reason": "why"}})).as_deref(),
            Some("why")
        );
        assert_eq!(
            reason_of(&json!({"Queue": "full"})).as_deref(),
            Some("full")
        );
        assert_eq!(reason_of(&json!([{"AddTag": "x"}])), None);
    }
}
