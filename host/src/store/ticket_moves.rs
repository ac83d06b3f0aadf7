//! Splitting a ticket in two and merging one ticket into another.

use sqlx::{AnyConnection, Row};

use super::events::insert_event;
use super::pipelines::pipeline_in;
use super::ticket_changes::{TicketRow, insert_ticket, set_owner, set_stage, write_events};
use super::tickets::TicketRecord;
use super::{Result, Store, StoreError, timers};
use crate::domain::{
    ConversationId, ConversationStatus, EventKind, MessageId, NewConversation, Properties,
    StatusChange, TenantId, TicketId,
};

/// Why a split was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitRefusal {
    /// `messages[i]` is not a message of this ticket.
    NotInTicket(usize),
    /// Every message would move: at least one must stay.
    NothingLeft,
}

async fn message_count(conn: &mut AnyConnection, conversation: &ConversationId) -> Result<u64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = $1")
        .bind(conversation.as_str())
        .fetch_one(conn)
        .await?;
    Ok(u64::try_from(row.get::<i64, _>("n")).unwrap_or(0))
}

impl Store {
    /// Move `messages` of a ticket into a new ticket named `name`, with the
    /// same contact, company, owner, followers and pipeline, in the
    /// pipeline's first status. One transaction; routing does not run for the new one.
    pub async fn split_ticket(
        &self,
        tenant: &TenantId,
        ticket: &TicketRecord,
        messages: &[MessageId],
        name: &str,
    ) -> Result<Result<(TicketId, i64), SplitRefusal>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        for (index, id) in messages.iter().enumerate() {
            let found =
                sqlx::query("SELECT 1 FROM messages WHERE id = $1 AND conversation_id = $2")
                    .bind(id.as_str())
                    .bind(ticket.conversation.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            if found.is_none() {
                return Ok(Err(SplitRefusal::NotInTicket(index)));
            }
        }
        let moving = u64::try_from(messages.len()).unwrap_or(u64::MAX);
        if message_count(&mut tx, &ticket.conversation).await? <= moving {
            return Ok(Err(SplitRefusal::NothingLeft));
        }
        let pipeline = pipeline_in(&mut tx, tenant, &ticket.pipeline).await?;
        let stage = pipeline
            .as_ref()
            .and_then(|p| p.first())
            .ok_or_else(|| StoreError::Conflict(format!("pipeline {} is gone", ticket.pipeline)))?;
        let new = NewConversation {
            channel: ticket.channel,
            subject: Some(name.to_owned()),
            contact_name: ticket.contact_name.clone(),
            contact_email: ticket.contact_email.clone(),
            contact_owner: None,
            attributes: serde_json::Map::new(),
            message: None,
            priority: ticket.priority,
        };
        let lifecycle = super::timers::lifecycle_in(&mut tx, tenant).await?;
        let (record, _) =
            Self::insert_conversation(&mut tx, tenant, new, None, &lifecycle, now).await?;
        if let Some(owner) = &ticket.owner {
            let reason = format!("split from ticket {}", ticket.id);
            set_owner(&mut tx, tenant, &record.id, Some(owner), &reason, now).await?;
        }
        sqlx::query(
            "INSERT INTO followers (conversation_id, agent_id, added_by, at)
             SELECT $1, agent_id, added_by, $2 FROM followers WHERE conversation_id = $3",
        )
        .bind(record.id.as_str())
        .bind(now.0)
        .bind(ticket.conversation.as_str())
        .execute(&mut *tx)
        .await?;
        for id in messages {
            sqlx::query("UPDATE messages SET conversation_id = $1 WHERE id = $2")
                .bind(record.id.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let row = TicketRow {
            conversation: &record.id,
            name,
            pipeline: &ticket.pipeline,
            stage: &stage.id,
            company: ticket.company.as_ref(),
            properties: &Properties::default(),
            source: "split",
        };
        let id = insert_ticket(&mut tx, tenant, row, now).await?;
        sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
            .bind(now.0)
            .bind(ticket.id.as_str())
            .execute(&mut *tx)
            .await?;
        let kind = EventKind::TicketCreated;
        let event = insert_event(&mut tx, tenant, kind, Some(&record.id), None, None, now).await?;
        tx.commit().await?;
        Ok(Ok((id, event)))
    }

    /// Merge `from` into `into`, in one transaction: its messages,
    /// followers, tags and drafts move over; `from` is closed (its pipeline's first
    /// closed status, and its conversation) and marked merged into `into`.
    pub async fn merge_tickets(
        &self,
        tenant: &TenantId,
        into: &TicketRecord,
        from: &TicketRecord,
    ) -> Result<Option<i64>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let (target, source) = (into.conversation.as_str(), from.conversation.as_str());
        for sql in [
            "UPDATE messages SET conversation_id = $1 WHERE conversation_id = $2",
            "INSERT INTO followers (conversation_id, agent_id, added_by, at)
             SELECT $1, agent_id, added_by, at FROM followers WHERE conversation_id = $2 ON CONFLICT DO NOTHING",
            "DELETE FROM followers WHERE conversation_id = $2",
            "INSERT INTO conversation_tags (conversation_id, tag)
             SELECT $1, tag FROM conversation_tags WHERE conversation_id = $2 ON CONFLICT DO NOTHING",
            "DELETE FROM conversation_tags WHERE conversation_id = $2",
        ] {
            sqlx::query(sql)
                .bind(target)
                .bind(source)
                .execute(&mut *tx)
                .await?;
        }
        // Drafts follow, unless the member already has one on `into`.
        sqlx::query(
            "UPDATE ticket_drafts SET ticket_id = $1
             WHERE ticket_id = $2 AND NOT EXISTS (
                 SELECT 1 FROM ticket_drafts mine
                 WHERE mine.ticket_id = $1 AND mine.agent_id = ticket_drafts.agent_id)",
        )
        .bind(into.id.as_str())
        .bind(from.id.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE tickets SET merged_into = $1, updated_at = $2 WHERE id = $3")
            .bind(into.id.as_str())
            .bind(now.0)
            .bind(from.id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
            .bind(now.0)
            .bind(into.id.as_str())
            .execute(&mut *tx)
            .await?;
        let closed = pipeline_in(&mut tx, tenant, &from.pipeline)
            .await?
            .and_then(|p| p.first_closed().cloned());
        let events = match closed {
            Some(stage) => {
                set_stage(&mut tx, tenant, &from.id, &from.pipeline, &stage, now).await?
            }
            // A pipeline without a closed status: close the conversation.
            None if from.conversation_status != ConversationStatus::Closed => {
                timers::change_status(
                    &mut tx,
                    tenant,
                    &from.conversation,
                    StatusChange::Close,
                    now,
                )
                .await?;
                vec![EventKind::ConversationStatusChanged]
            }
            None => Vec::new(),
        };
        let last = write_events(&mut tx, tenant, &from.conversation, &events, now).await?;
        tx.commit().await?;
        Ok(last)
    }
}
