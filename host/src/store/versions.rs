//! The counters that say whether hot state kept in memory is still exact
//! (migration 0045): triggers raise them on every write to what they cover,
//! from any process, so a reader compares numbers instead of re-reading.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::TenantId;

/// Where a tenant's hot state stands. Each number only grows, so an equal
/// number means nothing it covers was written since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateVersions {
    /// Bindings, plugins (the tenant's and the shared built-ins), rules and
    /// settings.
    pub config: i64,
    /// Who the agents are: agents, their teams, presence and capacity.
    pub agents: i64,
    /// What the agents are doing: their load, when they were last given a
    /// conversation or freed, how many they handled (migration 0048). Rows
    /// it covers carry the value their last change gave it, so what moved
    /// since a value is read alone ([`Store::agent_work_since`]).
    pub work: i64,
}

/// The row that counts writes to plugins no tenant owns.
const SHARED: &str = "*";

impl Store {
    /// The tenant's state versions, in one read.
    pub async fn state_versions(&self, tenant: &TenantId) -> Result<StateVersions> {
        let rows = sqlx::query(
            "SELECT config, agents, work FROM state_versions WHERE tenant_id = $1 OR tenant_id = $2",
        )
        .bind(tenant.as_str())
        .bind(SHARED)
        .fetch_all(&self.pool)
        .await?;
        // The sum of counters that only grow also only grows, and grows on
        // every write to either row.
        Ok(rows
            .iter()
            .fold(StateVersions::default(), |sum, row| StateVersions {
                config: sum.config + row.get::<i64, _>("config"),
                agents: sum.agents + row.get::<i64, _>("agents"),
                work: sum.work + row.get::<i64, _>("work"),
            }))
    }
}
