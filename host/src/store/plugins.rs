//! Plugin components, compiled artefacts, manifests, key-value state and
//! recorded failures.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError};
use crate::domain::{Millis, Page, PageRequest, PluginKind, PluginUses, TenantId};

/// One plugin version: a built-in (no tenant, id = name) or a tenant's upload.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PluginRecord {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: Option<TenantId>,
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    pub description: String,
    pub config_schema: serde_json::Value,
    pub subscribes: Vec<String>,
    /// The `baton:plugin` contract version it was built against.
    pub contract: String,
    #[serde(skip)]
    pub sha256: String,
    pub size: i64,
    pub builtin: bool,
    pub created_at: Millis,
}

/// A plugin failure as recorded.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FailureRecord {
    pub id: i64,
    pub event_id: Option<i64>,
    pub conversation_id: Option<String>,
    pub plugin: String,
    pub plugin_version: String,
    pub failure: String,
    pub message: String,
    pub fallback: String,
    pub at: Millis,
}

const PLUGIN_COLUMNS: &str = "id, tenant_id, name, version, kind, description, config_schema, subscribes, contract, sha256, size, created_at";

fn plugin(row: &AnyRow) -> Option<PluginRecord> {
    let tenant: Option<String> = row.get("tenant_id");
    Some(PluginRecord {
        id: row.get("id"),
        builtin: tenant.is_none(),
        tenant_id: tenant.as_deref().and_then(|t| TenantId::parse(t).ok()),
        name: row.get("name"),
        version: row.get("version"),
        kind: PluginKind::parse(row.get("kind")).ok()?,
        description: row.get("description"),
        config_schema: serde_json::from_str(row.get("config_schema")).unwrap_or_default(),
        subscribes: serde_json::from_str(row.get("subscribes")).unwrap_or_default(),
        contract: row.get("contract"),
        sha256: row.get("sha256"),
        size: row.get("size"),
        created_at: Millis(row.get("created_at")),
    })
}

