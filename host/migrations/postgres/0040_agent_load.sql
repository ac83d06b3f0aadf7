-- Each agent's open conversations per channel, kept as a counter instead of
-- counting every open conversation on each routing decision. What counts is
-- the domain's rule (`ConversationStatus::holds_capacity`): an open
-- conversation whose assignee is an agent. The trigger below keeps the
-- counter exact on every write to a conversation, whichever code path makes
-- it (assignment, transfer, close, snooze, merge, delete).
CREATE TABLE agent_load (
    agent_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    open_count BIGINT NOT NULL,
    PRIMARY KEY (agent_id, channel)
);

INSERT INTO agent_load (agent_id, channel, open_count)
SELECT assignee_id, channel, COUNT(*) FROM conversations
WHERE status = 'open' AND assignee_kind = 'agent' AND assignee_id IS NOT NULL
GROUP BY assignee_id, channel;

-- An update moves the conversation's count from its old key to its new one
-- (when it counted before, and when it counts after).
CREATE FUNCTION agent_load_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'open'
       AND OLD.assignee_kind = 'agent' AND OLD.assignee_id IS NOT NULL THEN
        UPDATE agent_load SET open_count = open_count - 1
        WHERE agent_id = OLD.assignee_id AND channel = OLD.channel;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'open'
       AND NEW.assignee_kind = 'agent' AND NEW.assignee_id IS NOT NULL THEN
        INSERT INTO agent_load (agent_id, channel, open_count)
        VALUES (NEW.assignee_id, NEW.channel, 1)
        ON CONFLICT (agent_id, channel) DO UPDATE SET open_count = agent_load.open_count + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER agent_load_follow
AFTER INSERT OR DELETE OR UPDATE OF status, assignee_kind, assignee_id, channel ON conversations
FOR EACH ROW EXECUTE FUNCTION agent_load_follow();
