-- Workflow timers belong to a workflow (by plugin name) and carry the name
-- the workflow gave them; several may be pending on one conversation.
ALTER TABLE timers ADD COLUMN plugin TEXT;
ALTER TABLE timers ADD COLUMN name TEXT;
-- How deep in a chain of events the event that started the timer was: a
-- timer's event continues the chain, so a loop through timers stops too.
ALTER TABLE timers ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
DROP INDEX timers_one_pending;
CREATE UNIQUE INDEX timers_one_pending
    ON timers (conversation_id, kind, COALESCE(plugin, ''), COALESCE(name, ''))
    WHERE fired_at IS NULL AND cancelled_at IS NULL;

-- An event caused while handling another is one deeper; workflows stop
-- running past a limit, which is how a loop between workflows ends.
ALTER TABLE events ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
-- Details some kinds carry (a fired timer's workflow and name), as JSON.
ALTER TABLE events ADD COLUMN detail TEXT;

-- What each workflow did with each event: the actions it returned, or why
-- it did nothing.
CREATE TABLE workflow_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    event_id INTEGER,
    event_kind TEXT NOT NULL,
    conversation_id TEXT,
    plugin_name TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    actions TEXT NOT NULL,
    error TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX workflow_runs_by_tenant ON workflow_runs (tenant_id, id);
CREATE INDEX workflow_runs_by_conversation ON workflow_runs (conversation_id, id);
