//! Member notifications and their deliveries (an outbox per channel), each
//! member's preferences, and the tenant's webhook signing secret.
//!
//! A notification and its delivery rows are written in the transaction of
//! the change that caused them. The delivery worker claims one attempt at a
//! time: the claim itself moves the row to its retry time, so an attempt cut
//! short by a crash is made again later (at least once), never lost.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::outbox::Outbox;
use super::sql::{placeholders, value_rows};
use super::{Result, Store, opt_id};
use crate::domain::{
    AgentId, ConversationId, DeliveryState, MessageId, Millis, Notice, NotificationId,
    NotificationKind, NotifyChannel, NotifyPreferences, Page, PageRequest, TeamId, TenantId,
    WebhookUrl,
};

/// The settings topic holding the tenant's webhook signing secret.
const SECRET_TOPIC: &str = "notifications";

/// One channel's delivery of a notification.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct DeliveryRecord {
    #[serde(skip)]
    pub channel: NotifyChannel,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<Millis>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<Millis>,
}

/// A notification as stored.
#[derive(Debug, Clone)]
pub struct NotificationRecord {
    /// The in-app stream's order.
    pub seq: i64,
    pub id: NotificationId,
    pub tenant: TenantId,
    pub agent: AgentId,
    pub kind: NotificationKind,
    pub conversation: Option<ConversationId>,
    pub about: Option<MessageId>,
    pub title: String,
    pub message: String,
    pub created_at: Millis,
    pub deliveries: Vec<DeliveryRecord>,
}

impl NotificationRecord {
    /// The API's form (also each in-app stream event's data).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::json!({
            "id": self.id,
            "type": self.kind,
            "agent": self.agent,
            "title": self.title,
            "message": self.message,
            "conversation": self.conversation,
            "message_id": self.about,
            "at": self.created_at,
        });
        if !self.deliveries.is_empty() {
            let deliveries: serde_json::Map<String, serde_json::Value> = self
                .deliveries
                .iter()
                .map(|d| {
                    (
                        d.channel.as_str().to_owned(),
                        serde_json::to_value(d).unwrap_or_default(),
                    )
                })
                .collect();
            value["deliveries"] = serde_json::Value::Object(deliveries);
        }
        value
    }
}

/// A member's notification settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySettings {
    pub types: NotifyPreferences,
    pub chat_webhook_url: Option<WebhookUrl>,
    pub push_webhook_url: Option<WebhookUrl>,
}

/// One attempt the worker has claimed, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub delivery: i64,
    pub channel: NotifyChannel,
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub notification: NotificationRecord,
    pub agent_name: String,
    pub agent_email: String,
    pub chat_webhook_url: Option<String>,
    pub push_webhook_url: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum AttemptResult {
    Delivered,
    /// Not sent, on purpose (no SMTP, no URL): final.
    Skipped(String),
    /// Failed; `give_up` makes it final, otherwise it waits for its retry.
    Failed {
        error: String,
        give_up: bool,
    },
}

fn title(kind: NotificationKind, subject: &str) -> String {
    let what = match kind {
        NotificationKind::Assigned => "Assigned to you",
        NotificationKind::CustomerReplied => "Customer replied",
        NotificationKind::NewInTeam => "New in your team",
        NotificationKind::Reopened => "Reopened",
        NotificationKind::NewChat => "New chat",
        NotificationKind::NewMessage => "New message in your chat",
        NotificationKind::MissedChat => "Missed chat",
        NotificationKind::Mention => "You were mentioned",
        NotificationKind::Workflow => "Notice",
    };
    format!("{what}: {subject}")
}

async fn settings_in(tx: &mut sqlx::AnyConnection, agent: &AgentId) -> Result<NotifySettings> {
    let row = sqlx::query(&format!(
        "SELECT {SETTINGS_COLUMNS} FROM notification_settings s WHERE s.agent_id = $1"
    ))
    .bind(agent.as_str())
    .fetch_optional(tx)
    .await?;
    Ok(row.map(|r| settings_row(&r)).unwrap_or_default())
}

