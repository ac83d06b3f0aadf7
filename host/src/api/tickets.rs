//! Help-desk tickets: making them by hand, reading, editing and deleting.
//! A member sees only the tickets their access allows; any other ticket is
//! a 404 on every ticket call.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::conversations::ROUTING_WAIT;
use super::error::ApiError;
use super::extract::{Actor, JsonBody, Path, Query};
use super::openapi::Created;
use super::ticket_fields::{
    ContactBody, agent, company, contact, not_merged, pipeline, properties, status_in,
};
use super::{AppState, lookup, page};
use crate::domain::{
    AgentId, Channel, CompanyId, ConversationId, ConversationStatus, Millis, Page, PipelineId,
    Priority, Properties, StageId, TicketId, parse_line,
};
use crate::store::{NewTicket, ThreadMessage, TicketFilter, TicketPatch, TicketRecord, Visibility};

/// Longest ticket name, as for conversation subjects.
const MAX_NAME: usize = 500;

/// A ticket as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct TicketView {
    id: TicketId,
    name: String,
    pipeline: PipelineId,
    /// The stage the ticket is at, and its name.
    status: StageId,
    status_name: String,
    /// Whether the stage is a closed one.
    closed: bool,
    priority: Priority,
    owner: Option<AgentId>,
    /// Who wrote in; `null` when nobody is known.
    contact: Option<TicketContact>,
    company: Option<CompanyId>,
    properties: Map<String, Value>,
    /// How it came in: `email`, `form`, `chat`, `manual`, ...
    source: String,
    merged_into: Option<TicketId>,
    conversation: ConversationId,
    conversation_status: ConversationStatus,
    channel: Channel,
    created_at: Millis,
    updated_at: Millis,
}

/// A ticket's contact.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct TicketContact {
    email: Option<String>,
    name: Option<String>,
}

impl From<&TicketRecord> for TicketView {
    fn from(t: &TicketRecord) -> Self {
        let contact = match (&t.contact_email, &t.contact_name) {
            (None, None) => None,
            (email, name) => Some(TicketContact {
                email: email.clone(),
                name: name.clone(),
            }),
        };
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            pipeline: t.pipeline.clone(),
            status: t.stage.clone(),
            status_name: t.stage_name.clone(),
            closed: t.closed,
            priority: t.priority,
            owner: t.owner.clone(),
            contact,
            company: t.company.clone(),
            properties: t.properties.as_map().clone(),
            source: t.source.clone(),
            merged_into: t.merged_into.clone(),
            conversation: t.conversation.clone(),
            conversation_status: t.conversation_status,
            channel: t.channel,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// The ticket as the API shows it.
pub(super) fn view(t: &TicketRecord) -> TicketView {
    TicketView::from(t)
}

/// A ticket with its thread (public messages and comments apart), its
/// followers and tags, and whether the caller has a draft on it.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct TicketDetail {
    #[serde(flatten)]
    ticket: TicketView,
    messages: Vec<ThreadMessage>,
    comments: Vec<ThreadMessage>,
    followers: Vec<AgentId>,
    tags: Vec<String>,
    /// 1 when the acting member has a draft reply on it, else 0.
    drafts: usize,
}

/// The ticket with its thread (public messages and comments apart), its
/// followers and tags, and whether the caller has a draft on it.
pub(super) async fn detail(
    state: &AppState,
    actor: &Actor,
    ticket: &TicketRecord,
) -> Result<TicketDetail, ApiError> {
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
    Ok(TicketDetail {
        ticket: view(ticket),
        messages,
        comments,
        followers: store.followers(&ticket.conversation).await?,
        tags: store.tags(&ticket.conversation).await?,
        drafts,
    })
}

/// Read the ticket again (after a change) and show it in full.
pub(super) async fn fresh(
    state: &AppState,
    actor: &Actor,
    ticket: &TicketRecord,
) -> Result<TicketDetail, ApiError> {
    // The caller may no longer see it (e.g. gave it away): show it anyway,
    // since they just changed it.
    let current = state
        .store
        .ticket(&actor.tenant.id, &ticket.id, &Visibility::All)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("ticket {}", ticket.id)))?;
    detail(state, actor, &current).await
}

#[derive(Deserialize, schemars::JsonSchema)]
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
) -> Result<Created<TicketDetail>, ApiError> {
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
    Ok(Created(detail(&state, &actor, &ticket).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
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
) -> Result<Json<Page<TicketView>>, ApiError> {
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
) -> Result<Json<TicketDetail>, ApiError> {
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    Ok(Json(detail(&state, &actor, &ticket).await?))
}

/// `null` given for a field is `Some(None)` (remove it); absent is `None`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, schemars::JsonSchema)]
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
) -> Result<Json<TicketDetail>, ApiError> {
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

#[derive(Deserialize, schemars::JsonSchema)]
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
) -> Result<Json<Deleted>, ApiError> {
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
    Ok(Json(Deleted { deleted: ticket.id }))
}

/// A ticket deleted for good.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct Deleted {
    deleted: TicketId,
}
