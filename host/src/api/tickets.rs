//! Help-desk tickets: making them by hand, reading, editing and deleting.
//! A member sees only the tickets their access allows; any other ticket is
//! a 404 on every ticket call.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use super::conversations::ROUTING_WAIT;
use super::error::ApiError;
use super::extract::{Actor, JsonBody, Path, Query};
use super::ticket_fields::{
    ContactBody, agent, company, contact, not_merged, pipeline, properties, status_in,
};
use super::{AppState, lookup, page};
use crate::domain::{Page, Priority, Properties, TicketId, parse_line};
use crate::store::{NewTicket, TicketFilter, TicketPatch, TicketRecord, Visibility};

/// Longest ticket name, as for conversation subjects.
const MAX_NAME: usize = 500;

/// The ticket as the API shows it.
pub(super) fn view(t: &TicketRecord) -> Value {
    let contact = match (&t.contact_email, &t.contact_name) {
        (None, None) => Value::Null,
        (email, name) => json!({ "email": email, "name": name }),
    };
    json!({
        "id": t.id,
        "name": t.name,
        "pipeline": t.pipeline,
        "status": t.stage,
        "status_name": t.stage_name,
        "closed": t.closed,
        "priority": t.priority,
        "owner": t.owner,
        "contact": contact,
        "company": t.company,
        "properties": t.properties.as_map(),
        "source": t.source,
        "merged_into": t.merged_into,
        "conversation": t.conversation,
        "conversation_status": t.conversation_status,
        "channel": t.channel,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    })
}

/// The ticket with its thread (public messages and comments apart), its
/// followers and tags, and whether the caller has a draft on it.
pub(super) async fn detail(
    state: &AppState,
    actor: &Actor,
    ticket: &TicketRecord,
) -> Result<Value, ApiError> {
    let store = &state.store;
    let (comments, messages): (Vec<_>, Vec<_>) = store
        .thread(&ticket.conversation)
        .await?
        .into_iter()
        .partition(|m| m.internal);
    let drafts = match &actor.member {
        Some(member) => usize::from(store.draft(&ticket.id, &member.id).await?.is_some()),
        None => 0,
    };
    let mut out = view(ticket);
    out["messages"] = json!(messages);
    out["comments"] = json!(comments);
    out["followers"] = json!(store.followers(&ticket.conversation).await?);
    out["tags"] = json!(store.tags(&ticket.conversation).await?);
    out["drafts"] = json!(drafts);
    Ok(out)
}

/// Read the ticket again (after a change) and show it in full.
pub(super) async fn fresh(
    state: &AppState,
    actor: &Actor,
    ticket: &TicketRecord,
) -> Result<Value, ApiError> {
    // The caller may no longer see it (e.g. gave it away): show it anyway,
    // since they just changed it.
    let current = state
        .store
        .ticket(&actor.tenant.id, &ticket.id, &Visibility::All)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("ticket {}", ticket.id)))?;
    detail(state, actor, &current).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTicketBody {
    name: String,
    pipeline: String,
    status: String,
    contact: Option<ContactBody>,
    company: Option<String>,
    owner: Option<String>,
    priority: Option<Priority>,
    #[serde(default)]
    properties: Map<String, Value>,
}

