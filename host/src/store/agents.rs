//! Teams and agents, with presence and the load figures strategies need.

use std::collections::HashMap;

use sqlx::Row;

use super::{Result, Store, StoreError};
use crate::domain::{
    AgentId, AgentRecord, BusinessHours, Capacity, Channel, Millis, NewAgent, Presence, Role,
    TeamId, TeamRecord, TeamUses, TenantId, TicketAccess,
};

impl Store {
    pub async fn create_team(&self, tenant: &TenantId, name: &str) -> Result<TeamRecord> {
        let team = TeamRecord {
            id: TeamId::generate(),
            name: name.to_owned(),
            hours: None,
            created_at: self.now(),
        };
        self.execute_write(
            sqlx::query(
                "INSERT INTO teams (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(team.id.as_str())
            .bind(tenant.as_str())
            .bind(name)
            .bind(team.created_at.0),
        )
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, "a team with this name exists"))?;
        Ok(team)
    }

    pub async fn list_teams(&self, tenant: &TenantId) -> Result<Vec<TeamRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, hours, created_at FROM teams WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(TeamRecord {
                    id: TeamId::parse(row.get("id")).ok()?,
                    name: row.get("name"),
                    hours: row
                        .get::<Option<String>, _>("hours")
                        .and_then(|h| serde_json::from_str(&h).ok()),
                    created_at: Millis(row.get("created_at")),
                })
            })
            .collect())
    }

    /// Set or clear a team's business hours; `false` if there is no such team.
    pub async fn set_team_hours(
        &self,
        tenant: &TenantId,
        team: &TeamId,
        hours: Option<&BusinessHours>,
    ) -> Result<bool> {
        let done = self
            .execute_write(
                sqlx::query("UPDATE teams SET hours = $1 WHERE tenant_id = $2 AND id = $3")
                    .bind(hours.map(|h| h.to_json().to_string()))
                    .bind(tenant.as_str())
                    .bind(team.as_str()),
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A team's business hours, if it has any.
    pub async fn team_hours(
        &self,
        tenant: &TenantId,
        team: &TeamId,
    ) -> Result<Option<BusinessHours>> {
        let row = sqlx::query("SELECT hours FROM teams WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(team.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .and_then(|r| r.get::<Option<String>, _>("hours"))
            .and_then(|text| serde_json::from_str(&text).ok())
            .and_then(|value| BusinessHours::parse(&value).ok()))
    }

    /// Whether `team` belongs to `tenant`.
    pub async fn team_exists(&self, tenant: &TenantId, team: &TeamId) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM teams WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(team.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// Create an agent (offline until they say otherwise) and their team links, in one transaction.
    pub async fn create_agent(&self, tenant: &TenantId, agent: NewAgent) -> Result<AgentRecord> {
        let id = AgentId::generate();
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        sqlx::query(
            "INSERT INTO agents (id, tenant_id, name, email, role, presence, capacity,
                ticket_access, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(&agent.name)
        .bind(&agent.email)
        .bind(agent.role.as_str())
        .bind(Presence::Offline.as_str())
        .bind(agent.capacity.to_json())
        .bind(agent.ticket_access.as_str())
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, "an agent with this email exists"))?;
        for team in &agent.teams {
            sqlx::query("INSERT INTO agent_teams (agent_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id.as_str())
                .bind(team.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(AgentRecord {
            id,
            name: agent.name,
            email: agent.email,
            role: agent.role,
            presence: Presence::Offline,
            teams: agent.teams,
            capacity: agent.capacity,
            ticket_access: agent.ticket_access,
            load: HashMap::new(),
            available_since: None,
            freed_at: None,
            last_assigned_at: None,
            handled: 0,
            created_at: now,
        })
    }

    /// Every agent of the tenant with teams and current load, ordered by
    /// id; removed agents are not among them.
    pub async fn list_agents(&self, tenant: &TenantId) -> Result<Vec<AgentRecord>> {
        self.agents_of(tenant, None).await
    }

    /// One agent of the tenant, as [`Store::list_agents`] has them: read
    /// alone, not picked out of the whole list.
    pub async fn get_agent(&self, tenant: &TenantId, id: &AgentId) -> Result<Option<AgentRecord>> {
        Ok(self.agents_of(tenant, Some(id)).await?.pop())
    }

    /// The tenant's agents not removed, or just `only`.
    async fn agents_of(
        &self,
        tenant: &TenantId,
        only: Option<&AgentId>,
    ) -> Result<Vec<AgentRecord>> {
        let only = only.map(AgentId::as_str);
        // Three reads side by side, each its own round trip.
        let (rows, team_rows, load_rows) = tokio::try_join!(
            sqlx::query(
                "SELECT id, name, email, role, presence, capacity, available_since, freed_at, last_assigned_at,
                        handled, ticket_access, created_at
                 FROM agents WHERE tenant_id = $1 AND removed_at IS NULL
                   AND ($2 IS NULL OR id = $3)
                 ORDER BY id",
            )
            .bind(tenant.as_str())
            .bind(only)
            .bind(only)
            .fetch_all(&self.pool),
            sqlx::query(
                "SELECT at.agent_id, at.team_id FROM agent_teams at
                 JOIN agents a ON a.id = at.agent_id
                 WHERE a.tenant_id = $1 AND ($2 IS NULL OR a.id = $3)
                 ORDER BY at.team_id",
            )
            .bind(tenant.as_str())
            .bind(only)
            .bind(only)
            .fetch_all(&self.pool),
            // The counter the conversation triggers keep (migration 0040).
            sqlx::query(
                "SELECT l.agent_id AS assignee_id, l.channel, l.open_count AS n FROM agent_load l
                 JOIN agents a ON a.id = l.agent_id
                 WHERE a.tenant_id = $1 AND ($2 IS NULL OR a.id = $3) AND l.open_count > 0",
            )
            .bind(tenant.as_str())
            .bind(only)
            .bind(only)
            .fetch_all(&self.pool),
        )?;
        let mut teams: HashMap<String, Vec<TeamId>> = HashMap::new();
        for row in team_rows {
            if let Ok(team) = TeamId::parse(row.get("team_id")) {
                teams.entry(row.get("agent_id")).or_default().push(team);
            }
        }
        let mut load: HashMap<String, HashMap<Channel, u32>> = HashMap::new();
        for row in load_rows {
            if let Ok(channel) = Channel::parse(row.get("channel")) {
                let n: i64 = row.get("n");
                load.entry(row.get("assignee_id"))
                    .or_default()
                    .insert(channel, u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let id: String = row.get("id");
                Some(AgentRecord {
                    id: AgentId::parse(&id).ok()?,
                    name: row.get("name"),
                    email: row.get("email"),
                    role: Role::parse(row.get("role")).ok()?,
                    presence: Presence::parse(row.get("presence")).ok()?,
                    teams: teams.remove(&id).unwrap_or_default(),
                    capacity: Capacity::from_json(row.get("capacity")),
                    ticket_access: TicketAccess::parse(row.get("ticket_access"))
                        .unwrap_or(TicketAccess::Own),
                    load: load.remove(&id).unwrap_or_default(),
                    available_since: row.get::<Option<i64>, _>("available_since").map(Millis),
                    freed_at: row.get::<Option<i64>, _>("freed_at").map(Millis),
                    last_assigned_at: row.get::<Option<i64>, _>("last_assigned_at").map(Millis),
                    handled: u32::try_from(row.get::<i64, _>("handled")).unwrap_or(0),
                    created_at: Millis(row.get("created_at")),
                })
            })
            .collect())
    }

    /// Whether `agent` belongs to `tenant` and is not removed (cheaper
    /// than loading it).
    pub async fn agent_exists(&self, tenant: &TenantId, agent: &AgentId) -> Result<bool> {
        let found = sqlx::query(
            "SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2 AND removed_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Change presence and write the event in one transaction. Returns the
    /// event id, or `None` if the agent is not the tenant's.
    pub async fn set_presence(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        presence: Presence,
    ) -> Result<Option<i64>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        // `available_since` keeps the moment the agent last became available,
        // which is what longest-waiting strategies order by.
        let updated = sqlx::query(
            "UPDATE agents SET
                available_since = CASE
                    WHEN $1 = 'available' AND presence <> 'available' THEN $2
                    WHEN $3 = 'available' THEN available_since
                    ELSE NULL END,
                presence = $4
             WHERE tenant_id = $5 AND id = $6 AND removed_at IS NULL",
        )
        .bind(presence.as_str())
        .bind(now.0)
        .bind(presence.as_str())
        .bind(presence.as_str())
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let event = super::events::insert_event(
            &mut tx,
            tenant,
            crate::domain::EventKind::AgentStatusChanged,
            None,
            Some(agent),
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(event))
    }

    /// Write an agent as an admin changed them: name, role, capacity,
    /// ticket access and the whole set of teams, in one transaction. With
    /// `retry_queue` (the change may let them take waiting work), a
    /// `queue.retry` event is written with it and its id returned.
    pub async fn update_agent(
        &self,
        tenant: &TenantId,
        agent: &AgentRecord,
        retry_queue: bool,
    ) -> Result<Option<i64>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        sqlx::query(
            "UPDATE agents SET name = $1, role = $2, capacity = $3, ticket_access = $4
             WHERE tenant_id = $5 AND id = $6",
        )
        .bind(&agent.name)
        .bind(agent.role.as_str())
        .bind(agent.capacity.to_json())
        .bind(agent.ticket_access.as_str())
        .bind(tenant.as_str())
        .bind(agent.id.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM agent_teams WHERE agent_id = $1")
            .bind(agent.id.as_str())
            .execute(&mut *tx)
            .await?;
        for team in &agent.teams {
            sqlx::query("INSERT INTO agent_teams (agent_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(agent.id.as_str())
                .bind(team.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let event = if retry_queue {
            let retry = crate::domain::EventKind::QueueRetry;
            let event = super::events::insert_event(
                &mut tx,
                tenant,
                retry,
                None,
                Some(&agent.id),
                None,
                now,
            )
            .await?;
            Some(event)
        } else {
            None
        };
        tx.commit().await?;
        Ok(event)
    }

    /// Rename a team; `false` if there is no such team.
    pub async fn rename_team(&self, tenant: &TenantId, team: &TeamId, name: &str) -> Result<bool> {
        let done = self
            .execute_write(
                sqlx::query("UPDATE teams SET name = $1 WHERE tenant_id = $2 AND id = $3")
                    .bind(name)
                    .bind(tenant.as_str())
                    .bind(team.as_str()),
            )
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, "a team with this name exists"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Delete a team if nothing uses it ([`TeamUses`]), counted in the
    /// same transaction so that no member or rule can arrive in between.
    /// `None` if there is no such team; otherwise what used it (nothing,
    /// when it was deleted).
    pub async fn delete_team(&self, tenant: &TenantId, team: &TeamId) -> Result<Option<TeamUses>> {
        let mut tx = self.write_for(tenant).await?;
        let exists = sqlx::query("SELECT 1 FROM teams WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(team.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(None);
        }
        let mut counts = [0u64; 3];
        let queries = [
            "SELECT COUNT(*) AS n FROM agent_teams at JOIN agents a ON a.id = at.agent_id
             WHERE a.tenant_id = $1 AND at.team_id = $2 AND a.removed_at IS NULL",
            "SELECT COUNT(*) AS n FROM conversations
             WHERE tenant_id = $1 AND team_id = $2 AND status <> 'closed'",
            // Team ids are random and unique, so finding one in a rule's
            // target finds the rules that send work to it.
            "SELECT COUNT(*) AS n FROM rules WHERE tenant_id = $1 AND target LIKE '%' || $2 || '%'",
        ];
        for (count, sql) in counts.iter_mut().zip(queries) {
            let row = sqlx::query(sql)
                .bind(tenant.as_str())
                .bind(team.as_str())
                .fetch_one(&mut *tx)
                .await?;
            *count = u64::try_from(row.get::<i64, _>("n")).unwrap_or(0);
        }
        let uses = TeamUses {
            members: counts[0],
            open_conversations: counts[1],
            rules: counts[2],
        };
        if uses.refusal().is_none() {
            // Only removed agents can still be linked to it: they come
            // back without it if restored.
            sqlx::query("DELETE FROM agent_teams WHERE team_id = $1")
                .bind(team.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM teams WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(team.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(Some(uses))
    }
}
