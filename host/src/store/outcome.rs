//! The dispatcher's result for one event, applied in one transaction: the
//! routing changes, their history, the plugins' key-value writes, recorded
//! failures, follow-up events and the mark that the event is done. Either all
//! of it lands or none of it, so an event is never half-applied or run twice.

use super::events::{Origin, depth_of, insert_event_from};
use super::{Result, Store, StoreError, conversations::insert_message, ticket_changes, timers};
use crate::domain::{
    AgentId, Author, ConversationId, ConversationStatus, EventKind, Millis, StatusChange, TeamId,
    TenantId,
};

/// Who decided a change of owner, and why.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// "plugin", "fallback", "handoff", "workflow", "manual", ...
    pub decided_by: String,
    /// The assignment rule that matched, if one did.
    pub rule: Option<String>,
    pub plugin_name: Option<String>,
    pub plugin_version: Option<String>,
    pub reason: String,
}

/// One change to apply.
#[derive(Debug, Clone)]
pub enum Change {
    /// Give the conversation to an agent.
    Assign {
        conversation: ConversationId,
        agent: AgentId,
        team: Option<TeamId>,
        history: HistoryEntry,
    },
    /// Let it wait in the queue (of a team, if given).
    Queue {
        conversation: ConversationId,
        team: Option<TeamId>,
        history: HistoryEntry,
    },
    /// Leave it without an owner, waiting in its team (or the inbox) for
    /// a person to take it or assign it; queue drains leave it alone.
    Unclaim {
        conversation: ConversationId,
        team: Option<TeamId>,
        history: HistoryEntry,
    },
    /// Offer it to several agents at once.
    Offer {
        conversation: ConversationId,
        agents: Vec<AgentId>,
        history: HistoryEntry,
    },
    /// Turn it away (the queue is full): tell the customer and close it.
    Reject {
        conversation: ConversationId,
        message: String,
        history: HistoryEntry,
    },
    /// A history entry with no other change (e.g. an agent declined).
    History {
        conversation: ConversationId,
        action: String,
        agent: Option<AgentId>,
        history: HistoryEntry,
    },
    /// Leave it without an owner on purpose.
    Unassign {
        conversation: ConversationId,
        history: HistoryEntry,
    },
    SetStatus {
        conversation: ConversationId,
        status: ConversationStatus,
    },
    AddTag {
        conversation: ConversationId,
        tag: String,
    },
    AddNote {
        conversation: ConversationId,
        body: String,
    },
    /// A message to the customer, written by the system (as the bot). It
    /// starts no routing of its own.
    Say {
        conversation: ConversationId,
        body: String,
    },
    /// Notify members: a notification each, with a delivery per channel
    /// they chose for its type (see `store::notifications`).
    Notify(super::Notice),
    /// File the conversation as a ticket (nothing if it already is one)
    /// in the pipeline named by id or name, the default one when `None` or
    /// unknown, and write `ticket.created`.
    CreateTicket {
        conversation: ConversationId,
        subject: String,
        pipeline: Option<String>,
    },
    /// A plugin's key-value writes (`None` deletes).
    Kv {
        plugin: String,
        writes: Vec<(String, Option<Vec<u8>>)>,
    },
    Failure {
        conversation: Option<ConversationId>,
        plugin_name: String,
        plugin_version: String,
        failure: String,
        message: String,
        fallback: String,
    },
    /// A follow-up event for workflows.
    Event {
        kind: EventKind,
        conversation: Option<ConversationId>,
        agent: Option<AgentId>,
    },
    /// Keep an agent from being offered the conversation again (they
    /// declined it, or a workflow took it from them).
    Exclude {
        conversation: ConversationId,
        agent: AgentId,
    },
    /// Move the conversation's ticket to another status of its pipeline.
    SetStage {
        conversation: ConversationId,
        stage: String,
    },
    /// Add a follower.
    Follow {
        conversation: ConversationId,
        agent: AgentId,
    },
    RemoveTag {
        conversation: ConversationId,
        tag: String,
    },
    /// Start (or restart) a workflow's named timer.
    StartTimer {
        conversation: ConversationId,
        plugin: String,
        name: String,
        due: Millis,
    },
    CancelTimer {
        conversation: ConversationId,
        plugin: String,
        name: String,
    },
    /// The record of what one workflow did with the event.
    WorkflowRun {
        conversation: Option<ConversationId>,
        event_kind: EventKind,
        plugin_name: String,
        plugin_version: String,
        /// One line per action, in order.
        actions: Vec<String>,
        error: Option<String>,
    },
}

