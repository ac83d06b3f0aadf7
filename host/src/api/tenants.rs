//! Operator endpoints: creating tenants, reading process figures.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Operator};
use crate::domain::parse_line;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTenant {
    name: String,
}

pub(super) async fn create(
    _: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewTenant>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let name = parse_line(&body.name, 200).map_err(|e| ApiError::invalid("name", e))?;
    let (tenant, key) = state.store.create_tenant(&name).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": tenant.id, "name": tenant.name, "api_key": key })),
    ))
}

/// Compile-cache figures: an operator checks here that a restart reused
/// the artefacts instead of recompiling, and what compiled code the
/// process keeps in memory.
pub(super) async fn stats(_: Operator, State(state): State<AppState>) -> Json<serde_json::Value> {
    let runtime = state.plugins.runtime();
    let (components, bytes) = state.plugins.cached();
    Json(serde_json::json!({
        "engine": runtime.engine_hash(),
        "compiles": runtime.compiles(),
        "artifact_loads": state.plugins.artifact_loads(),
        "cached": {"components": components, "bytes": bytes},
    }))
}
