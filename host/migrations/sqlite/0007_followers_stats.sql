-- Members following a conversation besides its assignee.
CREATE TABLE followers (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    added_by TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, agent_id)
);

-- For statistics: when an agent first answered, and when it was closed.
ALTER TABLE conversations ADD COLUMN first_response_at INTEGER;
ALTER TABLE conversations ADD COLUMN closed_at INTEGER;
