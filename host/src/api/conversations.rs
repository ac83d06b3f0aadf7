//! Conversations and their messages.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::{JsonBody, Path, Query, Tenant};
use super::openapi::Created;
use super::{AppState, lookup, page};
use crate::domain::{
    AgentId, Assignee, Author, Channel, ConversationId, ConversationRecord, ConversationStatus,
    Email, EventKind, HistoryRecord, MessageRecord, Millis, NewConversation, Page, Priority,
    Routing, StatusChange, TeamId, TenantId, TicketId, TimerKind, parse_duration_ms, parse_line,
    parse_time,
};
use crate::store::{AcceptRefusal, ConversationFilter};

/// How long a request waits for routing to react before answering with the
/// state as it is; the outbox finishes the work either way.
pub(super) const ROUTING_WAIT: Duration = Duration::from_secs(5);
/// Longest message body accepted, in characters.
const MAX_BODY: usize = 20_000;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ContactBody {
    name: Option<String>,
    email: Option<String>,
    /// The agent who owns the contact in the CRM.
    owner: Option<AgentId>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewConversationBody {
    channel: Channel,
    subject: Option<String>,
    contact: Option<ContactBody>,
    #[serde(default)]
    attributes: serde_json::Map<String, Value>,
    message: Option<String>,
    /// low, normal (default), high or urgent: the queue serves higher first.
    #[serde(default = "normal")]
    priority: Priority,
}

fn normal() -> Priority {
    Priority::Normal
}

pub(super) fn body_text(field: &str, value: &str) -> Result<String, ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > MAX_BODY {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {MAX_BODY} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A conversation as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ConversationView {
    id: ConversationId,
    channel: Channel,
    subject: Option<String>,
    contact: ContactView,
    attributes: Value,
    status: ConversationStatus,
    routing: Routing,
    priority: Priority,
    assignee: Option<Assignee>,
    team: Option<TeamId>,
    queued_at: Option<Millis>,
    created_at: Millis,
    updated_at: Millis,
}

/// Who the customer is, as far as the conversation knows.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ContactView {
    name: Option<String>,
    email: Option<String>,
    /// The agent who owns the contact in the CRM.
    owner: Option<AgentId>,
}

impl From<ConversationRecord> for ConversationView {
    fn from(c: ConversationRecord) -> Self {
        Self {
            id: c.id,
            channel: c.channel,
            subject: c.subject,
            contact: ContactView {
                name: c.contact_name,
                email: c.contact_email,
                owner: c.contact_owner,
            },
            attributes: c.attributes,
            status: c.status,
            routing: c.routing,
            priority: c.priority,
            assignee: c.assignee,
            team: c.team,
            queued_at: c.queued_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A conversation with its thread, history and what is pending on it.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ConversationDetail {
    #[serde(flatten)]
    conversation: ConversationView,
    /// The latest 500 messages, oldest first.
    messages: Vec<MessageRecord>,
    history: Vec<HistoryRecord>,
    tags: Vec<String>,
    /// Agents the conversation is offered to, waiting for an answer.
    offered_to: Vec<String>,
    /// The internal note agents keep on it.
    note: Option<String>,
    followers: Vec<AgentId>,
    /// On a channel connected to the help desk, the conversation's ticket.
    ticket: Option<TicketId>,
    /// When a snooze ends (absent unless snoozed until a time).
    #[serde(skip_serializing_if = "Option::is_none")]
    snoozed_until: Option<Millis>,
    /// When it closes for lack of activity (absent unless set to).
    #[serde(skip_serializing_if = "Option::is_none")]
    closes_at: Option<Millis>,
    workflow_timers: Vec<WorkflowTimer>,
}

/// A timer a workflow set on the conversation.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct WorkflowTimer {
    workflow: Option<String>,
    name: Option<String>,
    due_at: Millis,
}

async fn detail(
    state: &AppState,
    tenant: &TenantId,
    id: &ConversationId,
) -> Result<ConversationDetail, ApiError> {
    let conversation = state
        .store
        .get_conversation(tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("conversation {id}")))?;
    let mut detail = ConversationDetail {
        conversation: conversation.into(),
        messages: state.store.messages(id, 500).await?,
        history: state.store.history(id).await?,
        tags: state.store.tags(id).await?,
        offered_to: state.store.offers(id).await?,
        note: state.store.conversation_note(id).await?,
        followers: state.store.followers(id).await?,
        ticket: state
            .store
            .ticket_for_conversation(tenant, id)
            .await?
            .map(|t| t.id),
        snoozed_until: None,
        closes_at: None,
        workflow_timers: Vec::new(),
    };
    for timer in state.store.pending_timers(id).await? {
        match timer.kind {
            TimerKind::SnoozeEnds => detail.snoozed_until = Some(timer.due_at),
            TimerKind::AutoClose => detail.closes_at = Some(timer.due_at),
            TimerKind::Workflow => detail.workflow_timers.push(WorkflowTimer {
                workflow: timer.plugin,
                name: timer.name,
                due_at: timer.due_at,
            }),
        }
    }
    Ok(detail)
}

fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(raw).map_err(|_| ApiError::not_found(format_args!("conversation {raw}")))
}

pub(super) async fn create(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewConversationBody>,
) -> Result<Created<ConversationDetail>, ApiError> {
    let subject = body
        .subject
        .as_deref()
        .map(|s| parse_line(s, 500).map_err(|e| ApiError::invalid("subject", e)))
        .transpose()?;
    let (contact_name, contact_email) = match &body.contact {
        Some(contact) => (
            contact
                .name
                .as_deref()
                .map(|n| parse_line(n, 200).map_err(|e| ApiError::invalid("contact.name", e)))
                .transpose()?,
            contact
                .email
                .as_deref()
                .map(|e| {
                    Email::parse(e)
                        .map(|e| e.as_str().to_owned())
                        .map_err(|err| ApiError::invalid("contact.email", err))
                })
                .transpose()?,
        ),
        None => (None, None),
    };
    if serde_json::to_vec(&body.attributes)
        .map(|v| v.len())
        .unwrap_or(0)
        > 16 << 10
    {
        return Err(ApiError::invalid(
            "attributes",
            "must be at most 16 KiB of JSON",
        ));
    }
    let contact_owner = body.contact.as_ref().and_then(|c| c.owner.clone());
    if let Some(owner) = &contact_owner
        && !state.store.agent_exists(&tenant.id, owner).await?
    {
        return Err(ApiError::invalid(
            "contact.owner",
            format!("no agent {owner}"),
        ));
    }
    let message = body
        .message
        .as_deref()
        .map(|m| body_text("message", m))
        .transpose()?;
    let bot = state
        .store
        .bot_for_channel(&tenant.id, body.channel)
        .await?;
    let new = NewConversation {
        channel: body.channel,
        subject,
        contact_name,
        contact_email,
        contact_owner,
        attributes: body.attributes,
        priority: body.priority,
        message,
    };
    let (conversation, event) = state
        .store
        .create_conversation(&tenant.id, new, bot)
        .await?;
    state
        .dispatch
        .wait_for(&tenant.id, event, ROUTING_WAIT)
        .await;
    Ok(Created(detail(&state, &tenant.id, &conversation.id).await?))
}

pub(super) async fn get(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ConversationDetail>, ApiError> {
    let id = conversation_id(&id)?;
    Ok(Json(detail(&state, &tenant.id, &id).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    status: Option<String>,
    routing: Option<String>,
    assignee: Option<String>,
    limit: Option<u32>,
    after: Option<String>,
}

/// A page of the tenant's conversations, newest first.
pub(super) async fn list(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<ConversationView>>, ApiError> {
    let page = page::by_id(query.limit, query.after.as_deref(), ConversationId::parse)?;
    let assignee = match query.assignee.as_deref() {
        Some(raw) => Some(lookup::filter_assignee(&state, &tenant.id, raw, "assignee").await?),
        None => None,
    };
    let filter = ConversationFilter {
        status: query
            .status
            .as_deref()
            .map(|s| ConversationStatus::parse(s).map_err(|e| ApiError::invalid("status", e)))
            .transpose()?,
        routing: query
            .routing
            .as_deref()
            .map(|s| Routing::parse(s).map_err(|e| ApiError::invalid("routing", e)))
            .transpose()?,
        assignee,
    };
    let found = state
        .store
        .list_conversations(&tenant.id, &filter, &page)
        .await?;
    Ok(Json(found.map(ConversationView::from)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewMessage {
    author: Author,
    body: String,
    #[serde(default)]
    internal: bool,
    /// From a bot: it could not answer, so a human should take over (a
    /// default handoff trigger).
    #[serde(default)]
    cannot_answer: bool,
}

pub(super) async fn add_message(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewMessage>,
) -> Result<Created<MessageAdded>, ApiError> {
    let id = conversation_id(&id)?;
    let text = body_text("body", &body.body)?;
    if body.internal && body.author == Author::Customer {
        return Err(ApiError::invalid(
            "internal",
            "a customer cannot write an internal note",
        ));
    }
    if body.cannot_answer && (body.author != Author::Bot || body.internal) {
        return Err(ApiError::invalid(
            "cannot_answer",
            "only a bot's public message can say it cannot answer",
        ));
    }
    if state
        .store
        .get_conversation(&tenant.id, &id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format_args!("conversation {id}")));
    }
    let signal = body.cannot_answer.then_some(EventKind::BotCannotAnswer);
    let (message, event) = state
        .store
        .add_message_with(&tenant.id, &id, body.author, &text, body.internal, signal)
        .await?;
    if body.internal {
        super::collaboration::mention(&state, &tenant.id, &id, &text).await?;
    }
    if let Some(event) = event {
        state
            .dispatch
            .wait_for(&tenant.id, event, ROUTING_WAIT)
            .await;
    }
    let conversation = detail(&state, &tenant.id, &id).await?;
    Ok(Created(MessageAdded {
        message,
        conversation,
    }))
}

/// A message written, and the conversation after routing heard of it.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct MessageAdded {
    message: MessageRecord,
    conversation: ConversationDetail,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusBody {
    status: ConversationStatus,
    /// Snooze until this time (RFC 3339).
    until: Option<String>,
    /// Snooze for this long ("30m", "2h", "1d").
    #[serde(rename = "for")]
    duration: Option<String>,
}

/// Longest snooze accepted: a guard against typos in the year.
const MAX_SNOOZE_MS: i64 = 366 * 24 * 3_600_000;

impl StatusBody {
    /// The requested change; a snooze needs exactly one of `until` and `for`,
    /// ending in the future.
    fn change(&self, now: Millis) -> Result<StatusChange, ApiError> {
        let snooze_only = |field: &str| {
            ApiError::invalid(field, "only a snooze has an end: use it with \"snoozed\"")
        };
        match self.status {
            ConversationStatus::Open | ConversationStatus::Closed => {
                if self.until.is_some() {
                    return Err(snooze_only("until"));
                }
                if self.duration.is_some() {
                    return Err(snooze_only("for"));
                }
                Ok(match self.status {
                    ConversationStatus::Open => StatusChange::Open,
                    _ => StatusChange::Close,
                })
            }
            ConversationStatus::Snoozed => {
                let until = match (&self.until, &self.duration) {
                    (Some(until), None) => {
                        parse_time(until).map_err(|e| ApiError::invalid("until", e))?
                    }
                    (None, Some(duration)) => {
                        let ms =
                            parse_duration_ms(duration).map_err(|e| ApiError::invalid("for", e))?;
                        Millis(now.0.saturating_add(ms))
                    }
                    (Some(_), Some(_)) => {
                        return Err(ApiError::invalid("for", "give `until` or `for`, not both"));
                    }
                    (None, None) => {
                        return Err(ApiError::invalid(
                            "until",
                            "a snooze needs an end: `until` (a time) or `for` (e.g. \"2h\")",
                        ));
                    }
                };
                let field = if self.until.is_some() { "until" } else { "for" };
                if until <= now {
                    return Err(ApiError::invalid(field, "must be in the future"));
                }
                if now.until(until) > MAX_SNOOZE_MS {
                    return Err(ApiError::invalid(field, "a snooze lasts at most a year"));
                }
                Ok(StatusChange::Snooze(Some(until)))
            }
        }
    }
}

/// Open, snooze or close; closing frees the assignee's capacity for the queue.
pub(super) async fn set_status(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Json<ConversationDetail>, ApiError> {
    let id = conversation_id(&id)?;
    let change = body.change(state.store.now())?;
    let event = state
        .store
        .set_status(&tenant.id, &id, change)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("conversation {id}")))?;
    state
        .dispatch
        .wait_for(&tenant.id, event, ROUTING_WAIT)
        .await;
    Ok(Json(detail(&state, &tenant.id, &id).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AcceptBody {
    agent: AgentId,
}

/// An agent accepts a conversation offered to several at once; the first
/// wins and the others get 409.
pub(super) async fn accept(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AcceptBody>,
) -> Result<Json<ConversationDetail>, ApiError> {
    let id = conversation_id(&id)?;
    match state
        .store
        .accept_offer(&tenant.id, &id, &body.agent)
        .await?
    {
        Ok(event) => {
            state
                .dispatch
                .wait_for(&tenant.id, event, ROUTING_WAIT)
                .await;
            Ok(Json(detail(&state, &tenant.id, &id).await?))
        }
        Err(AcceptRefusal::NotFound) => Err(ApiError::not_found(format_args!("conversation {id}"))),
        Err(AcceptRefusal::NotOffered) => Err(ApiError::invalid(
            "agent",
            format!("{} was not offered this conversation", body.agent),
        )),
        Err(AcceptRefusal::Taken) => {
            Err(ApiError::conflict("another agent accepted the offer first"))
        }
    }
}

/// The conversation as plugins would see it now, as cases for
/// `baton plugin test` (one per kind of plugin; add `expect` to check).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CasesQuery {
    /// Record for this plugin (id, or name for its newest version): only
    /// its kind's case, with the config it is bound with.
    plugin: Option<String>,
}

pub(super) async fn cases(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<CasesQuery>,
) -> Result<Json<Vec<Value>>, ApiError> {
    use crate::routing::recording;
    let id = conversation_id(&id)?;
    let conversation = state
        .store
        .get_conversation(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("conversation {id}")))?;
    let plugin = match query.plugin.as_deref() {
        Some(reference) => Some(
            state
                .store
                .find_plugin(&tenant.id, reference)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(format_args!("plugin {reference:?}")).with_field("plugin")
                })?,
        ),
        None => None,
    };
    let limits = state.plugins.runtime().limits();
    let cases = recording::cases(&state.store, limits, &conversation).await?;
    let cases = match plugin {
        Some(plugin) => {
            let config = recording::bound_config(&state.store, &tenant.id, &plugin)
                .await?
                .unwrap_or_else(|| json!({}));
            recording::for_plugin(cases, plugin.kind, &config)
        }
        None => cases,
    };
    Ok(Json(
        cases
            .into_iter()
            .map(crate::plugin::cases::spelled)
            .collect(),
    ))
}
