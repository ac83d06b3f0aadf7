-- The periodic queue sweep looks for queued conversations across every
-- tenant; this index holds only those rows, so the sweep reads the waiting
-- conversations and nothing else.
CREATE INDEX conversations_queued ON conversations (tenant_id)
    WHERE routing = 'queued' AND status = 'open';
