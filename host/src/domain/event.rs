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
        /// A conversation became a ticket (or a ticket was made with its
        /// conversation). Not in the plugin contract yet.
        TicketCreated = "ticket.created",
        /// A ticket moved to another status. Not in the plugin contract yet.
        TicketStatusChanged = "ticket.status_changed",
    }
);
