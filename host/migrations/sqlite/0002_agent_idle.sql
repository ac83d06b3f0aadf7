-- When an agent last finished a conversation: with `available_since`, it
-- tells how long an agent has been waiting for work.
ALTER TABLE agents ADD COLUMN freed_at INTEGER;