/// Make a ticket by hand. Name, pipeline and status are required; routing
/// does not run (the owner, if given, has it at once).
pub(super) async fn create(
    actor: Actor,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewTicketBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = &actor.tenant.id;
    let name = parse_line(&body.name, MAX_NAME).map_err(|e| ApiError::invalid("name", e))?;
    let pipeline = pipeline(&state, tenant, &body.pipeline, "pipeline").await?;
    let properties = Properties::default()
        .merged(&properties(body.properties)?)
        .map_err(|e| ApiError::invalid("properties", e))?;
    let stage = status_in(&pipeline, &body.status, "status", &properties)?;
    let (contact_email, contact_name) = match &body.contact {
        Some(body) => {
            let (email, name) = contact(body)?;
            (Some(email), name)
        }
        None => (None, None),
    };
    let company = match &body.company {
        Some(raw) => Some(company(&state, tenant, raw).await?),
        None => None,
    };
    let owner = match &body.owner {
        Some(raw) => Some(agent(&state, tenant, raw, "owner").await?),
        None => None,
    };
    let new = NewTicket {
        name,
        pipeline: pipeline.id,
        stage,
        contact_email,
        contact_name,
        company,
        owner,
        priority: body.priority.unwrap_or(Priority::Normal),
        properties,
        follower: actor.member.as_ref().map(|m| m.id.clone()),
    };
    let (id, event) = state.store.create_ticket(tenant, new).await?;
    state.dispatch.wait_for(tenant, event, ROUTING_WAIT).await;
    let ticket = lookup::ticket(&state, &actor, id.as_str()).await?;
    Ok((
        StatusCode::CREATED,
        Json(detail(&state, &actor, &ticket).await?),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    pipeline: Option<String>,
    status: Option<String>,
    owner: Option<String>,
    limit: Option<u32>,
    after: Option<String>,
}

/// A page of the tickets the caller may see, newest first.
pub(super) async fn list(
    actor: Actor,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    let page = page::by_id(query.limit, query.after.as_deref(), TicketId::parse)?;
    let tenant = &actor.tenant.id;
    let filter = TicketFilter {
        pipeline: match query.pipeline.as_deref() {
            Some(raw) => Some(lookup::filter_pipeline(&state, tenant, raw, "pipeline").await?),
            None => None,
        },
        stage: match query.status.as_deref() {
            Some(raw) => Some(lookup::filter_stage(&state, tenant, raw, "status").await?),
            None => None,
        },
        owner: match query.owner.as_deref() {
            Some(raw) => Some(lookup::filter_agent(&state, tenant, raw, "owner").await?),
            None => None,
        },
    };
    let found = state
        .store
        .tickets(&actor.tenant.id, &filter, &actor.visibility, &page)
        .await?;
    Ok(Json(found.map(|t| view(&t))))
}

pub(super) async fn get(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    Ok(Json(detail(&state, &actor, &ticket).await?))
}

/// `null` given for a field is `Some(None)` (remove it); absent is `None`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PatchBody {
    name: Option<String>,
    priority: Option<Priority>,
    #[serde(default, deserialize_with = "present")]
    owner: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    company: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    contact: Option<Option<ContactBody>>,
    /// Merged into the ticket's properties; `null` removes one.
    properties: Option<Map<String, Value>>,
    status: Option<String>,
}

/// Edit a ticket; everything given changes together or nothing does.
pub(super) async fn update(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<PatchBody>,
) -> Result<Json<Value>, ApiError> {
    let tenant = &actor.tenant.id;
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    not_merged(&ticket)?;
    let mut patch = TicketPatch {
        name: body
            .name
            .as_deref()
            .map(|n| parse_line(n, MAX_NAME).map_err(|e| ApiError::invalid("name", e)))
            .transpose()?,
        priority: body.priority,
        ..TicketPatch::default()
    };
    if let Some(owner) = &body.owner {
        patch.owner = Some(match owner {
            Some(raw) => Some(agent(&state, tenant, raw, "owner").await?),
            None => None,
        });
    }
    if let Some(raw) = &body.company {
        patch.company = Some(match raw {
            Some(raw) => Some(company(&state, tenant, raw).await?),
            None => None,
        });
    }
    if let Some(given) = &body.contact {
        patch.contact = Some(match given {
            Some(body) => {
                let (email, name) = contact(body)?;
                (Some(email), name)
            }
            None => (None, None),
        });
    }
    let properties = match body.properties {
        Some(map) => ticket
            .properties
            .merged(&properties(map)?)
            .map_err(|e| ApiError::invalid("properties", e))?,
        None => ticket.properties.clone(),
    };
    if let Some(raw) = &body.status {
        let pipeline = state
            .store
            .pipeline(tenant, &ticket.pipeline)
            .await?
            .ok_or_else(|| ApiError::internal(format!("pipeline {} is gone", ticket.pipeline)))?;
        patch.stage = Some(status_in(&pipeline, raw, "status", &properties)?);
    }
    patch.properties = Some(properties);
    if let Some(event) = state.store.update_ticket(tenant, &ticket, patch).await? {
        state.dispatch.wait_for(tenant, event, ROUTING_WAIT).await;
    }
    Ok(Json(fresh(&state, &actor, &ticket).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteBody {
    /// The ticket's id again: deleting cannot be undone.
    confirm: String,
}

/// Delete a ticket and its conversation for good. Only an admin may, and
/// only with the id repeated in `confirm`.
pub(super) async fn delete(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<DeleteBody>,
) -> Result<Json<Value>, ApiError> {
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    let admin = actor.admin("delete a ticket")?;
    if body.confirm != ticket.id.as_str() {
        return Err(ApiError::invalid(
            "confirm",
            "repeat the ticket's id to confirm: this cannot be undone",
        ));
    }
    state
        .store
        .delete_conversation(&actor.tenant.id, &ticket.conversation)
        .await?;
    tracing::info!(id = %ticket.id, admin = %admin.id, "ticket deleted for good");
    Ok(Json(json!({ "deleted": ticket.id })))
}