fn settings_row(row: &AnyRow) -> NotifySettings {
    let url = |column: &str| {
        row.get::<Option<String>, _>(column)
            .and_then(|u| WebhookUrl::parse(&u).ok())
    };
    NotifySettings {
        types: NotifyPreferences::from_stored(row.get("types")),
        chat_webhook_url: url("chat_webhook_url"),
        push_webhook_url: url("push_webhook_url"),
    }
}

/// The columns of a member's settings, of `notification_settings` aliased
/// `s` (all `NULL` for a member who never changed them).
const SETTINGS_COLUMNS: &str = "s.types, s.chat_webhook_url, s.push_webhook_url";

/// The members a recipient names by team or as the assignee, among the
/// tenant's, each with their notification settings: one statement.
/// Members named by id are read together ([`named_members`]).
async fn recipients(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: Option<&ConversationId>,
    recipient: &serde_json::Value,
) -> Result<Vec<(AgentId, NotifySettings)>> {
    let rows = if let Some(team) = recipient.get("team").and_then(|v| v.as_str()) {
        sqlx::query(&format!(
            "SELECT a.id, {SETTINGS_COLUMNS} FROM agents a
             JOIN agent_teams t ON t.agent_id = a.id
             LEFT JOIN notification_settings s ON s.agent_id = a.id
             WHERE a.tenant_id = $1 AND t.team_id = $2 AND a.removed_at IS NULL ORDER BY a.id"
        ))
        .bind(tenant.as_str())
        .bind(team)
        .fetch_all(&mut *tx)
        .await?
    } else if recipient.as_str() == Some("assignee")
        && let Some(c) = conversation
    {
        sqlx::query(&format!(
            "SELECT c.assignee_id AS id, {SETTINGS_COLUMNS} FROM conversations c
             LEFT JOIN notification_settings s ON s.agent_id = c.assignee_id
             WHERE c.tenant_id = $1 AND c.id = $2 AND c.assignee_kind = 'agent'"
        ))
        .bind(tenant.as_str())
        .bind(c.as_str())
        .fetch_all(&mut *tx)
        .await?
    } else {
        // The contact is no member: customers hear from the conversation.
        Vec::new()
    };
    Ok(member_rows(&rows))
}

/// Members read with [`SETTINGS_COLUMNS`], each with their settings.
fn member_rows(rows: &[AnyRow]) -> Vec<(AgentId, NotifySettings)> {
    rows.iter()
        .filter_map(|row| {
            let id = AgentId::parse(&row.get::<String, _>("id")).ok()?;
            let settings = match row.get::<Option<String>, _>("types") {
                Some(_) => settings_row(row),
                None => NotifySettings::default(),
            };
            Some((id, settings))
        })
        .collect()
}

/// Record a notice for each member it names, with a delivery per channel
/// they chose for its type, inside the caller's transaction. Returns the
/// notifications written (none for a member who turned the type off).
pub(super) async fn record(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    notice: &Notice,
    now: Millis,
) -> Result<Vec<NotificationId>> {
    record_all(tx, tenant, &[notice], now).await
}

/// Notification rows written in one statement, and delivery rows: well
/// under any engine's limit on bound values.
const ROWS_PER_STATEMENT: usize = 100;

/// One notification about to be written.
struct Pending<'a> {
    id: NotificationId,
    agent: AgentId,
    notice: &'a Notice,
    title: String,
    settings: NotifySettings,
    channels: std::collections::BTreeSet<NotifyChannel>,
}

