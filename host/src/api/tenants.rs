//! Operator endpoints: creating tenants, reading process figures.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Operator};
use super::openapi::Created;
use crate::domain::parse_line;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTenant {
    name: String,
}

pub(super) async fn create(
    _: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewTenant>,
) -> Result<Created<NewTenantAnswer>, ApiError> {
    let name = parse_line(&body.name, 200).map_err(|e| ApiError::invalid("name", e))?;
    let (tenant, key) = state.store.create_tenant(&name).await?;
    Ok(Created(NewTenantAnswer {
        id: tenant.id,
        name: tenant.name,
        api_key: key,
    }))
}

/// A tenant made, with its API key, shown this once.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct NewTenantAnswer {
    id: crate::domain::TenantId,
    name: String,
    api_key: String,
}

/// Compile-cache figures: an operator checks here that a restart reused
/// the artefacts instead of recompiling, and what compiled code the
/// process keeps in memory.
pub(super) async fn stats(_: Operator, State(state): State<AppState>) -> Json<Stats> {
    let runtime = state.plugins.runtime();
    let (components, bytes) = state.plugins.cached();
    Json(Stats {
        engine: runtime.engine_hash().to_owned(),
        compiles: runtime.compiles(),
        artifact_loads: state.plugins.artifact_loads(),
        cached: Cached { components, bytes },
    })
}

/// The compile cache's figures.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Stats {
    /// What compiled code depends on: artefacts made under another are
    /// compiled again.
    engine: String,
    /// Components compiled since the process started.
    compiles: u64,
    /// Components loaded from their stored artefact instead.
    artifact_loads: u64,
    cached: Cached,
}

/// Compiled code kept in memory.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Cached {
    components: usize,
    bytes: usize,
}
