-- An agent's work (open conversations per channel, when they were last
-- given one, how many they handled, when they were last freed) changes on
-- nearly every routing decision; who they are (name, role, presence,
-- capacity, teams) seldom does. Under one counter, every assignment made
-- every process read the whole list of agents again. Work now counts under
-- a counter of its own, and every row it changes is stamped with the value
-- that change gave it, so a process holding the agents in memory reads only
-- the agents whose work moved since the value it holds. The counter's row
-- stays locked until the writer commits, so a tenant's stamps are given in
-- the order their transactions commit.
ALTER TABLE state_versions ADD COLUMN work BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN work_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_load ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Raise a tenant's work counter and return its new value.
CREATE FUNCTION state_versions_work(tenant TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    raised BIGINT;
BEGIN
    INSERT INTO state_versions (tenant_id, config, agents, work) VALUES (tenant, 0, 0, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET work = state_versions.work + 1
    RETURNING work INTO raised;
    RETURN raised;
END;
$$;

-- Who the agent is: every column but the work ones and the stamp.
DROP TRIGGER agents_version ON agents;
CREATE TRIGGER agents_version AFTER INSERT OR DELETE ON agents
FOR EACH ROW EXECUTE FUNCTION state_versions_agents();
CREATE TRIGGER agents_roster_version
AFTER UPDATE OF id, tenant_id, name, email, role, presence, capacity, available_since,
    ticket_access, removed_at, created_at ON agents
FOR EACH ROW EXECUTE FUNCTION state_versions_agents();

CREATE FUNCTION agents_work_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.work_version := state_versions_work(NEW.tenant_id);
    RETURN NEW;
END;
$$;

CREATE TRIGGER agents_work_version
BEFORE UPDATE OF last_assigned_at, handled, freed_at ON agents
FOR EACH ROW EXECUTE FUNCTION agents_work_stamp();

CREATE FUNCTION agent_load_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant TEXT;
BEGIN
    SELECT tenant_id INTO tenant FROM agents WHERE id = NEW.agent_id;
    IF tenant IS NOT NULL THEN
        NEW.version := state_versions_work(tenant);
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER agent_load_version ON agent_load;
CREATE TRIGGER agent_load_version BEFORE INSERT OR UPDATE OF open_count ON agent_load
FOR EACH ROW EXECUTE FUNCTION agent_load_stamp();