/// [`record`] for several notices at once, as if one after another: the
/// members they name one by one are read in one statement, and all their
/// notifications and deliveries are written in one statement each (per
/// [`ROWS_PER_STATEMENT`]), instead of three statements per notice.
pub(super) async fn record_all(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    notices: &[&Notice],
    now: Millis,
) -> Result<Vec<NotificationId>> {
    let named = named_members(tx, tenant, notices).await?;
    let mut pending = Vec::new();
    for &notice in notices {
        let subject = match (&notice.subject_line, &notice.conversation) {
            (Some(line), _) => line.clone(),
            (None, Some(c)) => {
                sqlx::query("SELECT subject FROM conversations WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(c.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .and_then(|r| r.get::<Option<String>, _>("subject"))
                    .unwrap_or_else(|| c.to_string())
            }
            (None, None) => "no conversation".to_owned(),
        };
        let title = title(notice.kind, &subject);
        let members = match recipient_agent(notice) {
            Some(agent) => named
                .iter()
                .filter(|(id, _)| id.as_str() == agent)
                .cloned()
                .collect(),
            None => recipients(tx, tenant, notice.conversation.as_ref(), &notice.recipient).await?,
        };
        for (agent, settings) in members {
            let channels = settings.types.channels(notice.kind);
            if channels.is_empty() {
                continue;
            }
            pending.push(Pending {
                id: NotificationId::generate(),
                agent,
                notice,
                title: title.clone(),
                settings,
                channels,
            });
        }
    }
    let mut written = Vec::new();
    for chunk in pending.chunks(ROWS_PER_STATEMENT) {
        written.extend(insert_notifications(tx, tenant, chunk, now).await?);
    }
    Ok(written)
}

/// Whether a notice names its one member by id: then who receives it
/// depends on nothing else written beside it.
pub(super) fn names_its_member(notice: &Notice) -> bool {
    recipient_agent(notice).is_some()
}

/// The member a notice names by id, if it names one.
fn recipient_agent(notice: &Notice) -> Option<&str> {
    notice.recipient.get("agent").and_then(|v| v.as_str())
}

/// The members `notices` name by id, among the tenant's, with their
/// settings: one statement for all of them.
async fn named_members(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    notices: &[&Notice],
) -> Result<Vec<(AgentId, NotifySettings)>> {
    let mut ids: Vec<&str> = notices.iter().filter_map(|n| recipient_agent(n)).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT a.id, {SETTINGS_COLUMNS} FROM agents a
             LEFT JOIN notification_settings s ON s.agent_id = a.id
             WHERE a.tenant_id = $1 AND a.removed_at IS NULL AND a.id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(tenant.as_str());
        for id in chunk {
            query = query.bind(*id);
        }
        found.extend(member_rows(&query.fetch_all(&mut *tx).await?));
    }
    Ok(found)
}

/// Write `pending` notifications (a member's `once` key already used skips
/// theirs) and their deliveries: one statement each. Returns those written.
async fn insert_notifications(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    pending: &[Pending<'_>],
    now: Millis,
) -> Result<Vec<NotificationId>> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "INSERT INTO notifications (public_id, tenant_id, agent_id, kind,
            conversation_id, message_id, title, message, once_key, created_at)
         VALUES {} ON CONFLICT DO NOTHING RETURNING id, public_id",
        value_rows(pending.len(), 10)
    );
    let mut insert = sqlx::query(&sql);
    for p in pending {
        insert = insert
            .bind(p.id.as_str())
            .bind(tenant.as_str())
            .bind(p.agent.as_str())
            .bind(p.notice.kind.as_str())
            .bind(p.notice.conversation.as_ref().map(ConversationId::as_str))
            .bind(p.notice.about.as_ref().map(MessageId::as_str))
            .bind(&p.title)
            .bind(&p.notice.message)
            .bind(&p.notice.once)
            .bind(now.0);
    }
    // Rows skipped by a used `once` key are not returned; the rest are
    // matched by their public id, whatever order they come back in.
    let rows: HashMap<String, i64> = insert
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| (r.get("public_id"), r.get("id")))
        .collect();
    let mut written = Vec::new();
    let mut deliveries: Vec<(i64, NotifyChannel, DeliveryState, Option<&str>)> = Vec::new();
    for p in pending {
        let Some(&row_id) = rows.get(p.id.as_str()) else {
            continue;
        };
        for &channel in &p.channels {
            let missing = match channel {
                NotifyChannel::ChatWebhook if p.settings.chat_webhook_url.is_none() => {
                    Some("no chat webhook URL is set")
                }
                NotifyChannel::PushWebhook if p.settings.push_webhook_url.is_none() => {
                    Some("no push webhook URL is set")
                }
                _ => None,
            };
            let state = match missing {
                Some(_) => DeliveryState::Skipped,
                None => DeliveryState::Pending,
            };
            deliveries.push((row_id, channel, state, missing));
        }
        written.push(p.id.clone());
    }
    for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO notification_deliveries (notification_id, channel, state, due_at,
                last_error, updated_at) VALUES {}",
            value_rows(chunk.len(), 6)
        );
        let mut insert = sqlx::query(&sql);
        for (row_id, channel, state, missing) in chunk {
            insert = insert
                .bind(*row_id)
                .bind(channel.as_str())
                .bind(state.as_str())
                .bind(now.0)
                .bind(*missing)
                .bind(now.0);
        }
        insert.execute(&mut *tx).await?;
    }
    Ok(written)
}

