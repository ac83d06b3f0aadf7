-- Two counters per tenant that every write to routing's hot state raises, so
-- a process can keep that state in memory and know, with one small read,
-- whether it is still exact, whichever process made the write:
--   config: bindings, plugins, rules and settings;
--   agents: agents, their teams and their load.
-- Plugins every tenant shares (the built-ins, no tenant) count under '*'.
-- Triggers keep the counters, so no write path can forget one.
CREATE TABLE state_versions (
    tenant_id TEXT PRIMARY KEY,
    config BIGINT NOT NULL,
    agents BIGINT NOT NULL
);

CREATE FUNCTION state_versions_config() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN tenant := OLD.tenant_id; ELSE tenant := NEW.tenant_id; END IF;
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (COALESCE(tenant, '*'), 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER bindings_config AFTER INSERT OR UPDATE OR DELETE ON bindings
FOR EACH ROW EXECUTE FUNCTION state_versions_config();
CREATE TRIGGER plugins_config AFTER INSERT OR UPDATE OR DELETE ON plugins
FOR EACH ROW EXECUTE FUNCTION state_versions_config();
CREATE TRIGGER rules_config AFTER INSERT OR UPDATE OR DELETE ON rules
FOR EACH ROW EXECUTE FUNCTION state_versions_config();
CREATE TRIGGER settings_config AFTER INSERT OR UPDATE OR DELETE ON tenant_settings
FOR EACH ROW EXECUTE FUNCTION state_versions_config();

CREATE FUNCTION state_versions_agents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN tenant := OLD.tenant_id; ELSE tenant := NEW.tenant_id; END IF;
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (tenant, 0, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER agents_version AFTER INSERT OR UPDATE OR DELETE ON agents
FOR EACH ROW EXECUTE FUNCTION state_versions_agents();

-- Team membership and load rows name an agent, not a tenant.
CREATE FUNCTION state_versions_agent_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    agent TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN agent := OLD.agent_id; ELSE agent := NEW.agent_id; END IF;
    INSERT INTO state_versions (tenant_id, config, agents)
    SELECT tenant_id, 0, 1 FROM agents WHERE id = agent
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER agent_teams_version AFTER INSERT OR DELETE ON agent_teams
FOR EACH ROW EXECUTE FUNCTION state_versions_agent_rows();
CREATE TRIGGER agent_load_version AFTER INSERT OR UPDATE ON agent_load
FOR EACH ROW EXECUTE FUNCTION state_versions_agent_rows();
