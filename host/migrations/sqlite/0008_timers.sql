-- Durable timers: a row per scheduled wake-up. A timer fires once: the
-- worker claims it (sets fired_at) in the same transaction as its effect,
-- so a crash or a second process can neither lose nor repeat it.
CREATE TABLE timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    conversation_id TEXT REFERENCES conversations(id),
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    fired_at INTEGER,
    cancelled_at INTEGER
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
-- At most one pending timer of a kind per conversation (one snooze, one
-- inactivity deadline).
CREATE UNIQUE INDEX timers_one_pending ON timers (conversation_id, kind)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;
