//! Tags and notes, member and customer links, and permanent deletion.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{JsonBody, Path, Tenant};
use super::openapi::Created;
use super::{AppState, lookup};
use crate::domain::{Author, ConversationId, Email, Millis};

/// A conversation's tags.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct Tags {
    tags: Vec<String>,
}

/// A conversation's internal note; `null` when it has none.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct Note {
    note: Option<String>,
}

/// The note agents keep on a contact, by e-mail address.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ContactNote {
    email: String,
    note: Option<String>,
}

/// The links to a conversation: the member one, and the customer one when
/// it has just been made (it is shown this once).
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct Links {
    member: String,
    customer: Option<String>,
    customer_issued: bool,
}

/// What the customer's link shows.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct CustomerPage {
    subject: Option<String>,
    status: String,
    /// The public messages, oldest first.
    messages: Vec<CustomerLine>,
}

/// One public message, as the customer sees it.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct CustomerLine {
    author: Author,
    body: String,
    created_at: Millis,
}

/// A conversation deleted for good.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct Deleted {
    deleted: ConversationId,
}

/// Notes on conversations and contacts are short by design.
const MAX_NOTE: usize = 500;
const MAX_TAG: usize = 64;
const MAX_TAGS: usize = 50;

fn note(field: &str, text: &str) -> Result<Option<String>, ApiError> {
    let text = text.trim();
    if text.chars().count() > MAX_NOTE {
        return Err(ApiError::invalid(
            field,
            format!(
                "must be at most {MAX_NOTE} characters (this one has {})",
                text.chars().count()
            ),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TagsBody {
    tags: Vec<String>,
}

/// Replace the conversation's tags (typically set when closing it).
pub(super) async fn set_tags(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<TagsBody>,
) -> Result<Json<Tags>, ApiError> {
    let id = lookup::conversation(&state, &tenant.id, &raw).await?.id;
    if body.tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut tags = Vec::new();
    for (i, tag) in body.tags.iter().enumerate() {
        let tag = tag.trim();
        if tag.is_empty() || tag.chars().count() > MAX_TAG || tag.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                format!("tags[{i}]"),
                format!("a tag has 1 to {MAX_TAG} printable characters"),
            ));
        }
        tags.push(tag.to_owned());
    }
    state.store.set_tags(&id, &tags).await?;
    Ok(Json(Tags {
        tags: state.store.tags(&id).await?,
    }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NoteBody {
    note: String,
}

pub(super) async fn set_conversation_note(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<NoteBody>,
) -> Result<Json<Note>, ApiError> {
    let id = lookup::conversation(&state, &tenant.id, &raw).await?.id;
    let text = note("note", &body.note)?;
    state
        .store
        .set_conversation_note(&id, text.as_deref())
        .await?;
    Ok(Json(Note { note: text }))
}

fn contact_email(raw: &str) -> Result<String, ApiError> {
    Email::parse(raw)
        .map(|e| e.as_str().to_lowercase())
        .map_err(|e| ApiError::invalid("email", e))
}

pub(super) async fn set_contact_note(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<NoteBody>,
) -> Result<Json<ContactNote>, ApiError> {
    let email = contact_email(&raw)?;
    let text = note("note", &body.note)?.unwrap_or_default();
    state
        .store
        .set_contact_note(&tenant.id, &email, &text)
        .await?;
    Ok(Json(ContactNote {
        email,
        note: Some(text),
    }))
}

pub(super) async fn get_contact(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<ContactNote>, ApiError> {
    let email = contact_email(&raw)?;
    let note = state.store.contact_note(&tenant.id, &email).await?;
    Ok(Json(ContactNote { email, note }))
}

/// The member link (for agents, behind the API key), and whether the
/// conversation has a customer link. The customer link's token is kept only
/// as a hash, so it is shown once, by [`new_link`].
pub(super) async fn links(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Links>, ApiError> {
    let id = lookup::conversation(&state, &tenant.id, &raw).await?.id;
    let issued = state.store.has_customer_token(&id).await?;
    Ok(Json(Links {
        member: format!("/v1/conversations/{id}"),
        customer: None,
        customer_issued: issued,
    }))
}

/// A new customer link (a secret URL that shows this conversation only,
/// without internal notes), shown this once. Any earlier customer link of
/// the conversation stops working: that is how a lost or leaked one is
/// replaced.
pub(super) async fn new_link(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Created<Links>, ApiError> {
    let id = lookup::conversation(&state, &tenant.id, &raw).await?.id;
    let token = state
        .store
        .new_customer_token(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("conversation {id}")))?;
    Ok(Created(Links {
        member: format!("/v1/conversations/{id}"),
        customer: Some(format!("/v1/customer/{token}")),
        customer_issued: true,
    }))
}

/// What the customer sees: the subject, the status and the public
/// messages; never internal notes, assignees, history or other customers.
pub(super) async fn customer_view(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<CustomerPage>, ApiError> {
    let view = state
        .store
        .customer_view(&token)
        .await?
        .ok_or_else(|| ApiError::not_found("such conversation"))?;
    let messages = view
        .messages
        .into_iter()
        .map(|m| CustomerLine {
            author: m.author,
            body: m.body,
            created_at: m.created_at,
        })
        .collect();
    Ok(Json(CustomerPage {
        subject: view.subject,
        status: view.status,
        messages,
    }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CustomerMessage {
    body: String,
}

/// The customer writes through their link.
pub(super) async fn customer_message(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(body): JsonBody<CustomerMessage>,
) -> Result<Created<CustomerPage>, ApiError> {
    let (tenant, id) = state
        .store
        .customer_conversation(&token)
        .await?
        .ok_or_else(|| ApiError::not_found("such conversation"))?;
    let text = body.body.trim();
    if text.is_empty() || text.chars().count() > 20_000 {
        return Err(ApiError::invalid("body", "must have 1 to 20000 characters"));
    }
    let (_, event) = state
        .store
        .add_message(&tenant, &id, Author::Customer, text, false)
        .await?;
    if let Some(event) = event {
        state
            .dispatch
            .wait_for(&tenant, event, Duration::from_secs(5))
            .await;
    }
    Ok(Created(customer_view(State(state), Path(token)).await?.0))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteBody {
    /// The conversation's id again: deleting cannot be undone.
    confirm: String,
}

/// Delete a conversation for good: its messages, notes, tags, history and
/// events go with it, so it no longer counts anywhere. Only an admin, named
/// in `X-Baton-Agent`, may do it, and only with the id repeated in `confirm`.
pub(super) async fn delete(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DeleteBody>,
) -> Result<Json<Deleted>, ApiError> {
    let id = lookup::conversation(&state, &tenant.id, &raw).await?.id;
    let actor = lookup::admin(&state, &tenant.id, &headers, "delete a conversation").await?;
    if body.confirm != id.as_str() {
        return Err(ApiError::invalid(
            "confirm",
            "repeat the conversation's id to confirm: this cannot be undone",
        ));
    }
    state.store.delete_conversation(&tenant.id, &id).await?;
    tracing::info!(%id, admin = %actor, "conversation deleted for good");
    Ok(Json(Deleted { deleted: id }))
}
