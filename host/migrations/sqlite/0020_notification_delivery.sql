-- Notification delivery: a notification per member and event, and a
-- delivery row per channel, written in the same transaction as the change
-- that caused them (the outbox). The delivery worker sends due rows and
-- marks them; every channel carries the notification's public id, so a
-- receiver de-duplicates a delivery repeated after a crash.

-- The table is rebuilt: the old one addressed recipients as JSON text and
-- had no type or public id.
CREATE TABLE notifications_v2 (
    -- The order of the in-app stream (`Last-Event-ID` replays after it).
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- ntf_…: what receivers see and de-duplicate by.
    public_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    kind TEXT NOT NULL,
    conversation_id TEXT,
    message_id TEXT,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    -- A notice recorded at most once per member and key (one missed-chat
    -- notice per conversation, one new-in-team notice per team it enters).
    once_key TEXT,
    created_at INTEGER NOT NULL
);

INSERT INTO notifications_v2 (public_id, tenant_id, agent_id, kind, conversation_id, title,
        message, created_at)
    SELECT 'ntf_' || lower(hex(randomblob(16))), n.tenant_id, json_extract(n.recipient, '$.agent'),
        CASE WHEN n.message LIKE 'You were mentioned%' THEN 'mention' ELSE 'workflow' END,
        n.conversation_id, n.message, n.message, n.created_at
    FROM notifications n
    JOIN agents a ON a.id = json_extract(n.recipient, '$.agent') AND a.tenant_id = n.tenant_id
    WHERE json_valid(n.recipient) AND json_type(n.recipient) = 'object'
    ORDER BY n.id;

DROP TABLE notifications;
ALTER TABLE notifications_v2 RENAME TO notifications;

CREATE INDEX notifications_by_agent ON notifications (tenant_id, agent_id, id);
CREATE INDEX notifications_by_conversation ON notifications (conversation_id);
CREATE UNIQUE INDEX notifications_once ON notifications (agent_id, once_key)
    WHERE once_key IS NOT NULL;

CREATE TABLE notification_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Deleting a conversation for good deletes its notifications and these.
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- When the next attempt may start. Claiming an attempt moves it to the
    -- retry time first, so a crash mid-send retries then instead of never.
    due_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER,
    updated_at INTEGER NOT NULL,
    UNIQUE (notification_id, channel)
);
CREATE INDEX deliveries_due ON notification_deliveries (due_at) WHERE state = 'pending';

-- Each member's channels per type and their webhook addresses; absent
-- means the defaults.
CREATE TABLE notification_settings (
    agent_id TEXT PRIMARY KEY REFERENCES agents(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    types TEXT NOT NULL,
    chat_webhook_url TEXT,
    push_webhook_url TEXT,
    updated_at INTEGER NOT NULL
);
