//! The kinds of event the outbox carries.

text_enum!(
    /// What happened; one row of the outbox each.
    EventKind {
        ConversationCreated = "conversation.created",
        MessageReceived = "message.received",
        AgentStatusChanged = "agent.status_changed",
        ConversationAssigned = "conversation.assigned",
        ConversationQueued = "conversation.queued",
        ConversationHandedOver = "conversation.handed_over",
        ConversationStatusChanged = "conversation.status_changed",
        ConversationTransferred = "conversation.transferred",
        /// A help-desk ticket was created.
        TicketCreated = "ticket.created",
        /// A workflow's timer came due.
        TimerFired = "timer.fired",
        /// A bot said it cannot answer: a default handoff trigger.
        BotCannotAnswer = "bot.cannot_answer",
        /// The bot owning the conversation was paused: a default handoff trigger.
        BotPaused = "bot.paused",
        /// A closed conversation was opened again (by a message or by hand);
        /// written beside its `conversation.status_changed`.
        ConversationReopened = "conversation.reopened",
        /// A ticket moved to another status. Not in the plugin contract yet.
        TicketStatusChanged = "ticket.status_changed",
        /// Something that may let queued conversations through changed (the
        /// assignment binding, an agent's capacity): the dispatcher drains
        /// the tenant's queue. Not in the plugin contract.
        QueueRetry = "queue.retry",
    }
);
