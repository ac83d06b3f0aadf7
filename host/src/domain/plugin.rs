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

    /// Whether a new binding here may let queued conversations through, so
    /// the queue is retried at once: the assignment strategy decides them
    /// (one that failed or queued them may be gone); triggers and workflows
    /// never pick an agent for a waiting conversation.
    pub fn retries_queue(self) -> bool {
        self == Slot::Assignment
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
}