impl Store {
    /// Keep a component's bytes (idempotent).
    pub async fn put_component(&self, sha256: &str, wasm: &[u8]) -> Result<()> {
        self.execute_write(sqlx::query("INSERT INTO components (sha256, wasm, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(sha256)
            .bind(wasm)
            .bind(self.now().0)
            )
            .await?;
        Ok(())
    }

    pub async fn component(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT wasm FROM components WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.get("wasm")))
    }

    /// The compiled artefact this engine made for a component, if any.
    pub async fn artifact(&self, sha256: &str, engine_hash: &str) -> Result<Option<Vec<u8>>> {
        let row =
            sqlx::query("SELECT compiled FROM artifacts WHERE sha256 = $1 AND engine_hash = $2")
                .bind(sha256)
                .bind(engine_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|row| row.get("compiled")))
    }

    pub async fn put_artifact(
        &self,
        sha256: &str,
        engine_hash: &str,
        compiled: &[u8],
    ) -> Result<()> {
        self.execute_write(sqlx::query(
            "INSERT INTO artifacts (sha256, engine_hash, compiled, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sha256, engine_hash)
             DO UPDATE SET compiled = excluded.compiled, created_at = excluded.created_at",
        )
        .bind(sha256)
        .bind(engine_hash)
        .bind(compiled)
        .bind(self.now().0)
        )
        .await?;
        Ok(())
    }

    /// Insert or refresh a plugin row. Built-ins are refreshed on every start
    /// (a new release of Baton may ship new versions); uploads conflict on
    /// a repeated name and version.
    pub async fn put_plugin(&self, record: &PluginRecord) -> Result<()> {
        if record.builtin {
            self.execute_write(
                sqlx::query("DELETE FROM plugins WHERE id = $1 AND tenant_id IS NULL")
                    .bind(&record.id),
            )
            .await?;
        }
        let mut conn = self.pool.acquire().await?;
        insert_plugin(&mut conn, record).await
    }

    /// The tenant's upload of exactly these bytes, if any.
    pub async fn tenant_plugin_by_sha(
        &self,
        tenant: &TenantId,
        sha256: &str,
    ) -> Result<Option<PluginRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins WHERE tenant_id = $1 AND sha256 = $2 LIMIT 1"
        ))
        .bind(tenant.as_str())
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(plugin))
    }

    /// Keep an accepted upload: its bytes, its artefact and its plugin row
    /// in one transaction, so a refused one (a repeated name and version)
    /// writes nothing.
    pub async fn put_upload(
        &self,
        record: &PluginRecord,
        wasm: &[u8],
        engine_hash: &str,
        compiled: &[u8],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        // The component first: the plugin row refers to it.
        sqlx::query("INSERT INTO components (sha256, wasm, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(&record.sha256)
            .bind(wasm)
            .bind(self.now().0)
            .execute(&mut *tx)
            .await?;
        insert_plugin(&mut tx, record).await?;
        sqlx::query(
            "INSERT INTO artifacts (sha256, engine_hash, compiled, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sha256, engine_hash)
             DO UPDATE SET compiled = excluded.compiled, created_at = excluded.created_at",
        )
        .bind(&record.sha256)
        .bind(engine_hash)
        .bind(compiled)
        .bind(self.now().0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's plugins and the built-ins, built-ins first.
    pub async fn list_plugins(&self, tenant: &TenantId) -> Result<Vec<PluginRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins WHERE tenant_id IS NULL OR tenant_id = $1
             ORDER BY tenant_id IS NOT NULL, name, created_at"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(plugin).collect())
    }

    /// Resolve a reference: a built-in name, an upload's id, or an upload's
    /// name (its newest version). Another tenant's plugins are invisible.
    pub async fn find_plugin(
        &self,
        tenant: &TenantId,
        reference: &str,
    ) -> Result<Option<PluginRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins
             WHERE (tenant_id IS NULL OR tenant_id = $1) AND (id = $2 OR name = $3)
             ORDER BY id = $4 DESC, tenant_id IS NULL, created_at DESC, id DESC LIMIT 1"
        ))
        .bind(tenant.as_str())
        .bind(reference)
        .bind(reference)
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(plugin))
    }

    /// Delete one of the tenant's uploaded plugin versions if nothing uses
    /// it ([`PluginUses`]), counted in the same transaction so that no
    /// binding or rule can name it in between. `None` if the tenant has
    /// no such upload (built-ins cannot be deleted); otherwise what used
    /// it (nothing, when it was deleted). The component's bytes stay:
    /// they are shared by content with any other upload of them, and an
    /// older binding a rollback returns to still runs from them.
    pub async fn delete_plugin(&self, tenant: &TenantId, id: &str) -> Result<Option<PluginUses>> {
        let mut tx = self.write_for(tenant).await?;
        let exists = sqlx::query("SELECT 1 FROM plugins WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(None);
        }
        // Upload ids are random and unique, so finding one in a binding's
        // spec or a rule's method or conditions finds what names it.
        let count = |sql: &'static str| sqlx::query(sql).bind(tenant.as_str()).bind(id);
        let bindings = count(
            "SELECT COUNT(*) AS n FROM bindings b
             WHERE b.tenant_id = $1 AND b.spec LIKE '%' || $2 || '%'
               AND b.id = (SELECT MAX(id) FROM bindings
                           WHERE tenant_id = b.tenant_id AND slot = b.slot
                             AND rolled_back_at IS NULL)",
        )
        .fetch_one(&mut *tx)
        .await?;
        let rules = count(
            "SELECT COUNT(*) AS n FROM rules WHERE tenant_id = $1
               AND (conditions LIKE '%' || $2 || '%' OR COALESCE(method, '') LIKE '%' || $2 || '%')",
        )
        .fetch_one(&mut *tx)
        .await?;
        let n = |row: &AnyRow| u64::try_from(row.get::<i64, _>("n")).unwrap_or(0);
        let uses = PluginUses {
            bindings: n(&bindings),
            rules: n(&rules),
        };
        if uses.refusal().is_none() {
            sqlx::query("DELETE FROM plugins WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(Some(uses))
    }

    /// A plugin's whole key-value state for one tenant.
    pub async fn plugin_kv(
        &self,
        tenant: &TenantId,
        plugin: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>> {
        let rows = sqlx::query(
            "SELECT key, value FROM plugin_kv WHERE tenant_id = $1 AND plugin_name = $2",
        )
        .bind(tenant.as_str())
        .bind(plugin)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.get("key"), row.get("value")))
            .collect())
    }

    /// A page of the tenant's plugin failures, newest first.
    pub async fn failures(
        &self,
        tenant: &TenantId,
        page: &PageRequest<i64>,
    ) -> Result<Page<FailureRecord>> {
        let rows = sqlx::query(
            "SELECT id, event_id, conversation_id, plugin_name, plugin_version, failure, message,
                    fallback, at
             FROM plugin_failures WHERE tenant_id = $1 AND ($2 IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4",
        )
        .bind(tenant.as_str())
        .bind(page.after)
        .bind(page.after)
        .bind(page.probe())
        .fetch_all(&self.pool)
        .await?;
        let found = rows
            .into_iter()
            .map(|row| FailureRecord {
                id: row.get("id"),
                event_id: row.get("event_id"),
                conversation_id: row.get("conversation_id"),
                plugin: row.get("plugin_name"),
                plugin_version: row.get("plugin_version"),
                failure: row.get("failure"),
                message: row.get("message"),
                fallback: row.get("fallback"),
                at: Millis(row.get("at")),
            })
            .collect();
        Ok(Page::from_probe(found, page.limit, |f| f.id.to_string()))
    }
}

async fn insert_plugin(conn: &mut sqlx::AnyConnection, record: &PluginRecord) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO plugins ({PLUGIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&record.id)
    .bind(record.tenant_id.as_ref().map(TenantId::as_str))
    .bind(&record.name)
    .bind(&record.version)
    .bind(record.kind.as_str())
    .bind(&record.description)
    .bind(record.config_schema.to_string())
    .bind(serde_json::to_string(&record.subscribes).unwrap_or_else(|_| "[]".into()))
    .bind(&record.contract)
    .bind(&record.sha256)
    .bind(record.size)
    .bind(record.created_at.0)
    .execute(conn)
    .await
    .map_err(|e| {
        StoreError::conflict_on_unique(
            e,
            &format!(
                "{} version {} is already uploaded, from other bytes: bump the version (in the plugin's Cargo.toml) to upload a change",
                record.name, record.version
            ),
        )
    })?;
    Ok(())
}
