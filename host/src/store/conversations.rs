//! Conversations, their messages, tags and responsibility history.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::help_desk::{self, HELP_DESK_TOPIC};
use super::timers::{self, LIFECYCLE_TOPIC, Lifecycle};
use super::{Result, Store, events::insert_event, opt_id};
use crate::domain::{
    AgentId, Assignee, Author, BotId, Channel, ConversationId, ConversationRecord,
    ConversationStatus, EventKind, HelpDesk, HistoryRecord, MessageEffect, MessageId,
    MessageRecord, Millis, NewConversation, Page, PageRequest, Priority, Routing, StatusChange,
    TeamId, TenantId, first_owner, message_effect, status_events,
};

/// Filters for listing conversations.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub routing: Option<Routing>,
    /// The tenant's agent or bot.
    pub assignee: Option<Assignee>,
}

pub(super) const COLUMNS: &str =
    "id, tenant_id, channel, subject, contact_name, contact_email, contact_owner, attributes,
    status, routing, priority, assignee_kind, assignee_id, team_id, queued_at, created_at, updated_at";

pub(super) fn message_row(row: &AnyRow) -> Option<MessageRecord> {
    Some(MessageRecord {
        id: MessageId::parse(row.get("id")).ok()?,
        author: Author::parse(row.get("author")).ok()?,
        body: row.get("body"),
        internal: row.get::<i64, _>("internal") != 0,
        created_at: Millis(row.get("created_at")),
    })
}

pub(super) fn conversation(row: &AnyRow) -> Option<ConversationRecord> {
    Some(ConversationRecord {
        id: ConversationId::parse(row.get("id")).ok()?,
        tenant_id: TenantId::parse(row.get("tenant_id")).ok()?,
        channel: Channel::parse(row.get("channel")).ok()?,
        subject: row.get("subject"),
        contact_name: row.get("contact_name"),
        contact_email: row.get("contact_email"),
        contact_owner: opt_id(row.get("contact_owner"), |s| AgentId::parse(s).ok()),
        attributes: serde_json::from_str(row.get("attributes")).unwrap_or_default(),
        status: ConversationStatus::parse(row.get("status")).ok()?,
        routing: Routing::parse(row.get("routing")).ok()?,
        priority: Priority::from_rank(row.get("priority")),
        assignee: Assignee::from_parts(row.get("assignee_kind"), row.get("assignee_id")),
        team: opt_id(row.get("team_id"), |s| TeamId::parse(s).ok()),
        queued_at: row.get::<Option<i64>, _>("queued_at").map(Millis),
        created_at: Millis(row.get("created_at")),
        updated_at: Millis(row.get("updated_at")),
    })
}

/// The tenant's settings a new conversation is opened with: read once for
/// all the conversations one transaction opens.
pub(super) struct Opening {
    /// When an inactive conversation closes.
    lifecycle: Lifecycle,
    /// Which channels file a ticket.
    help_desk: HelpDesk,
}

impl Opening {
    pub(super) async fn read(tx: &mut sqlx::AnyConnection, tenant: &TenantId) -> Result<Self> {
        let rows = sqlx::query(
            "SELECT topic, value FROM tenant_settings WHERE tenant_id = $1 AND topic IN ($2, $3)",
        )
        .bind(tenant.as_str())
        .bind(LIFECYCLE_TOPIC)
        .bind(HELP_DESK_TOPIC)
        .fetch_all(&mut *tx)
        .await?;
        let mut opening = Self {
            lifecycle: Lifecycle::default(),
            help_desk: HelpDesk::default(),
        };
        // A value that no longer reads counts as unset, as elsewhere.
        for row in &rows {
            let value: String = row.get("value");
            match row.get::<String, _>("topic").as_str() {
                LIFECYCLE_TOPIC => {
                    opening.lifecycle = serde_json::from_str(&value).unwrap_or_default();
                }
                HELP_DESK_TOPIC => {
                    opening.help_desk = serde_json::from_str(&value).unwrap_or_default();
                }
                _ => {}
            }
        }
        Ok(opening)
    }
}

impl Store {
    /// [`Store::create_conversation`] inside a transaction the caller
    /// commits; also returns the first message's id.
    pub(super) async fn open_conversation(
        tx: &mut sqlx::AnyConnection,
        tenant: &TenantId,
        new: NewConversation,
        bot: Option<BotId>,
        now: Millis,
    ) -> Result<(ConversationRecord, Option<MessageId>, i64)> {
        let opening = Opening::read(tx, tenant).await?;
        Self::open_with(tx, tenant, new, bot, &opening, now).await
    }

