//! Ticket pipelines: ordered lists of statuses. Every tenant gets the
//! default pipeline the first time it needs one, so a standard setup files
//! tickets without any configuration.

use sqlx::{AnyConnection, Row};

use super::{Result, Store, StoreError};
use crate::domain::{
    DEFAULT_PIPELINE, Millis, PipelineId, PipelineRecord, StageId, StageRecord, StatusSpec,
    TenantId, default_statuses,
};

/// Why a pipeline edit was refused; each names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineRefusal {
    /// `statuses[i].id` is not a status of this pipeline.
    UnknownStatus(usize),
    /// A status left out of the list still holds tickets.
    StatusInUse { name: String, tickets: u64 },
    /// `statuses[i].closed` would change under tickets in it: their
    /// conversations would no longer match their status.
    ClosedInUse { index: usize, tickets: u64 },
}

const PIPELINE_COLUMNS: &str = "id, name, is_default, created_at, updated_at";

/// A pipeline's statuses, in order.
pub(super) async fn stages(
    conn: &mut AnyConnection,
    pipeline: &PipelineId,
) -> Result<Vec<StageRecord>> {
    let rows = sqlx::query(
        "SELECT id, name, closed, requires FROM pipeline_stages
         WHERE pipeline_id = $1 ORDER BY position",
    )
    .bind(pipeline.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(StageRecord {
                id: StageId::parse(r.get("id")).ok()?,
                name: r.get("name"),
                closed: r.get::<i64, _>("closed") != 0,
                requires: serde_json::from_str(r.get("requires")).unwrap_or_default(),
            })
        })
        .collect())
}

async fn with_stages(
    conn: &mut AnyConnection,
    row: &sqlx::any::AnyRow,
) -> Result<Option<PipelineRecord>> {
    let Ok(id) = PipelineId::parse(row.get("id")) else {
        return Ok(None);
    };
    let statuses = stages(conn, &id).await?;
    Ok(Some(PipelineRecord {
        id,
        name: row.get("name"),
        is_default: row.get::<i64, _>("is_default") != 0,
        statuses,
        created_at: Millis(row.get("created_at")),
        updated_at: Millis(row.get("updated_at")),
    }))
}

/// The tenant's pipeline with this id.
pub(super) async fn pipeline_in(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    id: &PipelineId,
) -> Result<Option<PipelineRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.as_str())
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => with_stages(conn, &row).await,
        None => Ok(None),
    }
}

/// A pipeline named by id or by name (workflows name pipelines by name).
pub(super) async fn pipeline_named(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    text: &str,
) -> Result<Option<PipelineRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE tenant_id = $1 AND (id = $2 OR name = $3)"
    ))
    .bind(tenant.as_str())
    .bind(text)
    .bind(text)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => with_stages(conn, &row).await,
        None => Ok(None),
    }
}

