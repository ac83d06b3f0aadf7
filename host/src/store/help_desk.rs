//! The help desk's channels: each new conversation on a connected channel
//! is filed as a ticket, and an inbound e-mail that answers a known message
//! joins that thread instead of starting a new one.

use sqlx::{AnyConnection, Row};

use super::events::insert_event;
use super::pipelines::{default_pipeline_in, pipeline_in};
use super::ticket_changes::file_conversation;
use super::{Result, Store};
use crate::domain::{
    Assignee, BotId, BotKind, Channel, ConversationId, ConversationRecord, EmailMessageId,
    EventKind, HelpDesk, MessageId, Millis, NewConversation, Priority, TenantId, ticket_name,
};

/// The settings topic holding [`HelpDesk`].
pub const HELP_DESK_TOPIC: &str = "help_desk";

/// File a new conversation as a ticket when the help desk says so
/// ([`HelpDesk::files`]). Call in the transaction that creates the
/// conversation, with the tenant's help-desk settings.
pub(super) async fn auto_ticket(
    conn: &mut AnyConnection,
    record: &ConversationRecord,
    settings: &HelpDesk,
    now: Millis,
) -> Result<Option<i64>> {
    let tenant = &record.tenant_id;
    let owner = match &record.assignee {
        Some(Assignee::Bot(bot)) => sqlx::query("SELECT kind FROM bots WHERE id = $1")
            .bind(bot.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .and_then(|r| BotKind::parse(r.get("kind")).ok()),
        _ => None,
    };
    if !settings.files(record.channel, owner) {
        return Ok(None);
    }
    let chosen = match &settings.pipeline {
        Some(id) => pipeline_in(conn, tenant, id).await?,
        None => None,
    };
    let pipeline = match chosen {
        Some(pipeline) => pipeline,
        None => default_pipeline_in(conn, tenant, now).await?,
    };
    let name = ticket_name(
        record.subject.as_deref(),
        record.channel,
        record.contact_email.as_deref(),
    );
    let source = record.channel.as_str();
    file_conversation(conn, tenant, &record.id, &name, &pipeline, source, now).await?;
    let kind = EventKind::TicketCreated;
    let event = insert_event(conn, tenant, kind, Some(&record.id), None, None, now).await?;
    Ok(Some(event))
}

/// An e-mail received by the help desk, already validated.
#[derive(Debug, Clone)]
pub struct InboundEmail {
    pub from_email: String,
    pub from_name: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub message_id: EmailMessageId,
    /// `In-Reply-To`, then `References` from the newest: the messages this
    /// one may answer, most likely first.
    pub thread: Vec<EmailMessageId>,
}

/// What became of an inbound e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Its Message-ID was seen before (a redelivery): nothing written.
    Duplicate { conversation: ConversationId },
    /// It answers a known message and was added to that thread.
    Threaded {
        conversation: ConversationId,
        message: MessageId,
        event: Option<i64>,
    },
    /// A new conversation, filed as a ticket if e-mail is connected.
    Opened {
        conversation: ConversationId,
        event: i64,
    },
}

/// The tenant's conversation holding a message with this Message-ID.
async fn thread_of(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    id: &EmailMessageId,
) -> Result<Option<ConversationId>> {
    let row = sqlx::query(
        "SELECT m.conversation_id FROM messages m
         JOIN conversations c ON c.id = m.conversation_id
         WHERE c.tenant_id = $1 AND m.email_message_id = $2 LIMIT 1",
    )
    .bind(tenant.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| ConversationId::parse(r.get("conversation_id")).ok()))
}

async fn set_email_id(
    conn: &mut AnyConnection,
    message: &MessageId,
    id: &EmailMessageId,
) -> Result<()> {
    sqlx::query("UPDATE messages SET email_message_id = $1 WHERE id = $2")
        .bind(id.as_str())
        .bind(message.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    pub async fn help_desk(&self, tenant: &TenantId) -> Result<HelpDesk> {
        Ok(self
            .setting(tenant, HELP_DESK_TOPIC)
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    pub async fn put_help_desk(&self, tenant: &TenantId, settings: &HelpDesk) -> Result<()> {
        let value = serde_json::to_value(settings).unwrap_or_default();
        self.put_setting(tenant, HELP_DESK_TOPIC, &value).await
    }

    /// Take in one e-mail, in one transaction: a redelivery changes
    /// nothing; an answer to a message of a known thread is added to it as
    /// the customer's (reopening it); anything else opens a conversation,
    /// owned first by `bot` if the e-mail channel has one.
    pub async fn receive_email(
        &self,
        tenant: &TenantId,
        mail: InboundEmail,
        bot: Option<BotId>,
    ) -> Result<Delivery> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        if let Some(conversation) = thread_of(&mut tx, tenant, &mail.message_id).await? {
            return Ok(Delivery::Duplicate { conversation });
        }
        for answered in &mail.thread {
            let Some(conversation) = thread_of(&mut tx, tenant, answered).await? else {
                continue;
            };
            let (message, event) = Self::append_message(
                &mut tx,
                tenant,
                &conversation,
                crate::domain::Author::Customer,
                &mail.body,
                false,
                None,
                now,
            )
            .await?;
            set_email_id(&mut tx, &message.id, &mail.message_id).await?;
            tx.commit().await?;
            return Ok(Delivery::Threaded {
                conversation,
                message: message.id,
                event,
            });
        }
        let new = NewConversation {
            channel: Channel::Email,
            subject: mail.subject,
            contact_name: mail.from_name,
            contact_email: Some(mail.from_email),
            contact_owner: None,
            attributes: serde_json::Map::new(),
            message: Some(mail.body),
            priority: Priority::Normal,
        };
        let (record, first, event) =
            Self::open_conversation(&mut tx, tenant, new, bot, now).await?;
        if let Some(first) = &first {
            set_email_id(&mut tx, first, &mail.message_id).await?;
        }
        tx.commit().await?;
        Ok(Delivery::Opened {
            conversation: record.id,
            event,
        })
    }
}