    /// [`Store::open_conversation`] with the tenant's [`Opening`] read.
    pub(super) async fn open_with(
        tx: &mut sqlx::AnyConnection,
        tenant: &TenantId,
        new: NewConversation,
        bot: Option<BotId>,
        opening: &Opening,
        now: Millis,
    ) -> Result<(ConversationRecord, Option<MessageId>, i64)> {
        let lifecycle = &opening.lifecycle;
        let (record, first) =
            Self::insert_conversation(tx, tenant, new, bot, lifecycle, now).await?;
        help_desk::auto_ticket(tx, &record, &opening.help_desk, now).await?;
        let event = insert_event(
            tx,
            tenant,
            EventKind::ConversationCreated,
            Some(&record.id),
            None,
            None,
            now,
        )
        .await?;
        Ok((record, first, event))
    }

    /// Insert a conversation and its first message (whose id is returned)
    /// inside a transaction; the caller writes the event that routes it.
    pub(super) async fn insert_conversation(
        tx: &mut sqlx::AnyConnection,
        tenant: &TenantId,
        new: NewConversation,
        bot: Option<BotId>,
        lifecycle: &Lifecycle,
        now: Millis,
    ) -> Result<(ConversationRecord, Option<MessageId>)> {
        let id = ConversationId::generate();
        let (routing, assignee) = first_owner(bot.as_ref());
        let attributes = serde_json::Value::Object(new.attributes);
        sqlx::query(
            "INSERT INTO conversations (id, tenant_id, channel, subject, contact_name, contact_email,
                contact_owner, attributes, status, routing, priority, assignee_kind, assignee_id,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(new.channel.as_str())
        .bind(&new.subject)
        .bind(&new.contact_name)
        .bind(&new.contact_email)
        .bind(new.contact_owner.as_ref().map(AgentId::as_str))
        .bind(attributes.to_string())
        .bind(ConversationStatus::Open.as_str())
        .bind(routing.as_str())
        .bind(new.priority.rank())
        .bind(assignee.as_ref().map(Assignee::kind))
        .bind(assignee.as_ref().map(Assignee::id))
        .bind(now.0)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        let first = match &new.message {
            Some(body) => Some(insert_message(tx, &id, Author::Customer, body, false, now).await?),
            None => None,
        };
        if let Some(bot) = &bot {
            sqlx::query(
                "INSERT INTO assignment_history (conversation_id, at, action, assignee_kind, assignee_id,
                    decided_by, reason) VALUES ($1, $2, 'assigned', 'bot', $3, 'bot', $4)",
            )
            .bind(id.as_str())
            .bind(now.0)
            .bind(bot.as_str())
            .bind(format!("the {} channel is answered by a bot first", new.channel))
            .execute(&mut *tx)
            .await?;
        }
        timers::touch_with(tx, tenant, &id, lifecycle, now).await?;
        let record = ConversationRecord {
            id,
            tenant_id: tenant.clone(),
            channel: new.channel,
            subject: new.subject,
            contact_name: new.contact_name,
            contact_email: new.contact_email,
            contact_owner: new.contact_owner,
            attributes,
            status: ConversationStatus::Open,
            routing,
            priority: new.priority,
            assignee,
            team: None,
            queued_at: None,
            created_at: now,
            updated_at: now,
        };
        Ok((record, first))
    }