/// The tenant's default pipeline, made now if it has none yet. Call inside
/// a write transaction, so two requests cannot both make one.
pub(super) async fn default_pipeline_in(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    now: Millis,
) -> Result<PipelineRecord> {
    let row = sqlx::query(&format!(
        "SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE tenant_id = $1 AND is_default = 1"
    ))
    .bind(tenant.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row
        && let Some(pipeline) = with_stages(conn, &row).await?
    {
        return Ok(pipeline);
    }
    insert_pipeline(
        conn,
        tenant,
        DEFAULT_PIPELINE,
        &default_statuses(),
        true,
        now,
    )
    .await
}

async fn insert_stages(
    conn: &mut AnyConnection,
    pipeline: &PipelineId,
    statuses: &[StatusSpec],
) -> Result<()> {
    for (position, status) in statuses.iter().enumerate() {
        let id = status.id.clone().unwrap_or_else(StageId::generate);
        sqlx::query(
            "INSERT INTO pipeline_stages (id, pipeline_id, position, name, closed, requires)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET position = excluded.position, name = excluded.name,
                closed = excluded.closed, requires = excluded.requires",
        )
        .bind(id.as_str())
        .bind(pipeline.as_str())
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&status.name)
        .bind(i64::from(status.closed))
        .bind(serde_json::to_string(&status.requires).unwrap_or_else(|_| "[]".into()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn insert_pipeline(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    name: &str,
    statuses: &[StatusSpec],
    is_default: bool,
    now: Millis,
) -> Result<PipelineRecord> {
    let id = PipelineId::generate();
    sqlx::query(
        "INSERT INTO pipelines (id, tenant_id, name, is_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_str())
    .bind(tenant.as_str())
    .bind(name)
    .bind(i64::from(is_default))
    .bind(now.0)
    .bind(now.0)
    .execute(&mut *conn)
    .await
    .map_err(|e| StoreError::conflict_on_unique(e, "a pipeline with this name exists"))?;
    insert_stages(conn, &id, statuses).await?;
    pipeline_in(conn, tenant, &id)
        .await?
        .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))
}

/// Tickets in one status.
async fn tickets_in(conn: &mut AnyConnection, stage: &StageId) -> Result<u64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM tickets WHERE stage_id = $1")
        .bind(stage.as_str())
        .fetch_one(&mut *conn)
        .await?;
    Ok(u64::try_from(row.get::<i64, _>("n")).unwrap_or(0))
}

impl Store {
    /// Create a pipeline with checked statuses (see `check_statuses`).
    pub async fn create_pipeline(
        &self,
        tenant: &TenantId,
        name: &str,
        statuses: &[StatusSpec],
    ) -> Result<PipelineRecord> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        // The default exists before any other, so it is always the first.
        default_pipeline_in(&mut tx, tenant, now).await?;
        // Statuses of a new pipeline are new: an id given would name a
        // status of another pipeline.
        let fresh: Vec<StatusSpec> = statuses
            .iter()
            .map(|s| StatusSpec {
                id: None,
                ..s.clone()
            })
            .collect();
        let pipeline = insert_pipeline(&mut tx, tenant, name, &fresh, false, now).await?;
        tx.commit().await?;
        Ok(pipeline)
    }

    /// Every pipeline of the tenant, the default first.
    pub async fn pipelines(&self, tenant: &TenantId) -> Result<Vec<PipelineRecord>> {
        let mut tx = self.write_for(tenant).await?;
        default_pipeline_in(&mut tx, tenant, self.now()).await?;
        let rows = sqlx::query(&format!(
            "SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE tenant_id = $1
             ORDER BY is_default DESC, created_at, id"
        ))
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.extend(with_stages(&mut tx, row).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn pipeline(
        &self,
        tenant: &TenantId,
        id: &PipelineId,
    ) -> Result<Option<PipelineRecord>> {
        let mut conn = self.pool.acquire().await?;
        pipeline_in(&mut conn, tenant, id).await
    }

    /// Whether `stage` is a status of one of `tenant`'s pipelines.
    pub async fn stage_exists(&self, tenant: &TenantId, stage: &StageId) -> Result<bool> {
        let found = sqlx::query(
            "SELECT 1 FROM pipeline_stages s JOIN pipelines p ON p.id = s.pipeline_id
             WHERE p.tenant_id = $1 AND s.id = $2",
        )
        .bind(tenant.as_str())
        .bind(stage.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Replace a pipeline's name and statuses. A status given with its id
    /// keeps its tickets (renamed, reordered, its conditions changed); one
    /// left out is removed, which only an empty status may be.
    pub async fn update_pipeline(
        &self,
        tenant: &TenantId,
        id: &PipelineId,
        name: &str,
        statuses: &[StatusSpec],
    ) -> Result<Option<Result<PipelineRecord, PipelineRefusal>>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let Some(current) = pipeline_in(&mut tx, tenant, id).await? else {
            return Ok(None);
        };
        for (index, status) in statuses.iter().enumerate() {
            let Some(id) = &status.id else { continue };
            let Some(old) = current.stage(id) else {
                return Ok(Some(Err(PipelineRefusal::UnknownStatus(index))));
            };
            if old.closed != status.closed {
                let tickets = tickets_in(&mut tx, id).await?;
                if tickets > 0 {
                    return Ok(Some(Err(PipelineRefusal::ClosedInUse { index, tickets })));
                }
            }
        }
        for old in &current.statuses {
            if statuses.iter().any(|s| s.id.as_ref() == Some(&old.id)) {
                continue;
            }
            let tickets = tickets_in(&mut tx, &old.id).await?;
            if tickets > 0 {
                return Ok(Some(Err(PipelineRefusal::StatusInUse {
                    name: old.name.clone(),
                    tickets,
                })));
            }
            sqlx::query("DELETE FROM pipeline_stages WHERE id = $1")
                .bind(old.id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE pipelines SET name = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(now.0)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, "a pipeline with this name exists"))?;
        insert_stages(&mut tx, id, statuses).await?;
        let updated = pipeline_in(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(updated.map(Ok))
    }
}
