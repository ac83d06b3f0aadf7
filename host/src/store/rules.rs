//! Assignment rules and the record of every change to them.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError};
use crate::domain::{Millis, Page, PageRequest, Rule, RuleId, TenantId};

fn rule(row: &AnyRow) -> Option<Rule> {
    let method: Option<String> = row.get("method");
    Some(Rule {
        id: RuleId::parse(row.get("id")).ok()?,
        position: u32::try_from(row.get::<i64, _>("position")).ok()?,
        name: row.get("name"),
        enabled: row.get::<i64, _>("enabled") != 0,
        conditions: serde_json::from_str(row.get("conditions")).ok()?,
        target: serde_json::from_str(row.get("target")).ok()?,
        method: match method {
            Some(text) => Some(serde_json::from_str(&text).ok()?),
            None => None,
        },
        created_at: Millis(row.get("created_at")),
        updated_at: Millis(row.get("updated_at")),
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

async fn record_change(
    tx: &mut sqlx::AnyConnection,
    at: Millis,
    tenant: &TenantId,
    rule: &Rule,
    action: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO rule_changes (tenant_id, rule_id, action, rule, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.as_str())
    .bind(rule.id.as_str())
    .bind(action)
    .bind(json(rule))
    .bind(at.0)
    .execute(tx)
    .await?;
    Ok(())
}

/// Renumber a tenant's rules 0.. in the given order.
async fn renumber(tx: &mut sqlx::AnyConnection, tenant: &TenantId, order: &[RuleId]) -> Result<()> {
    for (position, id) in order.iter().enumerate() {
        sqlx::query("UPDATE rules SET position = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(tenant.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// The tenant's rules, top to bottom.
    pub async fn list_rules(&self, tenant: &TenantId) -> Result<Vec<Rule>> {
        let rows = sqlx::query("SELECT * FROM rules WHERE tenant_id = $1 ORDER BY position, id")
            .bind(tenant.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().filter_map(rule).collect())
    }

    async fn order(&self, tx: &mut sqlx::AnyConnection, tenant: &TenantId) -> Result<Vec<RuleId>> {
        let rows = sqlx::query("SELECT id FROM rules WHERE tenant_id = $1 ORDER BY position, id")
            .bind(tenant.as_str())
            .fetch_all(tx)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| RuleId::parse(r.get("id")).ok())
            .collect())
    }

    /// Insert a rule at `position` (clamped; the end when `None`).
    pub async fn insert_rule(
        &self,
        tenant: &TenantId,
        rule: &Rule,
        position: Option<usize>,
    ) -> Result<Rule> {
        let mut tx = self.write_for(tenant).await?;
        sqlx::query(
            "INSERT INTO rules (id, tenant_id, position, name, enabled, conditions, target, method,
                created_at, updated_at) VALUES ($1, $2, -1, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(rule.id.as_str())
        .bind(tenant.as_str())
        .bind(&rule.name)
        .bind(i64::from(rule.enabled))
        .bind(json(&rule.conditions))
        .bind(json(&rule.target))
        .bind(rule.method.as_ref().map(json))
        .bind(rule.created_at.0)
        .bind(rule.updated_at.0)
        .execute(&mut *tx)
        .await?;
        let mut order: Vec<RuleId> = self
            .order(&mut tx, tenant)
            .await?
            .into_iter()
            .filter(|id| id != &rule.id)
            .collect();
        let at = position.unwrap_or(order.len()).min(order.len());
        order.insert(at, rule.id.clone());
        renumber(&mut tx, tenant, &order).await?;
        let mut stored = rule.clone();
        stored.position = u32::try_from(at).unwrap_or(u32::MAX);
        record_change(&mut tx, self.now(), tenant, &stored, "created").await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replace a rule's fields (not its position). `false` if it does not exist.
    pub async fn update_rule(&self, tenant: &TenantId, rule: &Rule) -> Result<bool> {
        let mut tx = self.write_for(tenant).await?;
        let updated = sqlx::query(
            "UPDATE rules SET name = $1, enabled = $2, conditions = $3, target = $4, method = $5, updated_at = $6
             WHERE tenant_id = $7 AND id = $8",
        )
        .bind(&rule.name)
        .bind(i64::from(rule.enabled))
        .bind(json(&rule.conditions))
        .bind(json(&rule.target))
        .bind(rule.method.as_ref().map(json))
        .bind(rule.updated_at.0)
        .bind(tenant.as_str())
        .bind(rule.id.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        record_change(&mut tx, self.now(), tenant, rule, "updated").await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Delete a rule, keeping a copy in the change record.
    pub async fn delete_rule(&self, tenant: &TenantId, id: &RuleId) -> Result<Option<Rule>> {
        let Some(existing) = self
            .list_rules(tenant)
            .await?
            .into_iter()
            .find(|r| &r.id == id)
        else {
            return Ok(None);
        };
        let mut tx = self.write_for(tenant).await?;
        sqlx::query("DELETE FROM rules WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        record_change(&mut tx, self.now(), tenant, &existing, "deleted").await?;
        let order = self.order(&mut tx, tenant).await?;
        renumber(&mut tx, tenant, &order).await?;
        tx.commit().await?;
        Ok(Some(existing))
    }

    /// Put the rules in exactly this order; every rule must be named once.
    pub async fn reorder_rules(&self, tenant: &TenantId, order: &[RuleId]) -> Result<()> {
        let mut tx = self.write_for(tenant).await?;
        let mut current = self.order(&mut tx, tenant).await?;
        let mut wanted = order.to_vec();
        current.sort();
        wanted.sort();
        if current != wanted {
            return Err(StoreError::Conflict("name every rule exactly once".into()));
        }
        renumber(&mut tx, tenant, order).await?;
        sqlx::query("INSERT INTO rule_changes (tenant_id, rule_id, action, rule, at) VALUES ($1, '', 'reordered', $2, $3)")
            .bind(tenant.as_str())
            .bind(json(&order))
            .bind(self.now().0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of the change record, newest first.
    pub async fn rule_changes(
        &self,
        tenant: &TenantId,
        page: &PageRequest<i64>,
    ) -> Result<Page<serde_json::Value>> {
        let rows = sqlx::query(
            "SELECT id, rule_id, action, rule, at FROM rule_changes
             WHERE tenant_id = $1 AND ($2 IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4",
        )
        .bind(tenant.as_str())
        .bind(page.after)
        .bind(page.after)
        .bind(page.probe())
        .fetch_all(&self.pool)
        .await?;
        let found: Vec<(i64, serde_json::Value)> = rows
            .iter()
            .map(|row| {
                let change = serde_json::json!({
                    "rule_id": row.get::<String, _>("rule_id"),
                    "action": row.get::<String, _>("action"),
                    "rule": serde_json::from_str::<serde_json::Value>(row.get("rule")).unwrap_or_default(),
                    "at": Millis(row.get("at")),
                });
                (row.get::<i64, _>("id"), change)
            })
            .collect();
        Ok(Page::from_probe(found, page.limit, |(id, _)| id.to_string()).map(|(_, change)| change))
    }

    /// How many conversations this contact (by e-mail) had before `before`.
    pub async fn past_conversations(
        &self,
        tenant: &TenantId,
        email: &str,
        before: Millis,
    ) -> Result<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM conversations WHERE tenant_id = $1 AND contact_email = $2 AND created_at < $3",
        )
        .bind(tenant.as_str())
        .bind(email)
        .bind(before.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(row.get::<i64, _>("n")).unwrap_or(0))
    }

    /// The agent who last had a conversation with this contact, other than
    /// `except`.
    pub async fn last_agent_for_contact(
        &self,
        tenant: &TenantId,
        email: &str,
        except: &crate::domain::ConversationId,
    ) -> Result<Option<crate::domain::AgentId>> {
        let row = sqlx::query(
            "SELECT assignee_id FROM conversations
             WHERE tenant_id = $1 AND contact_email = $2 AND id <> $3 AND assignee_kind = 'agent'
             ORDER BY updated_at DESC, id DESC LIMIT 1",
        )
        .bind(tenant.as_str())
        .bind(email)
        .bind(except.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| crate::domain::AgentId::parse(r.get("assignee_id")).ok()))
    }
}
