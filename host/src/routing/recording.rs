//! A conversation as plugins would see it now, written as the cases
//! `baton plugin test` runs: a developer records real inputs from a running
//! server and replays them against a component before uploading it.

use serde_json::{Value, json};

use super::snapshot;
use super::spec::{self, BindError};
use crate::domain::{ConversationRecord, PluginKind, Slot, TenantId};
use crate::plugin::bindings::types;
use crate::plugin::{AssignmentRequest, SandboxLimits};
use crate::store::{PluginRecord, Store, StoreError};

/// The `"kind"` of a case for a plugin of `kind`.
fn case_kind(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::AssignmentStrategy => "assignment",
        PluginKind::HandoffTrigger => "handoff",
        PluginKind::Workflow => "workflow",
        PluginKind::RuleCondition => "condition",
    }
}

/// The config `plugin` runs with in the tenant: the slot binding that
/// names it, else the first rule that does (as its method or one of its
/// conditions); `None` when nothing binds it.
pub async fn bound_config(
    store: &Store,
    tenant: &TenantId,
    plugin: &PluginRecord,
) -> Result<Option<Value>, BindError> {
    for slot in Slot::ALL {
        let binding = spec::current(store, tenant, *slot).await?;
        if let Some(used) = binding.plugins.iter().find(|p| p.id == plugin.id) {
            return Ok(Some(used.config.clone()));
        }
    }
    for rule in store.list_rules(tenant).await? {
        let uses = rule.method.iter().chain(&rule.conditions.plugins);
        if let Some(used) = uses.into_iter().find(|p| p.id == plugin.id) {
            return Ok(Some(used.config.clone()));
        }
    }
    Ok(None)
}

/// Keep only the cases for `kind`, each carrying `config`: the cases
/// recorded for one plugin, as it is bound.
pub fn for_plugin(cases: Vec<Value>, kind: PluginKind, config: &Value) -> Vec<Value> {
    cases
        .into_iter()
        .filter(|case| case["kind"] == case_kind(kind))
        .map(|mut case| {
            case["config"] = config.clone();
            case
        })
        .collect()
}

/// One case per kind of plugin for `conversation`: the assignment request
/// (every agent of the tenant as a candidate), the handoff input (with its
/// latest public customer or bot message, if any), a workflow's
/// `conversation-created` event, and a rule condition's input. Cases carry
/// no `expect`: the developer adds what the plugin should answer.
pub async fn cases(
    store: &Store,
    limits: &SandboxLimits,
    conversation: &ConversationRecord,
) -> Result<Vec<Value>, StoreError> {
    let messages = store
        .messages(&conversation.id, limits.max_recent_messages as u32)
        .await?;
    let snapshot = snapshot::conversation(conversation, &messages);
    let agents = store.list_agents(&conversation.tenant_id).await?;
    let now = store.now().0;
    let label = |what: &str| format!("{what}: {} as recorded", conversation.id);
    let request = AssignmentRequest::new(
        snapshot.clone(),
        agents
            .iter()
            .take(limits.max_candidates)
            .map(snapshot::candidate)
            .collect(),
    );
    let mut cases = vec![json!({
        "name": label("assignment"),
        "now_ms": now,
        "kind": "assignment",
        "input": request,
    })];
    let last = messages
        .iter()
        .rev()
        .find(|m| !m.internal && m.author != crate::domain::Author::Agent);
    if let Some(message) = last {
        cases.push(json!({
            "name": label("handoff"),
            "now_ms": now,
            "kind": "handoff",
            "input": {"conversation": snapshot, "message": snapshot::message(message)},
        }));
    }
    let event = types::Event {
        kind: types::EventKind::ConversationCreated,
        conversation: Some(snapshot.clone()),
        message: None,
        agent: None,
        ticket: None,
        timer: None,
        at_ms: now,
    };
    cases.push(
        json!({"name": label("workflow"), "now_ms": now, "kind": "workflow", "input": event}),
    );
    cases.push(
        json!({"name": label("condition"), "now_ms": now, "kind": "condition", "input": snapshot}),
    );
    Ok(cases)
}
