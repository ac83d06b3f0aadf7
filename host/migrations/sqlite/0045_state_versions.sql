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

CREATE TRIGGER bindings_config_insert AFTER INSERT ON bindings BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;
CREATE TRIGGER bindings_config_update AFTER UPDATE ON bindings BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;
CREATE TRIGGER bindings_config_delete AFTER DELETE ON bindings BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (old.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;

CREATE TRIGGER plugins_config_insert AFTER INSERT ON plugins BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (COALESCE(new.tenant_id, '*'), 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;
CREATE TRIGGER plugins_config_update AFTER UPDATE ON plugins BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (COALESCE(new.tenant_id, '*'), 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;
CREATE TRIGGER plugins_config_delete AFTER DELETE ON plugins BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (COALESCE(old.tenant_id, '*'), 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;

CREATE TRIGGER rules_config_insert AFTER INSERT ON rules BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;
CREATE TRIGGER rules_config_update AFTER UPDATE ON rules BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;
CREATE TRIGGER rules_config_delete AFTER DELETE ON rules BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (old.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;

CREATE TRIGGER settings_config_insert AFTER INSERT ON tenant_settings BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;
CREATE TRIGGER settings_config_update AFTER UPDATE ON tenant_settings BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;
CREATE TRIGGER settings_config_delete AFTER DELETE ON tenant_settings BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (old.tenant_id, 1, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET config = state_versions.config + 1;
END;

CREATE TRIGGER agents_version_insert AFTER INSERT ON agents BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 0, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
END;
CREATE TRIGGER agents_version_update AFTER UPDATE ON agents BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 0, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
END;
CREATE TRIGGER agents_version_delete AFTER DELETE ON agents BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (old.tenant_id, 0, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
END;

-- Team membership and load rows name an agent, not a tenant.
CREATE TRIGGER agent_teams_version_insert AFTER INSERT ON agent_teams BEGIN
    INSERT INTO state_versions (tenant_id, config, agents)
    SELECT tenant_id, 0, 1 FROM agents WHERE id = new.agent_id
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
END;
CREATE TRIGGER agent_teams_version_delete AFTER DELETE ON agent_teams BEGIN
    INSERT INTO state_versions (tenant_id, config, agents)
    SELECT tenant_id, 0, 1 FROM agents WHERE id = old.agent_id
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
END;
CREATE TRIGGER agent_load_version_insert AFTER INSERT ON agent_load BEGIN
    INSERT INTO state_versions (tenant_id, config, agents)
    SELECT tenant_id, 0, 1 FROM agents WHERE id = new.agent_id
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
END;
CREATE TRIGGER agent_load_version_update AFTER UPDATE ON agent_load BEGIN
    INSERT INTO state_versions (tenant_id, config, agents)
    SELECT tenant_id, 0, 1 FROM agents WHERE id = new.agent_id
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
END;
