//! Kinds of durable timer.

text_enum!(
    /// What a timer does when it fires.
    TimerKind {
        /// A snoozed conversation returns to open.
        SnoozeEnds = "snooze-ends",
        /// An open conversation without activity for the tenant's period closes.
        AutoClose = "auto-close",
        /// A workflow's own timer: its event goes to that workflow.
        Workflow = "workflow",
    }
);
