//! What kind of plugin something is, and which routing slot it fills.

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
}
