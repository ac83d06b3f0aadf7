-- An agent's work (open conversations per channel, when they were last
-- given one, how many they handled, when they were last freed) changes on
-- nearly every routing decision; who they are (name, role, presence,
-- capacity, teams) seldom does. Under one counter, every assignment made
-- every process read the whole list of agents again. Work now counts under
-- a counter of its own, and every row it changes is stamped with the value
-- that change gave it, so a process holding the agents in memory reads only
-- the agents whose work moved since the value it holds.
ALTER TABLE state_versions ADD COLUMN work BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN work_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_load ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Who the agent is: every column but the work ones and the stamp.
DROP TRIGGER agents_version_update;
CREATE TRIGGER agents_version_update
AFTER UPDATE OF id, tenant_id, name, email, role, presence, capacity, available_since,
    ticket_access, removed_at, created_at ON agents
BEGIN
    INSERT INTO state_versions (tenant_id, config, agents) VALUES (new.tenant_id, 0, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET agents = state_versions.agents + 1;
END;

CREATE TRIGGER agents_work_update AFTER UPDATE OF last_assigned_at, handled, freed_at ON agents
BEGIN
    INSERT INTO state_versions (tenant_id, config, agents, work) VALUES (new.tenant_id, 0, 0, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET work = state_versions.work + 1;
    UPDATE agents SET work_version = (SELECT work FROM state_versions WHERE tenant_id = new.tenant_id)
    WHERE id = new.id;
END;

-- Load rows count as work. Stamping a row is an update of its version
-- alone, which fires no trigger of open_count; a row inserted is stamped by
-- the update trigger, through an update of its count to itself (SQLite's
-- triggers cannot share a body).
DROP TRIGGER agent_load_version_insert;
DROP TRIGGER agent_load_version_update;
CREATE TRIGGER agent_load_version_update AFTER UPDATE OF open_count ON agent_load BEGIN
    INSERT INTO state_versions (tenant_id, config, agents, work)
    SELECT tenant_id, 0, 0, 1 FROM agents WHERE id = new.agent_id
    ON CONFLICT (tenant_id) DO UPDATE SET work = state_versions.work + 1;
    UPDATE agent_load SET version = (
        SELECT sv.work FROM state_versions sv JOIN agents a ON a.tenant_id = sv.tenant_id
        WHERE a.id = new.agent_id
    ) WHERE agent_id = new.agent_id AND channel = new.channel;
END;
CREATE TRIGGER agent_load_version_insert AFTER INSERT ON agent_load BEGIN
    UPDATE agent_load SET open_count = open_count
    WHERE agent_id = new.agent_id AND channel = new.channel;
END;
