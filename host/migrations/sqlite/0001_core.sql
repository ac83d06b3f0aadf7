-- Baton core schema. Times are INTEGER milliseconds since the Unix epoch.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Only a hash of the key is kept: a leaked database leaks no credentials.
    api_key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    presence TEXT NOT NULL,
    capacity TEXT NOT NULL,
    available_since INTEGER,
    last_assigned_at INTEGER,
    handled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, email)
);

CREATE TABLE agent_teams (
    agent_id TEXT NOT NULL REFERENCES agents(id),
    team_id TEXT NOT NULL REFERENCES teams(id),
    PRIMARY KEY (agent_id, team_id)
);

CREATE TABLE bots (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    channels TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    channel TEXT NOT NULL,
    subject TEXT,
    contact_name TEXT,
    contact_email TEXT,
    attributes TEXT NOT NULL,
    status TEXT NOT NULL,
    routing TEXT NOT NULL,
    assignee_kind TEXT,
    assignee_id TEXT,
    team_id TEXT,
    queued_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX conversations_by_tenant ON conversations (tenant_id, created_at);
CREATE INDEX conversations_queue ON conversations (tenant_id, routing, queued_at);
CREATE INDEX conversations_by_assignee ON conversations (tenant_id, assignee_id, status);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    internal INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at);

CREATE TABLE conversation_tags (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);

-- Every change of owner, automatic or manual, with who decided and why.
CREATE TABLE assignment_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    assignee_kind TEXT,
    assignee_id TEXT,
    team_id TEXT,
    decided_by TEXT NOT NULL,
    plugin_name TEXT,
    plugin_version TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX history_by_conversation ON assignment_history (conversation_id, id);

-- The outbox: a change and its event are written in one transaction.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    conversation_id TEXT,
    agent_id TEXT,
    message_id TEXT,
    created_at INTEGER NOT NULL,
    processed_at INTEGER,
    outcome TEXT
);
CREATE INDEX events_pending ON events (processed_at, id);

-- Compiled once, never on the hot path: the source bytes are kept so a new
-- engine can recompile them; the artefact is keyed by the engine's hash.
CREATE TABLE components (
    sha256 TEXT PRIMARY KEY,
    wasm BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE artifacts (
    sha256 TEXT NOT NULL REFERENCES components(sha256),
    engine_hash TEXT NOT NULL,
    compiled BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (sha256, engine_hash)
);

-- Built-in plugins have no tenant and use their name as id.
CREATE TABLE plugins (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id),
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    config_schema TEXT NOT NULL,
    subscribes TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES components(sha256),
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX plugins_unique_version ON plugins (COALESCE(tenant_id, ''), name, version);

-- A binding history per slot: the newest row not rolled back is in force.
CREATE TABLE bindings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    slot TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    rolled_back_at INTEGER
);
CREATE INDEX bindings_by_slot ON bindings (tenant_id, slot, id);

CREATE TABLE plugin_kv (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    plugin_name TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (tenant_id, plugin_name, key)
);

CREATE TABLE plugin_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    event_id INTEGER,
    conversation_id TEXT,
    plugin_name TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    failure TEXT NOT NULL,
    message TEXT NOT NULL,
    fallback TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX failures_by_tenant ON plugin_failures (tenant_id, id);

CREATE TABLE offers (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, agent_id)
);

-- Workflow outputs waiting for delivery.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    conversation_id TEXT,
    recipient TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    conversation_id TEXT REFERENCES conversations(id),
    subject TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