const NOTIFICATION_COLUMNS: &str = "n.id AS seq, n.public_id, n.tenant_id, n.agent_id, n.kind,
    n.conversation_id, n.message_id, n.title, n.message, n.created_at";

/// A claimed delivery, with what sending it needs.
fn outgoing_row(delivery: i64, r: &AnyRow) -> Option<Outgoing> {
    Some(Outgoing {
        delivery,
        channel: NotifyChannel::parse(r.get("channel")).ok()?,
        attempt: u32::try_from(r.get::<i64, _>("attempts")).unwrap_or(1),
        notification: notification_row(r)?,
        agent_name: r.get("agent_name"),
        agent_email: r.get("agent_email"),
        chat_webhook_url: r.get("chat_webhook_url"),
        push_webhook_url: r.get("push_webhook_url"),
    })
}

fn notification_row(row: &AnyRow) -> Option<NotificationRecord> {
    Some(NotificationRecord {
        seq: row.get("seq"),
        id: NotificationId::parse(row.get("public_id")).ok()?,
        tenant: TenantId::parse(row.get("tenant_id")).ok()?,
        agent: AgentId::parse(row.get("agent_id")).ok()?,
        kind: NotificationKind::parse(row.get("kind")).ok()?,
        conversation: opt_id(row.get("conversation_id"), |s| {
            ConversationId::parse(s).ok()
        }),
        about: opt_id(row.get("message_id"), |s| MessageId::parse(s).ok()),
        title: row.get("title"),
        message: row.get("message"),
        created_at: Millis(row.get("created_at")),
        deliveries: Vec::new(),
    })
}

fn delivery_row(row: &AnyRow) -> Option<DeliveryRecord> {
    let state = DeliveryState::parse(row.get("state")).ok()?;
    Some(DeliveryRecord {
        channel: NotifyChannel::parse(row.get("channel")).ok()?,
        state,
        attempts: u32::try_from(row.get::<i64, _>("attempts")).unwrap_or(0),
        last_error: row.get("last_error"),
        delivered_at: row.get::<Option<i64>, _>("delivered_at").map(Millis),
        next_attempt_at: (state == DeliveryState::Pending).then(|| Millis(row.get("due_at"))),
    })
}

