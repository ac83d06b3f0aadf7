-- Which process dispatches a tenant's events, and until when. Several
-- processes share one database; each handles only the events of tenants
-- whose lease it holds, so a tenant's events are handled once and in order.
-- A process that stops renewing (it died) loses its leases when they
-- expire, and another process takes them over.
CREATE TABLE dispatch_leases (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX dispatch_leases_by_holder ON dispatch_leases (holder);
