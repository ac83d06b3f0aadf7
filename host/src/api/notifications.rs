//! Notification settings per member, the tenant's webhook signing secret,
//! and the member's live in-app stream (Server-Sent Events).

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Path, Tenant};
use super::openapi::EventStream;
use crate::domain::{
    AgentId, AgentRecord, NotificationId, NotificationKind, NotifyChannel, NotifyPreferences,
    TenantId, WebhookUrl,
};
use crate::notify::address::WebhookPolicy;
use crate::notify::stream;
use crate::notify::webhook::SIGNATURE_HEADER;
use crate::store::NotifySettings;

/// The tenant's member named in the path; anything else is a 404.
async fn member(state: &AppState, tenant: &TenantId, raw: &str) -> Result<AgentRecord, ApiError> {
    let id = AgentId::parse(raw).map_err(|_| ApiError::not_found(format_args!("agent {raw}")))?;
    state
        .store
        .get_agent(tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))
}

/// A member's notification settings.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct SettingsView {
    agent: AgentId,
    email: String,
    /// For each kind of notification, the channels it goes to.
    types: std::collections::BTreeMap<String, Vec<NotifyChannel>>,
    chat_webhook_url: Option<WebhookUrl>,
    push_webhook_url: Option<WebhookUrl>,
    /// Every channel there is.
    channels: &'static [NotifyChannel],
}

fn settings_json(agent: &AgentRecord, settings: &NotifySettings) -> SettingsView {
    SettingsView {
        agent: agent.id.clone(),
        email: agent.email.clone(),
        types: NotificationKind::ALL
            .iter()
            .map(|kind| {
                (
                    kind.as_str().to_owned(),
                    settings.types.channels(*kind).into_iter().collect(),
                )
            })
            .collect(),
        chat_webhook_url: settings.chat_webhook_url.clone(),
        push_webhook_url: settings.push_webhook_url.clone(),
        channels: NotifyChannel::ALL,
    }
}

pub(super) async fn get_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<SettingsView>, ApiError> {
    let agent = member(&state, &tenant.id, &raw).await?;
    let settings = state.store.notify_settings(&agent.id).await?;
    Ok(Json(settings_json(&agent, &settings)))
}

/// An optional URL field: absent keeps it, `null` clears it. A URL whose
/// host is an IP literal the policy refuses is refused here; a host name
/// is checked when resolved, at each delivery.
fn url_field(
    body: &serde_json::Map<String, Value>,
    field: &str,
    current: Option<WebhookUrl>,
    policy: WebhookPolicy,
) -> Result<Option<WebhookUrl>, ApiError> {
    match body.get(field) {
        None => Ok(current),
        Some(Value::Null) => Ok(None),
        Some(Value::String(url)) => {
            let url = WebhookUrl::parse(url).map_err(|e| ApiError::invalid(field, e))?;
            policy
                .check_url(url.as_str())
                .map_err(|refused| ApiError::invalid(field, refused))?;
            Ok(Some(url))
        }
        Some(_) => Err(ApiError::invalid(field, "must be a URL or null")),
    }
}

/// Change a member's settings: the types named get exactly the channels
/// listed (`[]` turns a type off); the others keep theirs.
pub(super) async fn put_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<serde_json::Map<String, Value>>,
) -> Result<Json<SettingsView>, ApiError> {
    let agent = member(&state, &tenant.id, &raw).await?;
    if let Some(unknown) = body.keys().find(|k| {
        !matches!(
            k.as_str(),
            "types" | "chat_webhook_url" | "push_webhook_url"
        )
    }) {
        return Err(ApiError::invalid(
            unknown.clone(),
            "unknown field; expected types, chat_webhook_url or push_webhook_url",
        ));
    }
    let current = state.store.notify_settings(&agent.id).await?;
    let types = match body.get("types") {
        None => current.types.clone(),
        Some(value) => NotifyPreferences::parse_over(&current.types, value)
            .map_err(|(field, e)| ApiError::invalid(field, e))?,
    };
    let settings = NotifySettings {
        chat_webhook_url: url_field(
            &body,
            "chat_webhook_url",
            current.chat_webhook_url,
            state.notify.webhooks,
        )?,
        push_webhook_url: url_field(
            &body,
            "push_webhook_url",
            current.push_webhook_url,
            state.notify.webhooks,
        )?,
        types,
    };
    // A webhook channel without its address would only ever be skipped.
    for (channel, url, field) in [
        (
            NotifyChannel::ChatWebhook,
            &settings.chat_webhook_url,
            "chat_webhook_url",
        ),
        (
            NotifyChannel::PushWebhook,
            &settings.push_webhook_url,
            "push_webhook_url",
        ),
    ] {
        let users: Vec<&str> = NotificationKind::ALL
            .iter()
            .filter(|k| settings.types.channels(**k).contains(&channel))
            .map(|k| k.as_str())
            .collect();
        if url.is_none() && !users.is_empty() {
            return Err(ApiError::invalid(
                field,
                format!("is needed: {channel} is on for {}", users.join(", ")),
            ));
        }
    }
    state
        .store
        .put_notify_settings(&tenant.id, &agent.id, &settings)
        .await?;
    Ok(Json(settings_json(&agent, &settings)))
}

/// How webhooks are signed.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct SigningView {
    signing_secret: String,
    signature_header: &'static str,
    signature: &'static str,
}

fn secret_json(secret: &str) -> SigningView {
    SigningView {
        signing_secret: secret.to_owned(),
        signature_header: SIGNATURE_HEADER,
        signature: "sha256=<hex HMAC-SHA256 of the request body under signing_secret>",
    }
}

/// The webhook signing secret, generated at first use.
pub(super) async fn get_tenant_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<SigningView>, ApiError> {
    let secret = state.store.signing_secret(&tenant.id).await?;
    Ok(Json(secret_json(&secret)))
}

/// A new secret: every webhook sent from now on, retries included, is
/// signed with it.
pub(super) async fn rotate_secret(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<SigningView>, ApiError> {
    let secret = state.store.rotate_signing_secret(&tenant.id).await?;
    Ok(Json(secret_json(&secret)))
}

/// The member's in-app notifications as Server-Sent Events, each with
/// `id:` its notification id; `Last-Event-ID` replays what came after it.
pub(super) async fn stream(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<EventStream<Sse<impl Stream<Item = Result<Event, Infallible>>>>, ApiError> {
    let agent = member(&state, &tenant.id, &raw).await?;
    let last = match headers.get("last-event-id") {
        None => None,
        Some(value) => {
            let text = value.to_str().unwrap_or_default().trim();
            let id =
                NotificationId::parse(text).map_err(|e| ApiError::invalid("Last-Event-ID", e))?;
            // An id that is not (or no longer) the member's replays nothing.
            state
                .store
                .notification_seq(&tenant.id, &agent.id, &id)
                .await?
        }
    };
    // Subscribed before the replay is read, so nothing falls in between.
    let receiver = state.notify.hub.subscribe();
    let events = stream::member_stream(
        state.store.clone(),
        tenant.id.clone(),
        agent.id.clone(),
        receiver,
        last,
    )
    .await?;
    Ok(EventStream(
        Sse::new(events).keep_alive(KeepAlive::default()),
    ))
}
