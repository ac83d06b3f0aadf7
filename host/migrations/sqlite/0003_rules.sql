-- Assignment rules, evaluated top to bottom; the first match decides.
CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    conditions TEXT NOT NULL,
    target TEXT NOT NULL,
    method TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX rules_by_position ON rules (tenant_id, position);

-- Every change to the rules, deletions included (the API asks for no
-- confirmation, so the record is the safety net).
CREATE TABLE rule_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    rule_id TEXT NOT NULL,
    action TEXT NOT NULL,
    rule TEXT NOT NULL,
    at INTEGER NOT NULL
);

ALTER TABLE assignment_history ADD COLUMN rule_name TEXT;
ALTER TABLE conversations ADD COLUMN contact_owner TEXT;
