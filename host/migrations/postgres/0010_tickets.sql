-- Help-desk tickets. A ticket is a conversation with ticket properties: the
-- conversation keeps the thread, the owner (its assignee), the contact, the
-- priority and the followers; the ticket row adds what a help desk files it
-- by. The placeholder table from 0001 was never readable through the API.
DROP TABLE tickets;

-- Ordered lists of statuses. Every tenant gets a default pipeline the
-- first time it needs one.
CREATE TABLE pipelines (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    -- A 0/1 flag, an integer as in SQLite (not BOOLEAN).
    is_default BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (tenant_id) WHERE is_default = 1;

CREATE TABLE pipeline_stages (
    id TEXT PRIMARY KEY,
    pipeline_id TEXT NOT NULL REFERENCES pipelines(id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    -- A ticket in a closed status has its conversation closed (a 0/1 flag).
    closed BIGINT NOT NULL,
    -- JSON list of the properties a ticket needs to move into this status.
    requires TEXT NOT NULL
);
CREATE INDEX stages_by_pipeline ON pipeline_stages (pipeline_id, position);

CREATE TABLE companies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    domain TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations(id),
    name TEXT NOT NULL,
    pipeline_id TEXT NOT NULL REFERENCES pipelines(id),
    stage_id TEXT NOT NULL REFERENCES pipeline_stages(id),
    company_id TEXT REFERENCES companies(id),
    -- A JSON object of free properties.
    properties TEXT NOT NULL,
    -- The channel it came from, "manual" or "split".
    source TEXT NOT NULL,
    -- Merging empties a ticket into another; deleting the survivor for
    -- good takes the emptied ones with it.
    merged_into TEXT REFERENCES tickets(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tickets_by_stage ON tickets (tenant_id, pipeline_id, stage_id);

-- One unsent reply per member and ticket, seen only by its author.
CREATE TABLE ticket_drafts (
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, agent_id)
);
CREATE INDEX drafts_by_agent ON ticket_drafts (agent_id, updated_at);

-- The member who wrote an agent message (ticket replies and comments), the
-- RFC 5322 Message-ID of an e-mail sent or received, and the message a
-- reply answers. An inbound e-mail naming a known Message-ID joins its thread.
ALTER TABLE messages ADD COLUMN agent_id TEXT;
ALTER TABLE messages ADD COLUMN email_message_id TEXT;
ALTER TABLE messages ADD COLUMN reply_to TEXT;
CREATE INDEX messages_by_email_id ON messages (email_message_id)
    WHERE email_message_id IS NOT NULL;

-- A rule-based bot's conversations get no automatic ticket.
ALTER TABLE bots ADD COLUMN kind TEXT NOT NULL DEFAULT 'ai';

-- Which tickets a member sees: all, team or own.
ALTER TABLE agents ADD COLUMN ticket_access TEXT NOT NULL DEFAULT 'team';
UPDATE agents SET ticket_access = 'all' WHERE role = 'admin';

-- Member credentials: a request bearing one acts as that member. Only a
-- hash is kept, as for tenant API keys.
CREATE TABLE member_tokens (
    token_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    created_at BIGINT NOT NULL
);
