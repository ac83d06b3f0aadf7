-- Each agent's open conversations per channel, kept as a counter instead of
-- counting every open conversation on each routing decision. What counts is
-- the domain's rule (`ConversationStatus::holds_capacity`): an open
-- conversation whose assignee is an agent. The triggers below keep the
-- counter exact on every write to a conversation, whichever code path makes
-- it (assignment, transfer, close, snooze, merge, delete).
CREATE TABLE agent_load (
    agent_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    open_count INTEGER NOT NULL,
    PRIMARY KEY (agent_id, channel)
);

INSERT INTO agent_load (agent_id, channel, open_count)
SELECT assignee_id, channel, COUNT(*) FROM conversations
WHERE status = 'open' AND assignee_kind = 'agent' AND assignee_id IS NOT NULL
GROUP BY assignee_id, channel;

CREATE TRIGGER agent_load_insert AFTER INSERT ON conversations
WHEN new.status = 'open' AND new.assignee_kind = 'agent' AND new.assignee_id IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO agent_load (agent_id, channel, open_count) VALUES (new.assignee_id, new.channel, 0);
    UPDATE agent_load SET open_count = open_count + 1 WHERE agent_id = new.assignee_id AND channel = new.channel;
END;

CREATE TRIGGER agent_load_delete AFTER DELETE ON conversations
WHEN old.status = 'open' AND old.assignee_kind = 'agent' AND old.assignee_id IS NOT NULL
BEGIN
    UPDATE agent_load SET open_count = open_count - 1 WHERE agent_id = old.assignee_id AND channel = old.channel;
END;

-- An update moves the conversation's count from its old key to its new one
-- (when it counted before, and when it counts after).
CREATE TRIGGER agent_load_update_old AFTER UPDATE OF status, assignee_kind, assignee_id, channel ON conversations
WHEN old.status = 'open' AND old.assignee_kind = 'agent' AND old.assignee_id IS NOT NULL
BEGIN
    UPDATE agent_load SET open_count = open_count - 1 WHERE agent_id = old.assignee_id AND channel = old.channel;
END;

CREATE TRIGGER agent_load_update_new AFTER UPDATE OF status, assignee_kind, assignee_id, channel ON conversations
WHEN new.status = 'open' AND new.assignee_kind = 'agent' AND new.assignee_id IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO agent_load (agent_id, channel, open_count) VALUES (new.assignee_id, new.channel, 0);
    UPDATE agent_load SET open_count = open_count + 1 WHERE agent_id = new.assignee_id AND channel = new.channel;
END;
