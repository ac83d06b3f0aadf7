//! What agents are doing, read apart from who they are: the rows whose work
//! moved since a value of the tenant's work counter (migration 0048), so a
//! process holding the agents in memory reads a few rows per decision
//! instead of every agent with their teams and load.

use std::collections::HashMap;

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{AgentId, AgentWork, Channel, Millis, TenantId};

impl Store {
    /// The work of every agent of `tenant` (not removed) whose work moved
    /// after the tenant's work counter stood at `since`: each agent whole,
    /// with the load of every channel, however little of it moved.
    pub async fn agent_work_since(&self, tenant: &TenantId, since: i64) -> Result<Vec<AgentWork>> {
        // The tenant's agents are few and found by its index; the stamps
        // are compared per agent, so other tenants' rows are never read.
        let rows = sqlx::query(
            "SELECT a.id, a.last_assigned_at, a.freed_at, a.handled, l.channel, l.open_count
             FROM agents a LEFT JOIN agent_load l ON l.agent_id = a.id
             WHERE a.tenant_id = $1 AND a.removed_at IS NULL
               AND (a.work_version > $2 OR EXISTS (
                   SELECT 1 FROM agent_load m WHERE m.agent_id = a.id AND m.version > $3))
             ORDER BY a.id",
        )
        .bind(tenant.as_str())
        .bind(since)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut work: Vec<AgentWork> = Vec::new();
        for row in rows {
            let id: String = row.get("id");
            let Ok(id) = AgentId::parse(&id) else {
                continue;
            };
            if work.last().is_none_or(|w| w.id != id) {
                work.push(AgentWork {
                    id,
                    load: HashMap::new(),
                    freed_at: row.get::<Option<i64>, _>("freed_at").map(Millis),
                    last_assigned_at: row.get::<Option<i64>, _>("last_assigned_at").map(Millis),
                    handled: u32::try_from(row.get::<i64, _>("handled")).unwrap_or(0),
                });
            }
            let channel: Option<String> = row.get("channel");
            let open: Option<i64> = row.get("open_count");
            if let (Some(channel), Some(open)) = (channel, open)
                && let Ok(channel) = Channel::parse(&channel)
                && open > 0
            {
                let agent = work.last_mut().expect("pushed above");
                agent
                    .load
                    .insert(channel, u32::try_from(open).unwrap_or(u32::MAX));
            }
        }
        Ok(work)
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use crate::clock::Clock;
    use crate::domain::{Capacity, Channel, Millis, NewAgent, Role, TicketAccess};
    use crate::store::testing::TestDb;
    use crate::store::{Engine, Store};

    /// The columns whose writes raise the `agents` counter.
    const ROSTER: [&str; 11] = [
        "id",
        "tenant_id",
        "name",
        "email",
        "role",
        "presence",
        "capacity",
        "available_since",
        "ticket_access",
        "removed_at",
        "created_at",
    ];
    /// The columns whose writes raise the `work` counter.
    const WORK: [&str; 3] = ["last_assigned_at", "handled", "freed_at"];

    /// Migration 0048 splits the agents' columns between two counters by
    /// naming them in its triggers; a column added later and named in
    /// neither would change without any counter moving, and processes
    /// would keep deciding on its old value.
    #[tokio::test]
    async fn every_agents_column_counts_as_who_they_are_or_as_their_work() {
        for db in TestDb::all().await {
            let store = Store::connect(&db.url, Clock::manual(Millis(0)))
                .await
                .expect("store");
            let sql = match store.engine() {
                Engine::Sqlite => "SELECT name FROM pragma_table_info('agents')",
                Engine::Postgres => {
                    "SELECT column_name::text AS name FROM information_schema.columns
                     WHERE table_name = 'agents' AND table_schema = current_schema()"
                }
            };
            let columns: Vec<String> = sqlx::query(sql)
                .fetch_all(&store.pool)
                .await
                .expect("columns")
                .iter()
                .map(|row| row.get("name"))
                .collect();
            drop(store);
            db.drop_now().await;
            check(&columns);
        }
    }

    /// A load row is stamped whether it is inserted or its count updated,
    /// and only the agents whose work moved are read.
    #[tokio::test]
    async fn only_agents_whose_work_moved_are_read() {
        for db in TestDb::all().await {
            let store = Store::connect(&db.url, Clock::manual(Millis(0)))
                .await
                .expect("store");
            let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
            let tenant = tenant.id;
            let mut agents = Vec::new();
            for name in ["Ana", "Bo"] {
                let agent = NewAgent {
                    name: name.into(),
                    email: format!("{name}@example.com"),
                    role: Role::Agent,
                    teams: Vec::new(),
                    capacity: Capacity::parse(&serde_json::json!({"chat": 2})).expect("capacity"),
                    ticket_access: TicketAccess::Own,
                };
                agents.push(store.create_agent(&tenant, agent).await.expect("agent").id);
            }
            let before = store.state_versions(&tenant).await.expect("versions").work;
            assert!(
                store
                    .agent_work_since(&tenant, before)
                    .await
                    .expect("work")
                    .is_empty()
            );

            // A row inserted (as no code path does but the conversation
            // triggers) is stamped all the same.
            sqlx::query(
                "INSERT INTO agent_load (agent_id, channel, open_count) VALUES ($1, 'chat', 1)",
            )
            .bind(agents[1].as_str())
            .execute(&store.pool)
            .await
            .expect("insert");
            let inserted = store.state_versions(&tenant).await.expect("versions").work;
            assert!(inserted > before);
            let moved = store.agent_work_since(&tenant, before).await.expect("work");
            assert_eq!(moved.len(), 1, "{moved:?}");
            assert_eq!(moved[0].id, agents[1]);
            assert_eq!(moved[0].load.get(&Channel::Chat), Some(&1));

            sqlx::query("UPDATE agent_load SET open_count = 0 WHERE agent_id = $1")
                .bind(agents[1].as_str())
                .execute(&store.pool)
                .await
                .expect("update");
            let moved = store
                .agent_work_since(&tenant, inserted)
                .await
                .expect("work");
            assert_eq!(moved.len(), 1, "{moved:?}");
            assert!(moved[0].load.is_empty());
            drop(store);
            db.drop_now().await;
        }
    }

    fn check(columns: &[String]) {
        let unsorted: Vec<&String> = columns
            .iter()
            .filter(|c| {
                !ROSTER.contains(&c.as_str()) && !WORK.contains(&c.as_str()) && *c != "work_version"
            })
            .collect();
        assert!(
            unsorted.is_empty(),
            "columns under no counter: {unsorted:?}; name them in a trigger of migration 0048's kind"
        );
        assert_eq!(columns.len(), ROSTER.len() + WORK.len() + 1);
    }
}
