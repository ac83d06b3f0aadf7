//! Companies tickets can be associated with.

use sqlx::Row;

use super::{Result, Store, StoreError};
use crate::domain::{CompanyId, Millis, TenantId};

/// A company as stored.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CompanyRecord {
    pub id: CompanyId,
    pub name: String,
    /// Its web or mail domain, e.g. `example.com`.
    pub domain: Option<String>,
    pub created_at: Millis,
}

fn company(row: &sqlx::any::AnyRow) -> Option<CompanyRecord> {
    Some(CompanyRecord {
        id: CompanyId::parse(row.get("id")).ok()?,
        name: row.get("name"),
        domain: row.get("domain"),
        created_at: Millis(row.get("created_at")),
    })
}

impl Store {
    pub async fn create_company(
        &self,
        tenant: &TenantId,
        name: &str,
        domain: Option<&str>,
    ) -> Result<CompanyRecord> {
        let record = CompanyRecord {
            id: CompanyId::generate(),
            name: name.to_owned(),
            domain: domain.map(str::to_owned),
            created_at: self.now(),
        };
        self.execute_write(sqlx::query(
            "INSERT INTO companies (id, tenant_id, name, domain, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(record.id.as_str())
        .bind(tenant.as_str())
        .bind(&record.name)
        .bind(&record.domain)
        .bind(record.created_at.0)
        )
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, "a company with this name exists"))?;
        Ok(record)
    }

    pub async fn companies(&self, tenant: &TenantId) -> Result<Vec<CompanyRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, domain, created_at FROM companies WHERE tenant_id = $1 ORDER BY name, id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(company).collect())
    }

    pub async fn company(
        &self,
        tenant: &TenantId,
        id: &CompanyId,
    ) -> Result<Option<CompanyRecord>> {
        let row = sqlx::query(
            "SELECT id, name, domain, created_at FROM companies WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(company))
    }
}
