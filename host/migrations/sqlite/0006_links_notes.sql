-- The customer's link to a conversation carries this secret; it shows that
-- one conversation, without internal notes.
ALTER TABLE conversations ADD COLUMN customer_token TEXT;
CREATE UNIQUE INDEX conversations_customer_token ON conversations (customer_token);
-- A free-text note on the conversation (500 characters at most).
ALTER TABLE conversations ADD COLUMN note TEXT;

-- Free-text notes on a contact, who is known by e-mail within a tenant.
CREATE TABLE contact_notes (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    note TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, email)
);