/// Everything one event produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub tenant: TenantId,
    pub event: Option<i64>,
    pub summary: String,
    pub changes: Vec<Change>,
}

/// A conversation leaves its assignee to wait, as `routing` (queued for
/// room, or unclaimed for a person), in `team` if one is given; its place
/// in the queue keeps the time it first started waiting.
async fn wait(
    tx: &mut sqlx::SqliteConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    team: Option<&TeamId>,
    routing: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE conversations SET routing = ?, assignee_kind = NULL,
            assignee_id = NULL, team_id = COALESCE(?, team_id),
            queued_at = COALESCE(queued_at, ?), updated_at = ?
         WHERE tenant_id = ? AND id = ?",
    )
    .bind(routing)
    .bind(team.map(TeamId::as_str))
    .bind(now.0)
    .bind(now.0)
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn history(
    tx: &mut sqlx::SqliteConnection,
    conversation: &ConversationId,
    at: Millis,
    action: &str,
    agent: Option<&AgentId>,
    team: Option<&TeamId>,
    entry: &HistoryEntry,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assignment_history (conversation_id, at, action, assignee_kind, assignee_id,
            team_id, decided_by, rule_name, plugin_name, plugin_version, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(conversation.as_str())
    .bind(at.0)
    .bind(action)
    .bind(agent.map(|_| "agent"))
    .bind(agent.map(AgentId::as_str))
    .bind(team.map(TeamId::as_str))
    .bind(&entry.decided_by)
    .bind(&entry.rule)
    .bind(&entry.plugin_name)
    .bind(&entry.plugin_version)
    .bind(&entry.reason)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// Apply an outcome atomically. Returns the ids of follow-up events.
    pub async fn apply(&self, outcome: &Outcome) -> Result<Vec<i64>> {
        let now = self.now();
        let tenant = &outcome.tenant;
        let mut tx = self.write().await?;
        let mut events = Vec::new();
        // Events caused while handling an event are one deeper in its chain.
        let caused = Origin {
            depth: match outcome.event {
                Some(event) => depth_of(&mut tx, event).await?.saturating_add(1),
                None => 0,
            },
            detail: None,
        };
        for change in &outcome.changes {
            match change {
                Change::Assign {
                    conversation,
                    agent,
                    team,
                    history: entry,
                } => {
                    sqlx::query(
                        "UPDATE conversations SET routing = 'assigned', assignee_kind = 'agent',
                            assignee_id = ?, team_id = COALESCE(?, team_id), queued_at = NULL,
                            updated_at = ?
                         WHERE tenant_id = ? AND id = ?",
                    )
                    .bind(agent.as_str())
                    .bind(team.as_ref().map(TeamId::as_str))
                    .bind(now.0)
                    .bind(tenant.as_str())
                    .bind(conversation.as_str())
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE agents SET last_assigned_at = ?, handled = handled + 1
                         WHERE tenant_id = ? AND id = ?",
                    )
                    .bind(now.0)
                    .bind(tenant.as_str())
                    .bind(agent.as_str())
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM offers WHERE conversation_id = ?")
                        .bind(conversation.as_str())
                        .execute(&mut *tx)
                        .await?;
                    history(
                        &mut tx,
                        conversation,
                        now,
                        "assigned",
                        Some(agent),
                        team.as_ref(),
                        entry,
                    )
                    .await?;
                }
                Change::Queue {
                    conversation,
                    team,
                    history: entry,
                } => {
                    wait(&mut tx, tenant, conversation, team.as_ref(), "queued", now).await?;
                    history(
                        &mut tx,
                        conversation,
                        now,
                        "queued",
                        None,
                        team.as_ref(),
                        entry,
                    )
                    .await?;
                }
                Change::Unclaim {
                    conversation,
                    team,
                    history: entry,
                } => {
                    wait(
                        &mut tx,
                        tenant,
                        conversation,
                        team.as_ref(),
                        "unclaimed",
                        now,
                    )
                    .await?;
                    sqlx::query("DELETE FROM offers WHERE conversation_id = ?")
                        .bind(conversation.as_str())
                        .execute(&mut *tx)
                        .await?;
                    history(
                        &mut tx,
                        conversation,
                        now,
                        "unclaimed",
                        None,
                        team.as_ref(),
                        entry,
                    )
                    .await?;
                }
                Change::Offer {
                    conversation,
                    agents,
                    history: entry,
                } => {
                    sqlx::query(
                        "UPDATE conversations SET routing = 'offered', assignee_kind = NULL,
                            assignee_id = NULL, queued_at = COALESCE(queued_at, ?), updated_at = ?
                         WHERE tenant_id = ? AND id = ?",
                    )
                    .bind(now.0)
                    .bind(now.0)
                    .bind(tenant.as_str())
                    .bind(conversation.as_str())
                    .execute(&mut *tx)
                    .await?;
                    for agent in agents {
                        sqlx::query(
                            "INSERT OR IGNORE INTO offers (conversation_id, agent_id, created_at) VALUES (?, ?, ?)",
                        )
                        .bind(conversation.as_str())
                        .bind(agent.as_str())
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await?;
                    }
                    history(&mut tx, conversation, now, "offered", None, None, entry).await?;
                }
                Change::Unassign {
                    conversation,
                    history: entry,
                } => {
                    sqlx::query(
                        "UPDATE conversations SET routing = 'unassigned', assignee_kind = NULL,
                            assignee_id = NULL, queued_at = NULL, updated_at = ?
                         WHERE tenant_id = ? AND id = ?",
                    )
                    .bind(now.0)
                    .bind(tenant.as_str())
                    .bind(conversation.as_str())
                    .execute(&mut *tx)
                    .await?;
                    history(&mut tx, conversation, now, "unassigned", None, None, entry).await?;
                }
                Change::Reject {
                    conversation,
                    message,
                    history: entry,
                } => {
                    timers::change_status(&mut tx, tenant, conversation, StatusChange::Close, now)
                        .await?;
                    sqlx::query(
                        "UPDATE conversations SET routing = 'rejected',
                            assignee_kind = NULL, assignee_id = NULL, queued_at = NULL, updated_at = ?
                         WHERE tenant_id = ? AND id = ?",
                    )
                    .bind(now.0)
                    .bind(tenant.as_str())
                    .bind(conversation.as_str())
                    .execute(&mut *tx)
                    .await?;
                    insert_message(&mut tx, conversation, Author::Bot, message, false, now).await?;
                    history(&mut tx, conversation, now, "rejected", None, None, entry).await?;
                }
                Change::History {
                    conversation,
                    action,
                    agent,
                    history: entry,
                } => {
                    history(
                        &mut tx,
                        conversation,
                        now,
                        action,
                        agent.as_ref(),
                        None,
                        entry,
                    )
                    .await?;
                }
                Change::SetStatus {
                    conversation,
                    status,
                } => {
                    let change = match status {
                        ConversationStatus::Open => StatusChange::Open,
                        // A workflow's snooze has no end time: the
                        // customer's next message wakes it.
                        ConversationStatus::Snoozed => StatusChange::Snooze(None),
                        ConversationStatus::Closed => StatusChange::Close,
                    };
                    timers::change_status(&mut tx, tenant, conversation, change, now).await?;
                }
                Change::AddTag { conversation, tag } => {
                    sqlx::query("INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) VALUES (?, ?)")
                        .bind(conversation.as_str())
                        .bind(tag)
                        .execute(&mut *tx)
                        .await?;
                }
                Change::AddNote { conversation, body } => {
                    insert_message(&mut tx, conversation, Author::Bot, body, true, now).await?;
                }
                Change::Say { conversation, body } => {
                    insert_message(&mut tx, conversation, Author::Bot, body, false, now).await?;
                }
                Change::Notify(notice) => {
                    super::notifications::record(&mut tx, tenant, notice, now).await?;
                }
                Change::CreateTicket {
                    conversation,
                    subject,
                    pipeline,
                } => {
                    let filed = ticket_changes::file_from_workflow(
                        &mut tx,
                        tenant,
                        conversation,
                        subject,
                        pipeline.as_deref(),
                        now,
                    )
                    .await?;
                    if filed {
                        events.push(
                            insert_event_from(
                                &mut tx,
                                tenant,
                                EventKind::TicketCreated,
                                Some(conversation),
                                None,
                                None,
                                now,
                                &caused,
                            )
                            .await?,
                        );
                    }
                }
                Change::Kv { plugin, writes } => {
                    for (key, value) in writes {
                        match value {
                            Some(value) => {
                                sqlx::query(
                                    "INSERT OR REPLACE INTO plugin_kv (tenant_id, plugin_name, key, value)
                                     VALUES (?, ?, ?, ?)",
                                )
                                .bind(tenant.as_str())
                                .bind(plugin)
                                .bind(key)
                                .bind(value)
                                .execute(&mut *tx)
                                .await?;
                            }
                            None => {
                                sqlx::query(
                                    "DELETE FROM plugin_kv WHERE tenant_id = ? AND plugin_name = ? AND key = ?",
                                )
                                .bind(tenant.as_str())
                                .bind(plugin)
                                .bind(key)
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    }
                }
                Change::Failure {
                    conversation,
                    plugin_name,
                    plugin_version,
                    failure,
                    message,
                    fallback,
                } => {
                    sqlx::query(
                        "INSERT INTO plugin_failures (tenant_id, event_id, conversation_id, plugin_name,
                            plugin_version, failure, message, fallback, at)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(tenant.as_str())
                    .bind(outcome.event)
                    .bind(conversation.as_ref().map(ConversationId::as_str))
                    .bind(plugin_name)
                    .bind(plugin_version)
                    .bind(failure)
                    .bind(message)
                    .bind(fallback)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                }
                Change::Event {
                    kind,
                    conversation,
                    agent,
                } => {
                    events.push(
                        insert_event_from(
                            &mut tx,
                            tenant,
                            *kind,
                            conversation.as_ref(),
                            agent.as_ref(),
                            None,
                            now,
                            &caused,
                        )
                        .await?,
                    );
                }
                Change::Exclude {
                    conversation,
                    agent,
                } => {
                    sqlx::query(
                        "INSERT OR IGNORE INTO declines (conversation_id, agent_id, at) VALUES (?, ?, ?)",
                    )
                    .bind(conversation.as_str())
                    .bind(agent.as_str())
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                }
                Change::Follow {
                    conversation,
                    agent,
                } => {
                    sqlx::query(
                        "INSERT OR IGNORE INTO followers (conversation_id, agent_id, at) VALUES (?, ?, ?)",
                    )
                    .bind(conversation.as_str())
                    .bind(agent.as_str())
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                }
                Change::SetStage {
                    conversation,
                    stage,
                } => {
                    let kinds = ticket_changes::stage_from_workflow(
                        &mut tx,
                        tenant,
                        conversation,
                        stage,
                        now,
                    )
                    .await?;
                    for kind in kinds {
                        events.push(
                            insert_event_from(
                                &mut tx,
                                tenant,
                                kind,
                                Some(conversation),
                                None,
                                None,
                                now,
                                &caused,
                            )
                            .await?,
                        );
                    }
                }
                Change::RemoveTag { conversation, tag } => {
                    sqlx::query(
                        "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?",
                    )
                    .bind(conversation.as_str())
                    .bind(tag)
                    .execute(&mut *tx)
                    .await?;
                }
                Change::StartTimer {
                    conversation,
                    plugin,
                    name,
                    due,
                } => {
                    timers::start_workflow_timer(
                        &mut tx,
                        tenant,
                        conversation,
                        plugin,
                        name,
                        *due,
                        caused.depth,
                        now,
                    )
                    .await?;
                }
                Change::CancelTimer {
                    conversation,
                    plugin,
                    name,
                } => {
                    timers::cancel_workflow_timer(&mut tx, conversation, plugin, name, now).await?;
                }
                Change::WorkflowRun {
                    conversation,
                    event_kind,
                    plugin_name,
                    plugin_version,
                    actions,
                    error,
                } => {
                    sqlx::query(
                        "INSERT INTO workflow_runs (tenant_id, event_id, event_kind, conversation_id,
                            plugin_name, plugin_version, actions, error, at)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(tenant.as_str())
                    .bind(outcome.event)
                    .bind(event_kind.as_str())
                    .bind(conversation.as_ref().map(ConversationId::as_str))
                    .bind(plugin_name)
                    .bind(plugin_version)
                    .bind(serde_json::to_string(actions).unwrap_or_else(|_| "[]".into()))
                    .bind(error)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        if let Some(event) = outcome.event {
            let marked = sqlx::query(
                "UPDATE events SET processed_at = ?, outcome = ? WHERE id = ? AND processed_at IS NULL",
            )
            .bind(now.0)
            .bind(&outcome.summary)
            .bind(event)
            .execute(&mut *tx)
            .await?;
            // Another process sharing the database handled it first: this
            // outcome is dropped whole (the transaction rolls back).
            if marked.rows_affected() == 0 {
                return Err(StoreError::Conflict(format!(
                    "event {event} was already handled"
                )));
            }
        }
        tx.commit().await?;
        Ok(events)
    }
}
