//! The steps tickets are made and changed with, inside a caller's
//! transaction: filing a conversation as a ticket (automatically, by a
//! workflow, by a split), owners, and status changes that close or reopen
//! the conversation.

use sqlx::{AnyConnection, Row};

use super::events::insert_event;
use super::pipelines;
use super::tickets::ticket_of;
use super::{Result, StoreError, timers};
use crate::domain::{
    AgentId, Channel, CompanyId, ConversationId, ConversationStatus, EventKind, Millis, PipelineId,
    PipelineRecord, Properties, StageId, StageMove, StageRecord, TenantId, TicketId,
    filed_ticket_name, following_stage, stage_move,
};

/// A ticket row to insert.
pub(super) struct TicketRow<'a> {
    pub conversation: &'a ConversationId,
    pub name: &'a str,
    pub pipeline: &'a PipelineId,
    pub stage: &'a StageId,
    pub company: Option<&'a CompanyId>,
    pub properties: &'a Properties,
    /// The channel it came from, "manual" or "split".
    pub source: &'a str,
}

pub(super) async fn insert_ticket(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    ticket: TicketRow<'_>,
    now: Millis,
) -> Result<TicketId> {
    let id = TicketId::generate();
    sqlx::query(
        "INSERT INTO tickets (id, tenant_id, conversation_id, name, pipeline_id, stage_id,
            company_id, properties, source, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.as_str())
    .bind(tenant.as_str())
    .bind(ticket.conversation.as_str())
    .bind(ticket.name)
    .bind(ticket.pipeline.as_str())
    .bind(ticket.stage.as_str())
    .bind(ticket.company.map(CompanyId::as_str))
    .bind(ticket.properties.to_json())
    .bind(ticket.source)
    .bind(now.0)
    .bind(now.0)
    .execute(conn)
    .await
    .map_err(|e| StoreError::conflict_on_unique(e, "this conversation is already a ticket"))?;
    Ok(id)
}

/// File a conversation as a ticket in the first status of `pipeline`; the
/// caller writes `ticket.created` (with its place in a chain of events).
pub(super) async fn file_conversation(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    name: &str,
    pipeline: &PipelineRecord,
    source: &str,
    now: Millis,
) -> Result<TicketId> {
    let stage = pipeline
        .first()
        .ok_or_else(|| StoreError::Conflict(format!("pipeline {} has no status", pipeline.id)))?;
    let row = TicketRow {
        conversation,
        name,
        pipeline: &pipeline.id,
        stage: &stage.id,
        company: None,
        properties: &Properties::default(),
        source,
    };
    insert_ticket(conn, tenant, row, now).await
}

