//! Checking what a ticket call names: pipelines and their statuses (with
//! the properties a conditional status needs), owners, companies, contacts
//! and free properties. Each failure is a 422 naming the field.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::AppState;
use super::error::ApiError;
use crate::domain::{
    AgentId, CompanyId, Email, PipelineId, PipelineRecord, Properties, StageId, StageRecord,
    TenantId, parse_line,
};
use crate::store::TicketRecord;

/// A merged ticket lives on in the one it was merged into.
pub(super) fn not_merged(ticket: &TicketRecord) -> Result<(), ApiError> {
    match &ticket.merged_into {
        Some(into) => Err(ApiError::conflict(format!(
            "ticket {} was merged into {into}; work on that one",
            ticket.id
        ))),
        None => Ok(()),
    }
}

/// Parse free properties; a bad key is a 422 on `properties.<key>`.
pub(super) fn properties(map: Map<String, Value>) -> Result<Properties, ApiError> {
    Properties::parse(map).map_err(|(key, e)| {
        let field = if key.is_empty() {
            "properties".to_owned()
        } else {
            format!("properties.{key}")
        };
        ApiError::invalid(field, e)
    })
}

/// The tenant's pipeline with this id, or a 422 on `field`.
pub(super) async fn pipeline(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
    field: &str,
) -> Result<PipelineRecord, ApiError> {
    let id = PipelineId::parse(raw).map_err(|e| ApiError::invalid(field, e))?;
    state
        .store
        .pipeline(tenant, &id)
        .await?
        .ok_or_else(|| ApiError::invalid(field, format!("no pipeline {id}")))
}

/// A status of `pipeline` given to move a ticket into, with properties the
/// ticket will have: a conditional status needs its properties, else a 422
/// naming `properties.<name>`.
pub(super) fn status_in(
    pipeline: &PipelineRecord,
    raw: &str,
    field: &str,
    properties: &Properties,
) -> Result<StageRecord, ApiError> {
    let id = StageId::parse(raw).map_err(|e| ApiError::invalid(field, e))?;
    let stage = pipeline.stage(&id).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{id} is not a status of pipeline {}", pipeline.id),
        )
    })?;
    if let Some(missing) = properties.missing(&stage.requires) {
        return Err(ApiError::invalid(
            format!("properties.{missing}"),
            format!("the status {:?} needs this property set", stage.name),
        ));
    }
    Ok(stage.clone())
}

pub(super) async fn agent(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
    field: &str,
) -> Result<AgentId, ApiError> {
    let id = AgentId::parse(raw).map_err(|e| ApiError::invalid(field, e))?;
    if !state.store.agent_exists(tenant, &id).await? {
        return Err(ApiError::invalid(field, format!("no agent {id}")));
    }
    Ok(id)
}

pub(super) async fn company(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
) -> Result<CompanyId, ApiError> {
    let id = CompanyId::parse(raw).map_err(|e| ApiError::invalid("company", e))?;
    match state.store.company(tenant, &id).await? {
        Some(found) => Ok(found.id),
        None => Err(ApiError::invalid("company", format!("no company {id}"))),
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ContactBody {
    email: String,
    name: Option<String>,
}

pub(super) fn contact(body: &ContactBody) -> Result<(String, Option<String>), ApiError> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid("contact.email", e))?;
    let name = body
        .name
        .as_deref()
        .map(|n| parse_line(n, 200).map_err(|e| ApiError::invalid("contact.name", e)))
        .transpose()?;
    Ok((email.as_str().to_owned(), name))
}