    pub async fn get_conversation(
        &self,
        tenant: &TenantId,
        id: &ConversationId,
    ) -> Result<Option<ConversationRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM conversations WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(conversation))
    }

    /// A page of the tenant's conversations, newest first.
    pub async fn list_conversations(
        &self,
        tenant: &TenantId,
        filter: &ConversationFilter,
        page: &PageRequest<ConversationId>,
    ) -> Result<Page<ConversationRecord>> {
        let after = page.after.as_ref().map(ConversationId::as_str);
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM conversations
             WHERE tenant_id = $1
               AND ($2 IS NULL OR status = $3)
               AND ($4 IS NULL OR routing = $5)
               AND ($6 IS NULL OR assignee_id = $7)
               AND ($8 IS NULL OR id < $9)
             ORDER BY id DESC LIMIT $10"
        ))
        .bind(tenant.as_str())
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.routing.map(|s| s.as_str()))
        .bind(filter.routing.map(|s| s.as_str()))
        .bind(filter.assignee.as_ref().map(Assignee::id))
        .bind(filter.assignee.as_ref().map(Assignee::id))
        .bind(after)
        .bind(after)
        .bind(page.probe())
        .fetch_all(&self.pool)
        .await?;
        let found = rows.iter().filter_map(conversation).collect();
        Ok(Page::from_probe(found, page.limit, |c| c.id.to_string()))
    }

    /// Open conversations waiting in the queue, oldest first.
    pub async fn queued_conversations(&self, tenant: &TenantId) -> Result<Vec<ConversationRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM conversations
             WHERE tenant_id = $1 AND routing = 'queued' AND status = 'open'
             ORDER BY priority DESC, queued_at, id"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(conversation).collect())
    }

    /// Tenants where a queued conversation has someone free for it: an
    /// available agent (of its team, when it waits in one) who has not
    /// declined it and has room on its channel. One query for every tenant,
    /// which the periodic queue sweep runs; the partial index
    /// `conversations_queued` keeps it to the waiting rows.
    pub async fn tenants_with_drainable_queue(&self) -> Result<Vec<TenantId>> {
        let sql = format!(
            "SELECT DISTINCT c.tenant_id FROM conversations c
             WHERE c.routing = 'queued' AND c.status = 'open'
               AND EXISTS (
                 SELECT 1 FROM agents a
                 WHERE a.tenant_id = c.tenant_id AND a.presence = 'available'
                   AND (c.team_id IS NULL OR EXISTS (
                     SELECT 1 FROM agent_teams t WHERE t.agent_id = a.id AND t.team_id = c.team_id))
                   AND NOT EXISTS (
                     SELECT 1 FROM declines d WHERE d.conversation_id = c.id AND d.agent_id = a.id)
                   AND COALESCE({capacity}, 0) > COALESCE((
                     SELECT l.open_count FROM agent_load l
                     WHERE l.agent_id = a.id AND l.channel = c.channel), 0))",
            capacity = self
                .engine
                .driver()
                .capacity_on_channel("a.capacity", "c.channel"),
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .filter_map(|r| TenantId::parse(r.get("tenant_id")).ok())
            .collect())
    }

    /// Everything an agent may take from the waiting list
    /// ([`Routing::takeable`]: queued, on offer, or unclaimed in a team), in
    /// the order it is served: priority first, then oldest.
    pub async fn waiting_conversations(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ConversationRecord>> {
        // The states are the enum's own constant names, so they can be
        // written into the SQL as literals.
        let takeable: Vec<String> = Routing::ALL
            .iter()
            .filter(|r| r.takeable())
            .map(|r| format!("'{}'", r.as_str()))
            .collect();
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM conversations
             WHERE tenant_id = $1 AND routing IN ({takeable})
               AND status = 'open'
             ORDER BY priority DESC, queued_at, id",
            takeable = takeable.join(", ")
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(conversation).collect())
    }

    /// Conversations waiting in the queue, not counting those parked in
    /// `except_team` (an overflow team has its own line).
    pub async fn queue_length(
        &self,
        tenant: &TenantId,
        except_team: Option<&TeamId>,
    ) -> Result<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM conversations
             WHERE tenant_id = $1 AND routing = 'queued' AND status = 'open'
               AND ($2 IS NULL OR team_id IS NULL OR team_id <> $3)",
        )
        .bind(tenant.as_str())
        .bind(except_team.map(TeamId::as_str))
        .bind(except_team.map(TeamId::as_str))
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(row.get::<i64, _>("n")).unwrap_or(0))
    }

    pub async fn messages(
        &self,
        conversation: &ConversationId,
        limit: u32,
    ) -> Result<Vec<MessageRecord>> {
        // The newest `limit`, returned oldest first.
        let rows = sqlx::query(
            "SELECT * FROM (SELECT id, author, body, internal, created_at FROM messages
               WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2) newest
             ORDER BY created_at, id",
        )
        .bind(conversation.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(message_row).collect())
    }

    pub async fn message(&self, id: &MessageId) -> Result<Option<MessageRecord>> {
        let row = sqlx::query(
            "SELECT id, author, body, internal, created_at FROM messages WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(message_row))
    }

    pub async fn history(&self, conversation: &ConversationId) -> Result<Vec<HistoryRecord>> {
        let rows = sqlx::query(
            "SELECT at, action, assignee_kind, assignee_id, team_id, decided_by, rule_name, plugin_name,
                    plugin_version, reason
             FROM assignment_history WHERE conversation_id = $1 ORDER BY id",
        )
        .bind(conversation.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| HistoryRecord {
                at: Millis(row.get("at")),
                action: row.get("action"),
                assignee: Assignee::from_parts(row.get("assignee_kind"), row.get("assignee_id")),
                team: opt_id(row.get("team_id"), |s| TeamId::parse(s).ok()),
                decided_by: row.get("decided_by"),
                rule: row.get("rule_name"),
                plugin: row.get("plugin_name"),
                plugin_version: row.get("plugin_version"),
                reason: row.get("reason"),
            })
            .collect())
    }

    pub async fn tags(&self, conversation: &ConversationId) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT tag FROM conversation_tags WHERE conversation_id = $1 ORDER BY tag",
        )
        .bind(conversation.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|row| row.get("tag")).collect())
    }

    /// Add a message; a message the customer or an agent can see also
    /// writes an event, in the same transaction. A public message from
    /// either side reopens a closed conversation; a customer message also
    /// wakes a snoozed one. Public messages restart the inactivity deadline.
    pub async fn add_message(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        author: Author,
        body: &str,
        internal: bool,
    ) -> Result<(MessageRecord, Option<i64>)> {
        self.add_message_with(tenant, conversation, author, body, internal, None)
            .await
    }

    /// [`Store::add_message`], writing `signal` after the message's own
    /// event in the same transaction (e.g. the bot saying it cannot answer).
    pub async fn add_message_with(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        author: Author,
        body: &str,
        internal: bool,
        signal: Option<EventKind>,
    ) -> Result<(MessageRecord, Option<i64>)> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let added = Self::append_message(
            &mut tx,
            tenant,
            conversation,
            author,
            body,
            internal,
            signal,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// [`Store::add_message_with`] inside a transaction the caller commits.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn append_message(
        tx: &mut sqlx::AnyConnection,
        tenant: &TenantId,
        conversation: &ConversationId,
        author: Author,
        body: &str,
        internal: bool,
        signal: Option<EventKind>,
        now: Millis,
    ) -> Result<(MessageRecord, Option<i64>)> {
        let id = insert_message(tx, conversation, author, body, internal, now).await?;
        // The first public agent message is the first response, for statistics.
        let first_response = !internal && author == Author::Agent;
        sqlx::query(
            "UPDATE conversations SET updated_at = $1,
                first_response_at = CASE WHEN $2 THEN COALESCE(first_response_at, $3)
                    ELSE first_response_at END
             WHERE id = $4",
        )
        .bind(now.0)
        .bind(first_response)
        .bind(now.0)
        .bind(conversation.as_str())
        .execute(&mut *tx)
        .await?;
        let mut events = Vec::new();
        if !internal {
            let status = sqlx::query("SELECT status FROM conversations WHERE id = $1")
                .bind(conversation.as_str())
                .fetch_one(&mut *tx)
                .await?;
            if let Ok(status) = ConversationStatus::parse(status.get("status")) {
                match message_effect(status, author) {
                    MessageEffect::Reopen => {
                        let open = StatusChange::Open;
                        timers::change_status(tx, tenant, conversation, open, now).await?;
                        events.extend(status_events(status, open));
                    }
                    MessageEffect::RestartInactivity => {
                        timers::touch(tx, tenant, conversation, now).await?;
                    }
                    MessageEffect::Nothing => {}
                }
            }
            events.push(EventKind::MessageReceived);
        }
        events.extend(signal);
        let mut last = None;
        for kind in events {
            let message = (kind == EventKind::MessageReceived).then_some(&id);
            last =
                Some(insert_event(tx, tenant, kind, Some(conversation), None, message, now).await?);
        }
        let message = MessageRecord {
            id,
            author,
            body: body.to_owned(),
            internal,
            created_at: now,
        };
        Ok((message, last))
    }
}

pub(super) async fn insert_message(
    tx: &mut sqlx::AnyConnection,
    conversation: &ConversationId,
    author: Author,
    body: &str,
    internal: bool,
    at: Millis,
) -> Result<MessageId> {
    let id = MessageId::generate();
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, author, body, internal, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_str())
    .bind(conversation.as_str())
    .bind(author.as_str())
    .bind(body)
    .bind(i64::from(internal))
    .bind(at.0)
    .execute(tx)
    .await?;
    Ok(id)
}

impl Store {
    /// Change a conversation's status and write the event, in one
    /// transaction. `None` if the conversation is not the tenant's.
    pub async fn set_status(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        change: StatusChange,
    ) -> Result<Option<i64>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let Some(previous) =
            timers::change_status(&mut tx, tenant, conversation, change, now).await?
        else {
            return Ok(None);
        };
        let mut event = None;
        for kind in status_events(previous, change) {
            let conversation = Some(conversation);
            event = Some(insert_event(&mut tx, tenant, kind, conversation, None, None, now).await?);
        }
        tx.commit().await?;
        Ok(event)
    }
}