/// [`Store::follow`](super::Store::follow) inside a transaction; `false`
/// if they already followed.
pub(super) async fn follow_in(
    conn: &mut AnyConnection,
    conversation: &ConversationId,
    agent: &AgentId,
    by: Option<&AgentId>,
    at: Millis,
) -> Result<bool> {
    let added = sqlx::query(
        "INSERT INTO followers (conversation_id, agent_id, added_by, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(conversation.as_str())
    .bind(agent.as_str())
    .bind(by.map(AgentId::as_str))
    .bind(at.0)
    .execute(conn)
    .await?;
    Ok(added.rows_affected() == 1)
}

/// Write events about one conversation; returns the last id.
pub(super) async fn write_events(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    kinds: &[EventKind],
    now: Millis,
) -> Result<Option<i64>> {
    let mut last = None;
    for kind in kinds {
        last = Some(insert_event(conn, tenant, *kind, Some(conversation), None, None, now).await?);
    }
    Ok(last)
}

/// Give the ticket's conversation to a member by hand (or to nobody), with
/// its history entry. No capacity check: a person decided.
pub(super) async fn set_owner(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    owner: Option<&AgentId>,
    reason: &str,
    now: Millis,
) -> Result<()> {
    let (routing, action) = match owner {
        Some(_) => ("assigned", "assigned"),
        None => ("unassigned", "unassigned"),
    };
    let kind = owner.map(|_| "agent");
    let owner = owner.map(AgentId::as_str);
    sqlx::query(
        "UPDATE conversations SET routing = $1, assignee_kind = $2, assignee_id = $3,
            queued_at = NULL, updated_at = $4
         WHERE tenant_id = $5 AND id = $6",
    )
    .bind(routing)
    .bind(kind)
    .bind(owner)
    .bind(now.0)
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM offers WHERE conversation_id = $1")
        .bind(conversation.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO assignment_history (conversation_id, at, action, assignee_kind, assignee_id,
            decided_by, reason) VALUES ($1, $2, $3, $4, $5, 'manual', $6)",
    )
    .bind(conversation.as_str())
    .bind(now.0)
    .bind(action)
    .bind(kind)
    .bind(owner)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Move a ticket to a status (of `pipeline`, which may be a new one). A
/// closed status closes the conversation; leaving a closed status reopens
/// it. Returns the events to write.
pub(super) async fn set_stage(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    ticket: &TicketId,
    pipeline: &PipelineId,
    to: &StageRecord,
    now: Millis,
) -> Result<Vec<EventKind>> {
    let row = sqlx::query(
        "SELECT t.conversation_id, t.stage_id, s.closed, c.status FROM tickets t
         JOIN pipeline_stages s ON s.id = t.stage_id
         JOIN conversations c ON c.id = t.conversation_id
         WHERE t.tenant_id = $1 AND t.id = $2",
    )
    .bind(tenant.as_str())
    .bind(ticket.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let Ok(conversation) = ConversationId::parse(row.get("conversation_id")) else {
        return Ok(Vec::new());
    };
    let from = StageId::parse(row.get("stage_id")).ok();
    let from_closed = row.get::<i64, _>("closed") != 0;
    let status = ConversationStatus::parse(row.get("status")).ok();
    let StageMove {
        conversation: change,
        events,
    } = stage_move(from.as_ref(), from_closed, to, status);
    sqlx::query(
        "UPDATE tickets SET pipeline_id = $1, stage_id = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(pipeline.as_str())
    .bind(to.id.as_str())
    .bind(now.0)
    .bind(ticket.as_str())
    .execute(&mut *conn)
    .await?;
    if let Some(change) = change {
        timers::change_status(conn, tenant, &conversation, change, now).await?;
    }
    Ok(events)
}

/// Keep a conversation's ticket in step when the conversation is closed
/// (`closed`) or reopened from outside the ticket: [`following_stage`] of
/// its pipeline says where it goes, if anywhere. Returns whether the ticket
/// moved.
pub(super) async fn follow_conversation(
    conn: &mut AnyConnection,
    conversation: &ConversationId,
    closed: bool,
    now: Millis,
) -> Result<bool> {
    let rows = sqlx::query(
        "SELECT t.id, t.pipeline_id, s.closed FROM tickets t
         JOIN pipeline_stages s ON s.id = t.stage_id
         WHERE t.conversation_id = $1 AND t.merged_into IS NULL",
    )
    .bind(conversation.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut moved = false;
    for row in rows {
        let (Ok(ticket), Ok(pipeline)) = (
            TicketId::parse(row.get("id")),
            PipelineId::parse(row.get("pipeline_id")),
        ) else {
            continue;
        };
        let in_closed = row.get::<i64, _>("closed") != 0;
        let statuses = pipelines::stages(conn, &pipeline).await?;
        let Some(to) = following_stage(&statuses, in_closed, closed) else {
            continue;
        };
        sqlx::query("UPDATE tickets SET stage_id = $1, updated_at = $2 WHERE id = $3")
            .bind(to.id.as_str())
            .bind(now.0)
            .bind(ticket.as_str())
            .execute(&mut *conn)
            .await?;
        moved = true;
    }
    Ok(moved)
}

/// A workflow's `create-ticket`: file the conversation in the named
/// pipeline (by id or name; the default one when absent or unknown).
/// Nothing happens if it already is a ticket. Returns whether it was filed
/// (the caller writes `ticket.created`).
pub(super) async fn file_from_workflow(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    subject: &str,
    pipeline: Option<&str>,
    now: Millis,
) -> Result<bool> {
    if ticket_of(conn, conversation).await?.is_some() {
        return Ok(false);
    }
    let row = sqlx::query(
        "SELECT channel, subject, contact_email FROM conversations WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let channel = Channel::parse(row.get("channel")).unwrap_or(Channel::Chat);
    let named = match pipeline {
        Some(text) => pipelines::pipeline_named(conn, tenant, text).await?,
        None => None,
    };
    let pipeline = match named {
        Some(pipeline) => pipeline,
        None => pipelines::default_pipeline_in(conn, tenant, now).await?,
    };
    let name = filed_ticket_name(
        subject,
        row.get::<Option<String>, _>("subject").as_deref(),
        channel,
        row.get::<Option<String>, _>("contact_email").as_deref(),
    );
    file_conversation(
        conn,
        tenant,
        conversation,
        &name,
        &pipeline,
        channel.as_str(),
        now,
    )
    .await?;
    Ok(true)
}

/// A workflow's `set-stage`: move the conversation's ticket to the status
/// with this id (of its pipeline, as the action check made sure), closing
/// or reopening the conversation as the status says. Returns the events to
/// write.
pub(super) async fn stage_from_workflow(
    conn: &mut AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    stage: &str,
    now: Millis,
) -> Result<Vec<EventKind>> {
    let row = sqlx::query(
        "SELECT t.id, t.pipeline_id, s.id AS stage_id, s.name, s.closed, s.requires
         FROM tickets t JOIN pipeline_stages s ON s.pipeline_id = t.pipeline_id
         WHERE t.tenant_id = $1 AND t.conversation_id = $2 AND s.id = $3",
    )
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .bind(stage)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let (Ok(ticket), Ok(pipeline), Ok(id)) = (
        TicketId::parse(row.get("id")),
        PipelineId::parse(row.get("pipeline_id")),
        StageId::parse(row.get("stage_id")),
    ) else {
        return Ok(Vec::new());
    };
    let to = StageRecord {
        id,
        name: row.get("name"),
        closed: row.get::<i64, _>("closed") != 0,
        requires: serde_json::from_str(row.get("requires")).unwrap_or_default(),
    };
    set_stage(conn, tenant, &ticket, &pipeline, &to, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::domain::{Change, NewConversation, Outcome, Priority, StatusSpec};
    use crate::store::Store;

    fn chat(subject: &str) -> NewConversation {
        NewConversation {
            channel: Channel::Chat,
            subject: Some(subject.into()),
            contact_name: None,
            contact_email: Some("kim@example.com".into()),
            contact_owner: None,
            attributes: serde_json::Map::new(),
            message: Some("hello".into()),
            priority: Priority::Normal,
        }
    }

    fn create(tenant: &TenantId, conversation: &ConversationId, pipeline: Option<&str>) -> Outcome {
        Outcome {
            tenant: tenant.clone(),
            event: None,
            summary: String::new(),
            changes: vec![Change::CreateTicket {
                conversation: conversation.clone(),
                subject: "Escalated".into(),
                pipeline: pipeline.map(str::to_owned),
            }],
        }
    }

    #[tokio::test]
    async fn workflows_file_a_conversation_once_and_move_its_ticket_by_status_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("baton.db").display());
        let store = Store::connect(&url, Clock::manual(Millis(1_000)))
            .await
            .expect("store");
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let tenant = tenant.id;
        let (first, _) = store
            .create_conversation(&tenant, chat("Help"), None)
            .await
            .expect("conversation");
        assert!(
            store
                .ticket_for_conversation(&tenant, &first.id)
                .await
                .expect("read")
                .is_none(),
            "chat is not connected to the help desk by default"
        );

        // An unknown pipeline name falls back to the default pipeline.
        let events = store
            .apply(&create(&tenant, &first.id, Some("no such pipeline")))
            .await
            .expect("applied");
        assert_eq!(events.len(), 1, "ticket.created is written");
        let ticket = store
            .ticket_for_conversation(&tenant, &first.id)
            .await
            .expect("read")
            .expect("filed");
        assert_eq!(ticket.name, "Escalated");
        assert_eq!(ticket.stage_name, "New");
        assert_eq!(ticket.source, "chat");
        let pipelines = store.pipelines(&tenant).await.expect("pipelines");
        assert_eq!(ticket.pipeline, pipelines[0].id);
        // Filing it again changes nothing.
        let again = store
            .apply(&create(&tenant, &first.id, None))
            .await
            .expect("applied");
        assert!(again.is_empty());

        // A workflow's set-stage into a closed status closes the conversation.
        let closed = &pipelines[0].statuses[3];
        assert!(
            store
                .stage_in_pipeline(&tenant, pipelines[0].id.as_str(), closed.id.as_str())
                .await
                .expect("read")
        );
        assert!(
            !store
                .stage_in_pipeline(&tenant, pipelines[0].id.as_str(), "Closed")
                .await
                .expect("read"),
            "statuses are named by id"
        );
        let moved = store
            .apply(&Outcome {
                tenant: tenant.clone(),
                event: None,
                summary: String::new(),
                changes: vec![Change::SetStage {
                    conversation: first.id.clone(),
                    stage: closed.id.to_string(),
                }],
            })
            .await
            .expect("applied");
        assert_eq!(moved.len(), 2, "ticket and conversation status events");
        let summary = store
            .ticket_of_conversation(&tenant, &first.id)
            .await
            .expect("read")
            .expect("a ticket");
        assert_eq!(summary.stage, closed.id.as_str());
        assert_eq!(summary.source, "chat");
        let conversation = store
            .get_conversation(&tenant, &first.id)
            .await
            .expect("read")
            .expect("there");
        assert_eq!(
            conversation.status,
            crate::domain::ConversationStatus::Closed
        );

        // A pipeline named by name.
        let statuses = vec![StatusSpec {
            id: None,
            name: "Triage".into(),
            closed: false,
            requires: Vec::new(),
        }];
        let escalations = store
            .create_pipeline(&tenant, "Escalations", &statuses)
            .await
            .expect("pipeline");
        let (second, _) = store
            .create_conversation(&tenant, chat("Other"), None)
            .await
            .expect("conversation");
        store
            .apply(&create(&tenant, &second.id, Some("Escalations")))
            .await
            .expect("applied");
        let filed = store
            .ticket_for_conversation(&tenant, &second.id)
            .await
            .expect("read")
            .expect("filed");
        assert_eq!(filed.pipeline, escalations.id);
        assert_eq!(filed.stage_name, "Triage");
    }
}
