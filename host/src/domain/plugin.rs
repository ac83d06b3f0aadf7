//! What kind of plugin something is, which routing slot it fills, and a
//! plugin version with its config as a binding, a rule's method or a
//! rule-condition plugin names it. A use names an exact version, so
//! uploading a newer version changes nothing until an admin binds it.

use serde::{Deserialize, Serialize};

text_enum!(
    /// The three kinds of plugin, one per WIT world.
    PluginKind {
        AssignmentStrategy = "assignment-strategy",
        HandoffTrigger = "handoff-trigger",
        Workflow = "workflow",
        RuleCondition = "rule-condition",
    }
);

text_enum!(
    /// A tenant's routing slot that a binding fills.
    Slot {
        Assignment = "assignment",
        Handoff = "handoff",
        Workflows = "workflows",
    }
);

impl Slot {
    /// The plugin kind this slot takes.
    pub fn kind(self) -> PluginKind {
        match self {
            Slot::Assignment => PluginKind::AssignmentStrategy,
            Slot::Handoff => PluginKind::HandoffTrigger,
            Slot::Workflows => PluginKind::Workflow,
        }
    }

    /// Whether a new binding here may let queued conversations through, so
    /// the queue is retried at once: the assignment strategy decides them
    /// (one that failed or queued them may be gone); triggers and workflows
    /// never pick an agent for a waiting conversation.
    pub fn retries_queue(self) -> bool {
        self == Slot::Assignment
    }
}

/// One plugin version with its config, as bound.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PluginUse {
    /// The plugin's id (a built-in's name, or an upload's `plg_` id).
    pub id: String,
    pub name: String,
    pub version: String,
    pub sha256: String,
    #[serde(default)]
    pub subscribes: Vec<String>,
    pub config: serde_json::Value,
    /// A workflow can be switched off without unbinding it.
    #[serde(default = "enabled", skip_serializing_if = "is_enabled")]
    pub enabled: bool,
    /// A workflow runs only on events whose conversation these hold for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Box<super::Conditions>>,
}

fn enabled() -> bool {
    true
}

fn is_enabled(value: &bool) -> bool {
    *value
}

impl PluginUse {
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// What still uses an uploaded plugin version. A version goes only when
/// nothing does: a binding in force, a rule's method or a rule's
/// condition would otherwise name a plugin that is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PluginUses {
    pub bindings: u64,
    pub rules: u64,
}

impl PluginUses {
    /// Why the version cannot go yet, or `None` when nothing uses it.
    pub fn refusal(&self) -> Option<String> {
        let uses = super::uses_in_words(&[(self.bindings, "binding"), (self.rules, "rule")]);
        (!uses.is_empty()).then(|| {
            format!(
                "the plugin version is still used by {}; \
                 bind another version and change the rules first",
                uses.join(" and ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_assignment_slot_retries_the_queue() {
        let retrying: Vec<Slot> = Slot::ALL
            .iter()
            .copied()
            .filter(|s| s.retries_queue())
            .collect();
        assert_eq!(retrying, vec![Slot::Assignment]);
    }

    #[test]
    fn a_plugin_version_goes_only_when_nothing_uses_it() {
        assert_eq!(PluginUses::default().refusal(), None);
        let used = PluginUses {
            bindings: 2,
            rules: 1,
        };
        let refusal = used.refusal().expect("refused");
        assert!(refusal.contains("2 bindings and 1 rule"), "{refusal}");
    }
}
