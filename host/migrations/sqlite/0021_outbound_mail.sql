-- A ticket's replies e-mailed to its contact: a row per reply, written in
-- the reply's transaction (the outbox) and sent by the delivery worker
-- with the same retries as notification deliveries. The e-mail's
-- Message-ID is the reply's, so a receiver de-duplicates a repeat sent
-- after a crash, and the customer's answer threads back to the ticket.
CREATE TABLE outbound_mail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    -- Deleting the conversation (and so the message) for good deletes this.
    message_id TEXT NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
    to_address TEXT NOT NULL,
    to_name TEXT,
    subject TEXT NOT NULL,
    -- The reply's Message-ID, and the customer message's it answers.
    email_message_id TEXT NOT NULL,
    in_reply_to TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER,
    updated_at INTEGER NOT NULL
);

CREATE INDEX outbound_mail_due ON outbound_mail (state, due_at);
