-- Every decision counts each agent's open conversations per channel; this
-- index answers that from the index alone, without a sort.
CREATE INDEX conversations_open_load ON conversations (tenant_id, status, assignee_kind, assignee_id, channel);
