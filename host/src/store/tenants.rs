//! Tenants and their API keys.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Result, Store};
use crate::domain::TenantId;

/// A tenant as stored.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub id: TenantId,
    pub name: String,
}

/// Hash of an API key; keys themselves are never stored.
pub(crate) fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Store {
    /// Create a tenant with a fresh API key; returns the record and the key.
    pub async fn create_tenant(&self, name: &str) -> Result<(TenantRecord, String)> {
        let id = TenantId::generate();
        let key = format!(
            "bk_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.execute_write(
            sqlx::query(
                "INSERT INTO tenants (id, name, api_key_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id.as_str())
            .bind(name)
            .bind(key_hash(&key))
            .bind(self.now().0),
        )
        .await?;
        Ok((
            TenantRecord {
                id,
                name: name.to_owned(),
            },
            key,
        ))
    }

    /// The tenant an API key belongs to.
    pub async fn tenant_by_key(&self, key: &str) -> Result<Option<TenantRecord>> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE api_key_hash = $1")
            .bind(key_hash(key))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|row| {
            let id: String = row.get("id");
            Some(TenantRecord {
                id: TenantId::parse(&id).ok()?,
                name: row.get("name"),
            })
        }))
    }
}
