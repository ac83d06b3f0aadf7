-- What a POST sent with an Idempotency-Key answered, so that a channel's
-- retry of it gets the first answer and creates nothing. A row without a
-- status is a request still running (or one whose process died mid-way:
-- its key stays taken until it expires, rather than risk a second copy).
-- Keys are a tenant's own and kept for a day.
CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- The method, route and body the key was first used with.
    fingerprint TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