impl Store {
    /// Record a notice outside any other change (an @mention by the API).
    pub async fn record_notice(
        &self,
        tenant: &TenantId,
        notice: &Notice,
    ) -> Result<Vec<NotificationId>> {
        let mut tx = self.write_for(tenant).await?;
        let written = record(&mut tx, tenant, notice, self.now()).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// A page of a member's notifications, newest first, with their
    /// deliveries.
    pub async fn agent_notifications(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        page: &PageRequest<i64>,
    ) -> Result<Page<NotificationRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications n
             WHERE n.tenant_id = $1 AND n.agent_id = $2 AND ($3 IS NULL OR n.id < $4)
             ORDER BY n.id DESC LIMIT $5"
        ))
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(page.after)
        .bind(page.after)
        .bind(page.probe())
        .fetch_all(&self.pool)
        .await?;
        let found = rows.iter().filter_map(notification_row).collect();
        let mut found = Page::from_probe(found, page.limit, |n: &NotificationRecord| {
            n.seq.to_string()
        });
        found.items = self.with_deliveries(found.items).await?;
        Ok(found)
    }

    async fn with_deliveries(
        &self,
        mut list: Vec<NotificationRecord>,
    ) -> Result<Vec<NotificationRecord>> {
        for n in &mut list {
            let rows = sqlx::query(
                "SELECT channel, state, attempts, last_error, delivered_at, due_at
                 FROM notification_deliveries WHERE notification_id = $1 ORDER BY id",
            )
            .bind(n.seq)
            .fetch_all(&self.pool)
            .await?;
            n.deliveries = rows.iter().filter_map(delivery_row).collect();
        }
        Ok(list)
    }

    /// The stream position of one of the member's notifications.
    pub async fn notification_seq(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        id: &NotificationId,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT id FROM notifications WHERE tenant_id = $1 AND agent_id = $2 AND public_id = $3",
        )
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get("id")))
    }

    /// The member's in-app notifications after stream position `after`,
    /// oldest first: what a reconnecting stream missed.
    pub async fn in_app_after(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications n
             JOIN notification_deliveries d ON d.notification_id = n.id AND d.channel = 'in_app'
             WHERE n.tenant_id = $1 AND n.agent_id = $2 AND n.id > $3 ORDER BY n.id LIMIT $4"
        ))
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(notification_row).collect())
    }

    pub async fn notify_settings(&self, agent: &AgentId) -> Result<NotifySettings> {
        let mut conn = self.pool.acquire().await?;
        settings_in(&mut conn, agent).await
    }

    pub async fn put_notify_settings(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        settings: &NotifySettings,
    ) -> Result<()> {
        self.execute_write(
            sqlx::query(
                "INSERT INTO notification_settings (agent_id, tenant_id, types, chat_webhook_url,
                push_webhook_url, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (agent_id) DO UPDATE SET types = excluded.types,
                chat_webhook_url = excluded.chat_webhook_url,
                push_webhook_url = excluded.push_webhook_url, updated_at = excluded.updated_at",
            )
            .bind(agent.as_str())
            .bind(tenant.as_str())
            .bind(settings.types.to_json().to_string())
            .bind(settings.chat_webhook_url.as_ref().map(WebhookUrl::as_str))
            .bind(settings.push_webhook_url.as_ref().map(WebhookUrl::as_str))
            .bind(self.now().0),
        )
        .await?;
        Ok(())
    }

    /// The tenant's webhook signing secret, generated at first use.
    pub async fn signing_secret(&self, tenant: &TenantId) -> Result<String> {
        let fresh = serde_json::json!({ "signing_secret": new_secret() }).to_string();
        // Two first uses at once both keep the one that landed first. Under
        // the tenant's write lock: the write raises the tenant's state
        // versions (see `Store::set_ticket_access`).
        let mut tx = self.write_for(tenant).await?;
        sqlx::query(
            "INSERT INTO tenant_settings (tenant_id, topic, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, topic) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(SECRET_TOPIC)
        .bind(fresh)
        .bind(self.now().0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(self
            .setting(tenant, SECRET_TOPIC)
            .await?
            .and_then(|v| v["signing_secret"].as_str().map(str::to_owned))
            .unwrap_or_default())
    }

    /// Replace the tenant's signing secret; returns the new one.
    pub async fn rotate_signing_secret(&self, tenant: &TenantId) -> Result<String> {
        let secret = new_secret();
        self.put_setting(
            tenant,
            SECRET_TOPIC,
            &serde_json::json!({ "signing_secret": secret }),
        )
        .await?;
        Ok(secret)
    }

    /// Pending deliveries due by now: (id, attempts so far), oldest first.
    pub async fn due_deliveries(&self, limit: u32) -> Result<Vec<(i64, u32)>> {
        self.outbox_due(Outbox::NotificationDeliveries, limit).await
    }

    /// The earliest pending delivery's due time, if any.
    pub async fn next_delivery_due(&self) -> Result<Option<Millis>> {
        self.outbox_next_due(Outbox::NotificationDeliveries).await
    }

    /// Claim the next attempt at each of `due` (delivery, attempts seen so
    /// far, retry time): count it and move the row to
    /// its retry time before anything is sent, so a crash mid-send leaves it
    /// due again then. What to send for each one claimed (not those another
    /// worker claimed first or no longer due), in the order given.
    pub async fn claim_deliveries(&self, due: &[(i64, u32, Millis)]) -> Result<Vec<Outgoing>> {
        let claimed = self
            .outbox_claim_all(Outbox::NotificationDeliveries, due)
            .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let statement = format!(
            "SELECT {NOTIFICATION_COLUMNS}, d.id AS delivery, d.channel, d.attempts,
                a.name AS agent_name, a.email AS agent_email, s.chat_webhook_url,
                s.push_webhook_url
             FROM notification_deliveries d
             JOIN notifications n ON n.id = d.notification_id
             JOIN agents a ON a.id = n.agent_id
             LEFT JOIN notification_settings s ON s.agent_id = n.agent_id
             WHERE d.id IN ({})",
            placeholders(1, claimed.len())
        );
        let mut query = sqlx::query(&statement);
        for id in &claimed {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut by_id: HashMap<i64, Outgoing> = rows
            .iter()
            .filter_map(|r| {
                let delivery: i64 = r.get("delivery");
                Some((delivery, outgoing_row(delivery, r)?))
            })
            .collect();
        Ok(claimed.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Record how each attempt ended (one statement per outcome).
    pub async fn finish_deliveries(&self, results: &[(i64, AttemptResult)]) -> Result<()> {
        self.outbox_finish_all(Outbox::NotificationDeliveries, results)
            .await
    }

    /// Members of a team, for "new in my team" and "reopened in my team".
    pub async fn team_members(&self, tenant: &TenantId, team: &TeamId) -> Result<Vec<AgentId>> {
        let rows = sqlx::query(
            "SELECT a.id FROM agents a JOIN agent_teams t ON t.agent_id = a.id
             WHERE a.tenant_id = $1 AND t.team_id = $2 AND a.removed_at IS NULL ORDER BY a.id",
        )
        .bind(tenant.as_str())
        .bind(team.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| AgentId::parse(r.get("id")).ok())
            .collect())
    }

    /// Whether an agent has answered the conversation publicly yet.
    pub async fn first_response_at(&self, conversation: &ConversationId) -> Result<Option<Millis>> {
        let row = sqlx::query("SELECT first_response_at FROM conversations WHERE id = $1")
            .bind(conversation.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .and_then(|r| r.get::<Option<i64>, _>("first_response_at"))
            .map(Millis))
    }

    /// Who made the conversation's latest assignment: `Some(agent)` when an
    /// agent took it themselves (joined, answered, accepted an offer).
    pub async fn self_assigned_by(&self, conversation: &ConversationId) -> Result<Option<AgentId>> {
        let row = sqlx::query(
            "SELECT assignee_id, decided_by FROM assignment_history
             WHERE conversation_id = $1 AND action = 'assigned' ORDER BY id DESC LIMIT 1",
        )
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .filter(|r| r.get::<String, _>("decided_by") == "agent")
            .and_then(|r| opt_id(r.get("assignee_id"), |s| AgentId::parse(s).ok())))
    }
}

fn new_secret() -> String {
    format!(
        "whsec_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::domain::{Capacity, Change, NewAgent, Outcome, Role, TicketAccess};
    use crate::store::testing::{TestDb, kims_chat};

    /// Notices recorded together land as they would one after another:
    /// members named by id, by team and as the assignee; a `once` key used
    /// twice in one run; a member of another tenant named; a subject read
    /// when the notice did not carry it; a delivery per chosen channel.
    #[tokio::test]
    async fn notices_recorded_together_land_as_one_by_one() {
        for db in TestDb::all().await {
            let store = Store::connect(&db.url, Clock::manual(Millis(1_000)))
                .await
                .expect("store");
            together(&store).await;
            drop(store);
            db.drop_now().await;
        }
    }

    async fn agent(store: &Store, tenant: &TenantId, name: &str, teams: Vec<TeamId>) -> AgentId {
        store
            .create_agent(
                tenant,
                NewAgent {
                    name: name.into(),
                    email: format!("{name}@example.com"),
                    role: Role::Agent,
                    teams,
                    capacity: Capacity::parse(&serde_json::json!({"chat": 2})).expect("capacity"),
                    ticket_access: TicketAccess::Own,
                },
            )
            .await
            .expect("agent")
            .id
    }

    async fn together(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let (other, _) = store.create_tenant("Other").await.expect("tenant");
        let (tenant, other) = (tenant.id, other.id);
        let team = store
            .create_team(&tenant, "Support")
            .await
            .expect("team")
            .id;
        let ana = agent(store, &tenant, "ana", vec![team.clone()]).await;
        let ben = agent(store, &tenant, "ben", vec![team.clone()]).await;
        let carl = agent(store, &other, "carl", Vec::new()).await;
        let (conversation, _) = store
            .create_conversation(&tenant, kims_chat(), None)
            .await
            .expect("conversation");
        let notice = |kind, recipient: serde_json::Value, once: Option<&str>, known: bool| {
            Change::Notify(Notice {
                kind,
                conversation: Some(conversation.id.clone()),
                subject_line: known.then(|| "Known".to_owned()),
                recipient,
                message: "m".into(),
                about: None,
                once: once.map(str::to_owned),
            })
        };
        let changes = vec![
            notice(
                NotificationKind::Assigned,
                serde_json::json!({ "agent": ana }),
                Some("k"),
                true,
            ),
            // The same member and key again in the same run: recorded once.
            notice(
                NotificationKind::Assigned,
                serde_json::json!({ "agent": ana }),
                Some("k"),
                true,
            ),
            notice(
                NotificationKind::NewInTeam,
                serde_json::json!({ "team": team }),
                None,
                true,
            ),
            // Not a member of this tenant: nobody.
            notice(
                NotificationKind::Assigned,
                serde_json::json!({ "agent": carl }),
                None,
                true,
            ),
            // No subject carried: read from the conversation.
            notice(
                NotificationKind::Assigned,
                serde_json::json!({ "agent": ben }),
                None,
                false,
            ),
        ];
        store
            .apply(&Outcome {
                tenant: tenant.clone(),
                event: None,
                summary: String::new(),
                changes,
            })
            .await
            .expect("applied");

        let kinds = |list: &[NotificationRecord]| {
            let mut kinds: Vec<_> = list.iter().map(|n| n.kind).collect();
            kinds.sort_by_key(|k| k.as_str());
            kinds
        };
        let for_ana = store
            .agent_notifications(&tenant, &ana, &PageRequest::first(10))
            .await
            .expect("ana")
            .items;
        assert_eq!(
            kinds(&for_ana),
            [NotificationKind::Assigned, NotificationKind::NewInTeam]
        );
        let for_ben = store
            .agent_notifications(&tenant, &ben, &PageRequest::first(10))
            .await
            .expect("ben")
            .items;
        assert_eq!(
            kinds(&for_ben),
            [NotificationKind::Assigned, NotificationKind::NewInTeam]
        );
        let read = for_ben
            .iter()
            .find(|n| n.kind == NotificationKind::Assigned)
            .expect("assigned");
        assert_eq!(read.title, "Assigned to you: Help");
        let known = for_ana
            .iter()
            .find(|n| n.kind == NotificationKind::Assigned)
            .expect("assigned");
        assert_eq!(known.title, "Assigned to you: Known");
        assert!(
            store
                .agent_notifications(&other, &carl, &PageRequest::first(10))
                .await
                .expect("carl")
                .items
                .is_empty()
        );
        for n in for_ana.iter().chain(&for_ben) {
            let chosen = NotifySettings::default().types.channels(n.kind);
            assert!(!chosen.is_empty());
            let delivered: std::collections::BTreeSet<_> =
                n.deliveries.iter().map(|d| d.channel).collect();
            assert_eq!(delivered, chosen, "{:?}", n.kind);
        }
    }
}
