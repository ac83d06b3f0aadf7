//! The help desk's inbound channels and their settings: e-mail (which
//! joins the thread it answers) and web forms, each filed as a ticket when
//! the channel is connected to the help desk.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::AppState;
use super::conversations::{ROUTING_WAIT, body_text};
use super::error::ApiError;
use super::extract::{JsonBody, Tenant};
use super::openapi::Created;
use super::openapi::JsonWithStatus;
use super::ticket_fields::pipeline;
use super::tickets::view;
use crate::domain::{
    Channel, ConversationId, Email, EmailMessageId, HelpDesk, NewConversation, Priority, TenantId,
    parse_line,
};
use crate::store::{Delivery, InboundEmail};

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PartyBody {
    email: String,
    name: Option<String>,
}

/// The e-mail and name of a sender, errors naming `<field>.email` etc.
fn party(field: &str, body: &PartyBody) -> Result<(String, Option<String>), ApiError> {
    let email =
        Email::parse(&body.email).map_err(|e| ApiError::invalid(format!("{field}.email"), e))?;
    let name = body
        .name
        .as_deref()
        .map(|n| parse_line(n, 200).map_err(|e| ApiError::invalid(format!("{field}.name"), e)))
        .transpose()?;
    Ok((email.as_str().to_owned(), name))
}

/// An optional subject; a blank one is no subject.
fn subject(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_line(s, 500)
            .map(Some)
            .map_err(|e| ApiError::invalid("subject", e)),
        None => Ok(None),
    }
}

/// What became of the conversation: its id and its ticket, if it is one.
async fn answer(
    state: &AppState,
    tenant: &TenantId,
    outcome: &'static str,
    conversation: &ConversationId,
) -> Result<Received, ApiError> {
    let ticket = state
        .store
        .ticket_for_conversation(tenant, conversation)
        .await?;
    Ok(Received {
        outcome,
        conversation: conversation.clone(),
        ticket: ticket.as_ref().map(view),
        message: None,
    })
}

/// What became of an inbound e-mail or form.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Received {
    /// `opened` (a new conversation), `threaded` (a reply in an existing
    /// one) or `duplicate` (a Message-ID seen before: nothing changed).
    outcome: &'static str,
    conversation: ConversationId,
    /// The conversation's ticket, on a channel connected to the help desk.
    ticket: Option<super::tickets::TicketView>,
    /// The id of the message a threaded e-mail added.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<crate::domain::MessageId>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EmailBody {
    from: PartyBody,
    subject: Option<String>,
    body: String,
    /// The e-mail's `Message-ID`.
    message_id: String,
    /// Its `In-Reply-To`.
    in_reply_to: Option<String>,
    /// Its `References`, oldest first as in the header.
    #[serde(default)]
    references: Vec<String>,
}

/// A one-to-one e-mail to the help desk. An answer to a message of a known
/// thread (one Baton sent or received) joins that conversation as the
/// customer's message; anything else opens a conversation, filed as a
/// ticket when e-mail is connected. A redelivered Message-ID changes
/// nothing.
pub(super) async fn email(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<JsonWithStatus<Received, 201, 200>, ApiError> {
    let (from_email, from_name) = party("from", &body.from)?;
    let message_id =
        EmailMessageId::parse(&body.message_id).map_err(|e| ApiError::invalid("message_id", e))?;
    let mut thread = Vec::new();
    if let Some(raw) = &body.in_reply_to {
        thread.push(EmailMessageId::parse(raw).map_err(|e| ApiError::invalid("in_reply_to", e))?);
    }
    // The newest reference is the likeliest parent.
    for (i, raw) in body.references.iter().enumerate().rev() {
        let id = EmailMessageId::parse(raw)
            .map_err(|e| ApiError::invalid(format!("references[{i}]"), e))?;
        if !thread.contains(&id) {
            thread.push(id);
        }
    }
    let mail = InboundEmail {
        from_email,
        from_name,
        subject: subject(body.subject.as_deref())?,
        body: body_text("body", &body.body)?,
        message_id,
        thread,
    };
    let bot = state
        .store
        .bot_for_channel(&tenant.id, Channel::Email)
        .await?;
    let (status, outcome, conversation, message) =
        match state.store.receive_email(&tenant.id, mail, bot).await? {
            Delivery::Duplicate { conversation } => {
                (StatusCode::OK, "duplicate", conversation, None)
            }
            Delivery::Threaded {
                conversation,
                message,
                event,
            } => {
                if let Some(event) = event {
                    state
                        .dispatch
                        .wait_for(&tenant.id, event, ROUTING_WAIT)
                        .await;
                }
                (StatusCode::CREATED, "threaded", conversation, Some(message))
            }
            Delivery::Opened {
                conversation,
                event,
            } => {
                state
                    .dispatch
                    .wait_for(&tenant.id, event, ROUTING_WAIT)
                    .await;
                (StatusCode::CREATED, "opened", conversation, None)
            }
        };
    let mut out = answer(&state, &tenant.id, outcome, &conversation).await?;
    out.message = message;
    Ok(JsonWithStatus(status, out))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FormBody {
    contact: PartyBody,
    subject: Option<String>,
    message: Option<String>,
    /// The form's other fields; they become the conversation's attributes,
    /// so assignment rules can test them.
    #[serde(default)]
    fields: Map<String, Value>,
}

/// A web-form submission: a conversation on the form channel, filed as a
/// ticket when forms are connected to the help desk.
pub(super) async fn form(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<FormBody>,
) -> Result<Created<Received>, ApiError> {
    let (email, name) = party("contact", &body.contact)?;
    if serde_json::to_vec(&body.fields).map_or(0, |v| v.len()) > 16 << 10 {
        return Err(ApiError::invalid(
            "fields",
            "must be at most 16 KiB of JSON",
        ));
    }
    let new = NewConversation {
        channel: Channel::Form,
        subject: subject(body.subject.as_deref())?,
        contact_name: name,
        contact_email: Some(email),
        contact_owner: None,
        attributes: body.fields,
        message: body
            .message
            .as_deref()
            .map(|m| body_text("message", m))
            .transpose()?,
        priority: Priority::Normal,
    };
    let bot = state
        .store
        .bot_for_channel(&tenant.id, Channel::Form)
        .await?;
    let (conversation, event) = state
        .store
        .create_conversation(&tenant.id, new, bot)
        .await?;
    state
        .dispatch
        .wait_for(&tenant.id, event, ROUTING_WAIT)
        .await;
    let out = answer(&state, &tenant.id, "opened", &conversation.id).await?;
    Ok(Created(out))
}

pub(super) async fn get_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<HelpDesk>, ApiError> {
    Ok(Json(state.store.help_desk(&tenant.id).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsBody {
    /// Channels whose new conversations become tickets.
    channels: Vec<Channel>,
    /// Where automatic tickets go; the default pipeline when absent.
    pipeline: Option<String>,
}

pub(super) async fn put_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SettingsBody>,
) -> Result<Json<HelpDesk>, ApiError> {
    let pipeline = match &body.pipeline {
        Some(raw) => Some(pipeline(&state, &tenant.id, raw, "pipeline").await?.id),
        None => None,
    };
    let mut channels = body.channels;
    channels.sort();
    channels.dedup();
    let settings = HelpDesk { channels, pipeline };
    state.store.put_help_desk(&tenant.id, &settings).await?;
    Ok(Json(settings))
}
