//! A ticket's thread: replies to the customer (to a chosen message, with a
//! status change), comments with @mentions, and members' drafts.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::collaboration::mentioned;
use super::conversations::{ROUTING_WAIT, body_text};
use super::error::ApiError;
use super::extract::{Actor, JsonBody, Path};
use super::openapi::Created;
use super::ticket_fields::{not_merged, properties, status_in};
use super::tickets::fresh;
use super::{AppState, lookup};
use crate::domain::{AgentId, MessageId};
use crate::store::{DraftRecord, Reply};

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplyBody {
    body: String,
    /// The message answered; by default the latest customer message.
    reply_to: Option<String>,
    /// A status of the ticket's pipeline to move to with the reply.
    status: Option<String>,
    /// Properties to set with it (a conditional status may need them).
    properties: Option<Map<String, Value>>,
}

/// Reply to the customer as the acting member, optionally moving the
/// ticket to a status in the same transaction. Sending removes the
/// member's draft.
pub(super) async fn reply(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<ReplyBody>,
) -> Result<Created<Replied>, ApiError> {
    let tenant = &actor.tenant.id;
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    not_merged(&ticket)?;
    let author = actor.member("a reply")?;
    let text = body_text("body", &body.body)?;
    if ticket.contact_email.is_none() {
        return Err(ApiError::invalid(
            "contact",
            "the ticket has no contact e-mail to reply to; set one first",
        ));
    }
    let reply_to = match &body.reply_to {
        Some(raw) => {
            let id = MessageId::parse(raw).map_err(|e| ApiError::invalid("reply_to", e))?;
            let thread = state.store.thread(&ticket.conversation).await?;
            match thread.iter().find(|m| m.id == id) {
                Some(m) if !m.internal => Some(id),
                Some(_) => {
                    return Err(ApiError::invalid(
                        "reply_to",
                        "a comment is internal: the customer never saw it",
                    ));
                }
                None => {
                    return Err(ApiError::invalid(
                        "reply_to",
                        format!("{id} is not a message of this ticket"),
                    ));
                }
            }
        }
        None => None,
    };
    let merged = match body.properties {
        Some(map) => Some(
            ticket
                .properties
                .merged(&properties(map)?)
                .map_err(|e| ApiError::invalid("properties", e))?,
        ),
        None => None,
    };
    let stage = match &body.status {
        Some(raw) => {
            let pipeline = state
                .store
                .pipeline(tenant, &ticket.pipeline)
                .await?
                .ok_or_else(|| {
                    ApiError::internal(format!("pipeline {} is gone", ticket.pipeline))
                })?;
            let with = merged.as_ref().unwrap_or(&ticket.properties);
            Some(status_in(&pipeline, raw, "status", with)?)
        }
        None => None,
    };
    let reply = Reply {
        body: text,
        reply_to,
        stage,
        properties: merged,
    };
    let (message, event) = state
        .store
        .reply(tenant, &ticket, &author.id, reply)
        .await?;
    // Its e-mail to the contact is queued: send it now, not at the next poll.
    state.notify.wake();
    if let Some(event) = event {
        state.dispatch.wait_for(tenant, event, ROUTING_WAIT).await;
    }
    Ok(Created(Replied {
        message,
        ticket: fresh(&state, &actor, &ticket).await?,
    }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TextBody {
    body: String,
}

/// Comment on a ticket: an internal note the customer never sees. Each
/// member @mentioned (by e-mail or name) follows the ticket and is
/// notified with a link to it.
pub(super) async fn comment(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<TextBody>,
) -> Result<Created<Commented>, ApiError> {
    let tenant = &actor.tenant.id;
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    not_merged(&ticket)?;
    let author = actor.member("a comment")?;
    let text = body_text("body", &body.body)?;
    let mentions: Vec<AgentId> = if text.contains('@') {
        let agents = state.store.list_agents(tenant).await?;
        mentioned(&text, &agents)
            .into_iter()
            .map(|a| a.id.clone())
            .collect()
    } else {
        Vec::new()
    };
    let notice = format!(
        "{} mentioned you in a comment on ticket \"{}\": /v1/tickets/{}",
        author.name, ticket.name, ticket.id
    );
    let comment = state
        .store
        .comment(tenant, &ticket, &author.id, &text, &mentions, &notice)
        .await?;
    Ok(Created(Commented {
        comment,
        followers: state.store.followers(&ticket.conversation).await?,
    }))
}

/// Save the acting member's draft reply on a ticket (replacing theirs).
pub(super) async fn put_draft(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<TextBody>,
) -> Result<Json<DraftRecord>, ApiError> {
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    not_merged(&ticket)?;
    let author = actor.member("a draft")?;
    let text = body_text("body", &body.body)?;
    let saved = state.store.put_draft(&ticket.id, &author.id, &text).await?;
    saved
        .map(Json)
        .ok_or_else(|| ApiError::internal(format!("draft on {} not saved", ticket.id)))
}

/// The acting member's draft; another member's is never shown (a 404).
pub(super) async fn get_draft(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<DraftRecord>, ApiError> {
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    let author = actor.member("a draft")?;
    state
        .store
        .draft(&ticket.id, &author.id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("draft of yours on ticket {}", ticket.id)))
}

pub(super) async fn delete_draft(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<DraftDeleted>, ApiError> {
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    let author = actor.member("a draft")?;
    if !state.store.delete_draft(&ticket.id, &author.id).await? {
        return Err(ApiError::not_found(format_args!(
            "draft of yours on ticket {}",
            ticket.id
        )));
    }
    Ok(Json(DraftDeleted { deleted: true }))
}

/// The acting member's drafts, newest first.
pub(super) async fn drafts(
    actor: Actor,
    State(state): State<AppState>,
) -> Result<Json<Vec<DraftRecord>>, ApiError> {
    let author = actor.member("a draft")?;
    Ok(Json(
        state
            .store
            .drafts(&actor.tenant.id, &author.id, &actor.visibility)
            .await?,
    ))
}

/// A reply sent, and the ticket after it.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Replied {
    message: crate::store::ThreadMessage,
    ticket: super::tickets::TicketDetail,
}

/// An internal comment, and who follows the ticket now (a mention adds).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Commented {
    comment: crate::store::ThreadMessage,
    followers: Vec<AgentId>,
}

/// A draft deleted.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct DraftDeleted {
    deleted: bool,
}
