//! A ticket's thread: the messages with who wrote them and how they
//! thread, replies (optionally with a status change) and comments.

use sqlx::{AnyConnection, Row};

use super::notifications::{self, DeliveryRecord};
use super::outbound_mail::{self, mail_delivery};
use super::ticket_changes::{follow_in, set_stage, write_events};
use super::tickets::TicketRecord;
use super::{Result, Store, opt_id};
use crate::domain::{
    AgentId, Author, ConversationId, EmailMessageId, MessageId, Millis, Notice, NotificationKind,
    Properties, StageRecord, TenantId,
};

/// Most messages shown in one ticket.
const MAX_THREAD: i64 = 1_000;

/// A message of a ticket's thread.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ThreadMessage {
    pub id: MessageId,
    pub author: Author,
    /// The member who wrote it, for replies and comments made as a member.
    pub agent: Option<AgentId>,
    pub body: String,
    pub internal: bool,
    /// The e-mail's Message-ID, sent or received.
    pub email_message_id: Option<String>,
    /// The message this one answers.
    pub reply_to: Option<MessageId>,
    pub created_at: Millis,
    /// How the reply's e-mail to the contact went, for replies e-mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_delivery: Option<DeliveryRecord>,
}

/// A message with its e-mail delivery, if it was e-mailed.
const FROM: &str = "messages m LEFT JOIN outbound_mail o ON o.message_id = m.id";
const COLUMNS: &str = "m.id, m.author, m.agent_id, m.body, m.internal, m.email_message_id,
    m.reply_to, m.created_at, o.state AS mail_state, o.attempts AS mail_attempts,
    o.last_error AS mail_error, o.delivered_at AS mail_delivered_at, o.due_at AS mail_due_at";

fn thread_row(row: &sqlx::any::AnyRow) -> Option<ThreadMessage> {
    Some(ThreadMessage {
        id: MessageId::parse(row.get("id")).ok()?,
        author: Author::parse(row.get("author")).ok()?,
        agent: opt_id(row.get("agent_id"), |s| AgentId::parse(s).ok()),
        body: row.get("body"),
        internal: row.get::<i64, _>("internal") != 0,
        email_message_id: row.get("email_message_id"),
        reply_to: opt_id(row.get("reply_to"), |s| MessageId::parse(s).ok()),
        created_at: Millis(row.get("created_at")),
        email_delivery: mail_delivery(row),
    })
}

async fn message_in(conn: &mut AnyConnection, id: &MessageId) -> Result<Option<ThreadMessage>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE m.id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().and_then(thread_row))
}

/// A reply, already validated against the ticket.
#[derive(Debug, Clone)]
pub struct Reply {
    pub body: String,
    /// The message answered; the latest customer message when `None`.
    pub reply_to: Option<MessageId>,
    /// A status of the ticket's pipeline to move to with the reply.
    pub stage: Option<StageRecord>,
    /// The ticket's complete new properties, if they change.
    pub properties: Option<Properties>,
}

impl Store {
    /// The whole thread, public messages and comments, oldest first.
    pub async fn thread(&self, conversation: &ConversationId) -> Result<Vec<ThreadMessage>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE m.conversation_id = $1
             ORDER BY m.created_at, m.id LIMIT $2"
        ))
        .bind(conversation.as_str())
        .bind(MAX_THREAD)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(thread_row).collect())
    }

    /// Send a reply from `author`, in one transaction with the status
    /// change and properties that come with it; sending removes the
    /// author's draft. The reply gets its own Message-ID, so the customer's
    /// answer to it finds this ticket, and is queued for e-mail to the
    /// contact (not on a chat ticket). Returns it and the last event.
    pub async fn reply(
        &self,
        tenant: &TenantId,
        ticket: &TicketRecord,
        author: &AgentId,
        reply: Reply,
    ) -> Result<(ThreadMessage, Option<i64>)> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let reply_to = match reply.reply_to {
            Some(id) => Some(id),
            None => sqlx::query(
                "SELECT id FROM messages WHERE conversation_id = $1 AND author = 'customer'
                   AND internal = 0 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(ticket.conversation.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .and_then(|r| MessageId::parse(r.get("id")).ok()),
        };
        let (message, mut last) = Self::append_message(
            &mut tx,
            tenant,
            &ticket.conversation,
            Author::Agent,
            &reply.body,
            false,
            None,
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE messages SET agent_id = $1, email_message_id = $2, reply_to = $3 WHERE id = $4",
        )
        .bind(author.as_str())
        .bind(EmailMessageId::for_message(&message.id).as_str())
        .bind(reply_to.as_ref().map(MessageId::as_str))
        .bind(message.id.as_str())
        .execute(&mut *tx)
        .await?;
        outbound_mail::queue_reply(&mut tx, tenant, ticket, &message.id, reply_to.as_ref(), now)
            .await?;
        if let Some(properties) = &reply.properties {
            sqlx::query("UPDATE tickets SET properties = $1, updated_at = $2 WHERE id = $3")
                .bind(properties.to_json())
                .bind(now.0)
                .bind(ticket.id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(stage) = &reply.stage {
            let events =
                set_stage(&mut tx, tenant, &ticket.id, &ticket.pipeline, stage, now).await?;
            last = write_events(&mut tx, tenant, &ticket.conversation, &events, now)
                .await?
                .or(last);
        }
        sqlx::query("DELETE FROM ticket_drafts WHERE ticket_id = $1 AND agent_id = $2")
            .bind(ticket.id.as_str())
            .bind(author.as_str())
            .execute(&mut *tx)
            .await?;
        let sent = message_in(&mut tx, &message.id).await?;
        tx.commit().await?;
        let sent = sent.ok_or_else(|| super::StoreError::Database(sqlx::Error::RowNotFound))?;
        Ok((sent, last))
    }

    /// Add a comment (an internal note the customer never sees) from
    /// `author`; each member in `mentioned` follows the ticket and gets
    /// `notice`. One transaction.
    pub async fn comment(
        &self,
        tenant: &TenantId,
        ticket: &TicketRecord,
        author: &AgentId,
        body: &str,
        mentioned: &[AgentId],
        notice: &str,
    ) -> Result<ThreadMessage> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let conversation = &ticket.conversation;
        let (message, _) = Self::append_message(
            &mut tx,
            tenant,
            conversation,
            Author::Agent,
            body,
            true,
            None,
            now,
        )
        .await?;
        sqlx::query("UPDATE messages SET agent_id = $1 WHERE id = $2")
            .bind(author.as_str())
            .bind(message.id.as_str())
            .execute(&mut *tx)
            .await?;
        for agent in mentioned {
            follow_in(&mut tx, conversation, agent, Some(author), now).await?;
            let mention = Notice {
                kind: NotificationKind::Mention,
                conversation: Some(conversation.clone()),
                subject_line: None,
                recipient: serde_json::json!({ "agent": agent }),
                message: notice.to_owned(),
                about: None,
                once: None,
            };
            notifications::record(&mut tx, tenant, &mention, now).await?;
        }
        let written = message_in(&mut tx, &message.id).await?;
        tx.commit().await?;
        written.ok_or_else(|| super::StoreError::Database(sqlx::Error::RowNotFound))
    }
}
