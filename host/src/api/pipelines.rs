//! Ticket pipelines (ordered statuses) and the companies tickets can be
//! associated with.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Actor, JsonBody, Path, Tenant};
use super::openapi::Created;
use crate::domain::{
    CompanyId, PipelineId, PipelineRecord, StatusSpec, check_statuses, parse_line,
};
use crate::store::{CompanyRecord, PipelineRefusal};

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PipelineBody {
    name: String,
    statuses: Vec<StatusSpec>,
}

impl PipelineBody {
    /// The name and statuses, checked; errors name the field.
    fn parse(mut self) -> Result<(String, Vec<StatusSpec>), ApiError> {
        let name = parse_line(&self.name, 200).map_err(|e| ApiError::invalid("name", e))?;
        check_statuses(&mut self.statuses).map_err(|(field, e)| ApiError::invalid(field, e))?;
        Ok((name, self.statuses))
    }
}

/// Create a pipeline. Its statuses are new, so none may carry an id.
pub(super) async fn create(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PipelineBody>,
) -> Result<Created<PipelineRecord>, ApiError> {
    let (name, statuses) = body.parse()?;
    if let Some(i) = statuses.iter().position(|s| s.id.is_some()) {
        return Err(ApiError::invalid(
            format!("statuses[{i}].id"),
            "a new pipeline's statuses are new: leave out their ids",
        ));
    }
    let pipeline = state
        .store
        .create_pipeline(&tenant.id, &name, &statuses)
        .await?;
    Ok(Created(pipeline))
}

/// Every pipeline, the default first (made now if the tenant had none).
pub(super) async fn list(
    actor: Actor,
    State(state): State<AppState>,
) -> Result<Json<Vec<PipelineRecord>>, ApiError> {
    Ok(Json(state.store.pipelines(&actor.tenant.id).await?))
}

fn pipeline_id(raw: &str) -> Result<PipelineId, ApiError> {
    PipelineId::parse(raw).map_err(|_| ApiError::not_found(format_args!("pipeline {raw}")))
}

pub(super) async fn get(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<PipelineRecord>, ApiError> {
    let id = pipeline_id(&raw)?;
    state
        .store
        .pipeline(&actor.tenant.id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("pipeline {id}")))
}

/// Replace a pipeline's name and statuses: a status given with its `id`
/// keeps its tickets (rename, reorder, new conditions); one without is
/// added; one left out is removed, which only an empty status may be.
pub(super) async fn update(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<PipelineBody>,
) -> Result<Json<PipelineRecord>, ApiError> {
    let id = pipeline_id(&raw)?;
    let (name, statuses) = body.parse()?;
    match state
        .store
        .update_pipeline(&tenant.id, &id, &name, &statuses)
        .await?
    {
        None => Err(ApiError::not_found(format_args!("pipeline {id}"))),
        Some(Ok(pipeline)) => Ok(Json(pipeline)),
        Some(Err(PipelineRefusal::UnknownStatus(i))) => Err(ApiError::invalid(
            format!("statuses[{i}].id"),
            "not a status of this pipeline",
        )),
        Some(Err(PipelineRefusal::StatusInUse { name, tickets })) => Err(ApiError::invalid(
            "statuses",
            format!(
                "the status {name:?} holds {tickets} tickets: keep it (with its id) or move them first"
            ),
        )),
        Some(Err(PipelineRefusal::ClosedInUse { index, tickets })) => Err(ApiError::invalid(
            format!("statuses[{index}].closed"),
            format!("{tickets} tickets are in this status: move them before opening or closing it"),
        )),
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CompanyBody {
    name: String,
    domain: Option<String>,
}

/// A domain such as `example.com`: letters, digits, dashes and dots, with
/// at least one dot. Stored lower-case.
fn domain(raw: &str) -> Result<String, ApiError> {
    let domain = raw.trim().to_ascii_lowercase();
    let valid = (3..=253).contains(&domain.len())
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(domain)
    } else {
        Err(ApiError::invalid(
            "domain",
            "must be a domain such as example.com",
        ))
    }
}

pub(super) async fn create_company(
    actor: Actor,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CompanyBody>,
) -> Result<Created<CompanyRecord>, ApiError> {
    let name = parse_line(&body.name, 200).map_err(|e| ApiError::invalid("name", e))?;
    let domain = body.domain.as_deref().map(domain).transpose()?;
    let company = state
        .store
        .create_company(&actor.tenant.id, &name, domain.as_deref())
        .await?;
    Ok(Created(company))
}

pub(super) async fn list_companies(
    actor: Actor,
    State(state): State<AppState>,
) -> Result<Json<Vec<CompanyRecord>>, ApiError> {
    Ok(Json(state.store.companies(&actor.tenant.id).await?))
}

pub(super) async fn get_company(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<CompanyRecord>, ApiError> {
    let id =
        CompanyId::parse(&raw).map_err(|_| ApiError::not_found(format_args!("company {raw}")))?;
    state
        .store
        .company(&actor.tenant.id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("company {id}")))
}
