//! Making a ticket by hand, editing it and moving it to another pipeline,
//! each in one transaction.

use super::events::insert_event;
use super::ticket_changes::{
    TicketRow, follow_in, insert_ticket, set_owner, set_stage, write_events,
};
use super::tickets::TicketRecord;
use super::{Result, Store, timers};
use crate::domain::{
    AgentId, Channel, CompanyId, EventKind, NewConversation, PipelineId, Priority, Properties,
    StageRecord, StatusChange, TenantId, TicketId,
};

/// A ticket made by hand, already validated.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub name: String,
    pub pipeline: PipelineId,
    pub stage: StageRecord,
    pub contact_email: Option<String>,
    pub contact_name: Option<String>,
    pub company: Option<CompanyId>,
    pub owner: Option<AgentId>,
    pub priority: Priority,
    pub properties: Properties,
    /// The member who made it follows it, so it stays in their view
    /// whatever their ticket access.
    pub follower: Option<AgentId>,
}

/// Changes to a ticket, already validated; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    pub name: Option<String>,
    pub priority: Option<Priority>,
    /// `Some(None)` removes the owner.
    pub owner: Option<Option<AgentId>>,
    /// `Some(None)` removes the company.
    pub company: Option<Option<CompanyId>>,
    /// The contact's e-mail and name; `Some((None, None))` removes it.
    pub contact: Option<(Option<String>, Option<String>)>,
    /// The complete new properties (the patch already merged in).
    pub properties: Option<Properties>,
    /// A status of the ticket's pipeline.
    pub stage: Option<StageRecord>,
}

impl Store {
    /// Make a ticket by hand with its conversation (e-mail, no messages
    /// yet), in one transaction. Routing does not run: the event written is
    /// `ticket.created`, not `conversation.created`; an owner given is the
    /// assignee at once.
    pub async fn create_ticket(
        &self,
        tenant: &TenantId,
        new: NewTicket,
    ) -> Result<(TicketId, i64)> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let conversation = NewConversation {
            channel: Channel::Email,
            subject: Some(new.name.clone()),
            contact_name: new.contact_name,
            contact_email: new.contact_email,
            contact_owner: None,
            attributes: serde_json::Map::new(),
            message: None,
            priority: new.priority,
        };
        let lifecycle = super::timers::lifecycle_in(&mut tx, tenant).await?;
        let (record, _) =
            Self::insert_conversation(&mut tx, tenant, conversation, None, &lifecycle, now).await?;
        if let Some(owner) = &new.owner {
            let reason = "owner chosen when the ticket was made";
            set_owner(&mut tx, tenant, &record.id, Some(owner), reason, now).await?;
        }
        let row = TicketRow {
            conversation: &record.id,
            name: &new.name,
            pipeline: &new.pipeline,
            stage: &new.stage.id,
            company: new.company.as_ref(),
            properties: &new.properties,
            source: "manual",
        };
        let id = insert_ticket(&mut tx, tenant, row, now).await?;
        if let Some(follower) = &new.follower {
            follow_in(&mut tx, &record.id, follower, Some(follower), now).await?;
        }
        let mut events = vec![EventKind::TicketCreated];
        if new.stage.closed {
            timers::change_status(&mut tx, tenant, &record.id, StatusChange::Close, now).await?;
            events.push(EventKind::ConversationStatusChanged);
        }
        let event = write_events(&mut tx, tenant, &record.id, &events, now).await?;
        tx.commit().await?;
        Ok((id, event.unwrap_or_default()))
    }

    /// Apply an edit in one transaction; returns the last event written.
    pub async fn update_ticket(
        &self,
        tenant: &TenantId,
        ticket: &TicketRecord,
        patch: TicketPatch,
    ) -> Result<Option<i64>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let company = patch
            .company
            .as_ref()
            .map(|c| c.as_ref().map(CompanyId::as_str));
        sqlx::query(
            "UPDATE tickets SET name = COALESCE($1, name), properties = COALESCE($2, properties),
                company_id = CASE WHEN $3 THEN $4 ELSE company_id END, updated_at = $5
             WHERE id = $6",
        )
        .bind(&patch.name)
        .bind(patch.properties.as_ref().map(Properties::to_json))
        .bind(company.is_some())
        .bind(company.flatten())
        .bind(now.0)
        .bind(ticket.id.as_str())
        .execute(&mut *tx)
        .await?;
        let (email, name) = patch.contact.clone().unzip();
        sqlx::query(
            "UPDATE conversations SET priority = COALESCE($1, priority),
                contact_email = CASE WHEN $2 THEN $3 ELSE contact_email END,
                contact_name = CASE WHEN $4 THEN $5 ELSE contact_name END, updated_at = $6
             WHERE id = $7",
        )
        .bind(patch.priority.map(Priority::rank))
        .bind(email.is_some())
        .bind(email.flatten())
        .bind(name.is_some())
        .bind(name.flatten())
        .bind(now.0)
        .bind(ticket.conversation.as_str())
        .execute(&mut *tx)
        .await?;
        let mut last = None;
        if let Some(owner) = &patch.owner
            && owner.as_ref() != ticket.owner.as_ref()
        {
            let reason = "owner changed on the ticket";
            set_owner(
                &mut tx,
                tenant,
                &ticket.conversation,
                owner.as_ref(),
                reason,
                now,
            )
            .await?;
            if let Some(agent) = owner {
                last = Some(
                    insert_event(
                        &mut tx,
                        tenant,
                        EventKind::ConversationAssigned,
                        Some(&ticket.conversation),
                        Some(agent),
                        None,
                        now,
                    )
                    .await?,
                );
            }
        }
        if let Some(stage) = &patch.stage {
            let events =
                set_stage(&mut tx, tenant, &ticket.id, &ticket.pipeline, stage, now).await?;
            last = write_events(&mut tx, tenant, &ticket.conversation, &events, now)
                .await?
                .or(last);
        }
        tx.commit().await?;
        Ok(last)
    }

    /// Move a ticket to another pipeline, into one of its statuses.
    pub async fn move_ticket(
        &self,
        tenant: &TenantId,
        ticket: &TicketRecord,
        pipeline: &PipelineId,
        stage: &StageRecord,
    ) -> Result<Option<i64>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let events = set_stage(&mut tx, tenant, &ticket.id, pipeline, stage, now).await?;
        let last = write_events(&mut tx, tenant, &ticket.conversation, &events, now).await?;
        tx.commit().await?;
        Ok(last)
    }
}
