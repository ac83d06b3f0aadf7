-- Queue order: priority first (3 urgent .. 0 low), then oldest.
ALTER TABLE conversations ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
DROP INDEX conversations_queue;
CREATE INDEX conversations_queue ON conversations (tenant_id, routing, priority DESC, queued_at);

-- Per-tenant settings as JSON documents, one row per topic.
CREATE TABLE tenant_settings (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    topic TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, topic)
);

-- Agents who declined a queued conversation are not offered it again.
CREATE TABLE declines (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, agent_id)
);

-- Transfers to an agent wait for the receiver to accept.
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    from_agent TEXT,
    to_agent TEXT NOT NULL REFERENCES agents(id),
    note TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX transfers_pending ON transfers (conversation_id, status);
