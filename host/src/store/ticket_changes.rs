//! The steps tickets are made and changed with, inside a caller's
//! transaction: filing a conversation as a ticket (automatically, by a
//! workflow, by a split), owners, and status changes that close or reopen
//! the conversation.

use sqlx::{Row, SqliteConnection};

use super::events::insert_event;
use super::pipelines::{self, PipelineRecord, StageRecord};
use super::tickets::ticket_of;
use super::{Result, StoreError, timers};
use crate::domain::{
    AgentId, Channel, CompanyId, ConversationId, ConversationStatus, EventKind, Millis, PipelineId,
    Properties, StageId, StatusChange, TenantId, TicketId, ticket_name,
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
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    ticket: TicketRow<'_>,
    now: Millis,
) -> Result<TicketId> {
    let id = TicketId::generate();
    sqlx::query(
        "INSERT INTO tickets (id, tenant_id, conversation_id, name, pipeline_id, stage_id,
            company_id, properties, source, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

/// File a conversation as a ticket in the first status of `pipeline` and
/// write `ticket.created`.
pub(super) async fn file_conversation(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    name: &str,
    pipeline: &PipelineRecord,
    source: &str,
    now: Millis,
) -> Result<(TicketId, i64)> {
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
    let id = insert_ticket(conn, tenant, row, now).await?;
    let kind = EventKind::TicketCreated;
    let event = insert_event(conn, tenant, kind, Some(conversation), None, None, now).await?;
    Ok((id, event))
}

/// [`Store::follow`](super::Store::follow) inside a transaction; `false`
/// if they already followed.
pub(super) async fn follow_in(
    conn: &mut SqliteConnection,
    conversation: &ConversationId,
    agent: &AgentId,
    by: Option<&AgentId>,
    at: Millis,
) -> Result<bool> {
    let added = sqlx::query(
        "INSERT OR IGNORE INTO followers (conversation_id, agent_id, added_by, at) VALUES (?, ?, ?, ?)",
    )
    .bind(conversation.as_str())
    .bind(agent.as_str())
    .bind(by.map(AgentId::as_str))
    .bind(at.0)
    .execute(conn)
    .await?;
    Ok(added.rows_affected() == 1)
}

/// [`Store::notify_agent`](super::Store::notify_agent) inside a
/// transaction: the same recipient form, so the agent's list finds it.
pub(super) async fn notify_in(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    agent: &AgentId,
    message: &str,
    at: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (tenant_id, conversation_id, recipient, message, created_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .bind(serde_json::json!({ "agent": agent }).to_string())
    .bind(message)
    .bind(at.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Write events about one conversation; returns the last id.
pub(super) async fn write_events(
    conn: &mut SqliteConnection,
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
    conn: &mut SqliteConnection,
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
        "UPDATE conversations SET routing = ?, assignee_kind = ?, assignee_id = ?,
            queued_at = NULL, updated_at = ?
         WHERE tenant_id = ? AND id = ?",
    )
    .bind(routing)
    .bind(kind)
    .bind(owner)
    .bind(now.0)
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM offers WHERE conversation_id = ?")
        .bind(conversation.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO assignment_history (conversation_id, at, action, assignee_kind, assignee_id,
            decided_by, reason) VALUES (?, ?, ?, ?, ?, 'manual', ?)",
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
    conn: &mut SqliteConnection,
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
         WHERE t.tenant_id = ? AND t.id = ?",
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
    let was_closed = row.get::<i64, _>("closed") != 0;
    let status = ConversationStatus::parse(row.get("status")).ok();
    sqlx::query("UPDATE tickets SET pipeline_id = ?, stage_id = ?, updated_at = ? WHERE id = ?")
        .bind(pipeline.as_str())
        .bind(to.id.as_str())
        .bind(now.0)
        .bind(ticket.as_str())
        .execute(&mut *conn)
        .await?;
    let mut events = Vec::new();
    if row.get::<String, _>("stage_id") != to.id.as_str() {
        events.push(EventKind::TicketStatusChanged);
    }
    let change = if to.closed && status != Some(ConversationStatus::Closed) {
        Some(StatusChange::Close)
    } else if !to.closed && was_closed && status == Some(ConversationStatus::Closed) {
        Some(StatusChange::Open)
    } else {
        None
    };
    if let Some(change) = change {
        timers::change_status(conn, tenant, &conversation, change, now).await?;
        events.push(EventKind::ConversationStatusChanged);
    }
    Ok(events)
}

/// A message reopened the conversation: a ticket in a closed status goes
/// back to its pipeline's first open status, so the two never disagree.
/// Returns whether the ticket moved.
pub(super) async fn reopen(
    conn: &mut SqliteConnection,
    conversation: &ConversationId,
    now: Millis,
) -> Result<bool> {
    let moved = sqlx::query(
        "UPDATE tickets SET updated_at = ?, stage_id = (
            SELECT o.id FROM pipeline_stages o
            WHERE o.pipeline_id = tickets.pipeline_id AND o.closed = 0
            ORDER BY o.position LIMIT 1)
         WHERE conversation_id = ? AND merged_into IS NULL
           AND stage_id IN (SELECT id FROM pipeline_stages WHERE closed = 1)
           AND EXISTS (SELECT 1 FROM pipeline_stages o
                       WHERE o.pipeline_id = tickets.pipeline_id AND o.closed = 0)",
    )
    .bind(now.0)
    .bind(conversation.as_str())
    .execute(conn)
    .await?;
    Ok(moved.rows_affected() > 0)
}

/// A workflow's `create-ticket`: file the conversation in the named
/// pipeline (by id or name; the default one when absent or unknown).
/// Nothing happens if it already is a ticket. Returns the event written.
pub(super) async fn file_from_workflow(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    subject: &str,
    pipeline: Option<&str>,
    now: Millis,
) -> Result<Option<i64>> {
    if ticket_of(conn, conversation).await?.is_some() {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT channel, subject, contact_email FROM conversations WHERE tenant_id = ? AND id = ?",
    )
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let channel = Channel::parse(row.get("channel")).unwrap_or(Channel::Chat);
    let named = match pipeline {
        Some(text) => pipelines::pipeline_named(conn, tenant, text).await?,
        None => None,
    };
    let pipeline = match named {
        Some(pipeline) => pipeline,
        None => pipelines::default_pipeline_in(conn, tenant, now).await?,
    };
    let name = match subject.trim() {
        "" => ticket_name(
            row.get::<Option<String>, _>("subject").as_deref(),
            channel,
            row.get::<Option<String>, _>("contact_email").as_deref(),
        ),
        subject => subject.to_owned(),
    };
    let (_, event) = file_conversation(
        conn,
        tenant,
        conversation,
        &name,
        &pipeline,
        channel.as_str(),
        now,
    )
    .await?;
    Ok(Some(event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::domain::{Priority, StatusSpec};
    use crate::store::{Change, NewConversation, Outcome, Store};

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
    async fn a_workflow_files_a_conversation_once_in_the_named_or_the_default_pipeline() {
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
