-- An admin removes an agent without losing what they did: the row stays
-- (assignment history, messages, notes and closed work still name them),
-- marked with when it was removed. A removed agent is no one's candidate,
-- holds no token and can be restored.
ALTER TABLE agents ADD COLUMN removed_at BIGINT;
