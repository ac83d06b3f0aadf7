//! Durable timers and the status changes that start and stop them.
//!
//! A timer is a row. The worker claims a due timer (sets `fired_at`) in the
//! same transaction as its effect and the event it writes, so a timer fires
//! exactly once: a crash before the commit leaves it due, and a second
//! process finds it already claimed.

use sqlx::Row;

use super::events::{Origin, insert_event, insert_event_from};
use super::{Result, Store, conversations::insert_message, opt_id, ticket_changes};
use crate::domain::{
    Author, ConversationId, ConversationStatus, EventKind, Millis, StatusChange, StatusEffect,
    TenantId, TimerFiring, TimerKind, status_effects, timer_firing,
};

/// The settings topic holding [`Lifecycle`].
pub const LIFECYCLE_TOPIC: &str = "lifecycle";

/// A tenant's conversation life-cycle settings.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Lifecycle {
    /// Close an open conversation after this long without a message from
    /// either side; `None` keeps conversations open until someone closes them.
    pub auto_close_after_ms: Option<i64>,
    /// Shown to the customer when a conversation closes for inactivity.
    pub auto_close_message: Option<String>,
}

/// A timer waiting to fire.
#[derive(Debug, Clone)]
pub struct TimerRecord {
    pub id: i64,
    pub tenant_id: TenantId,
    pub conversation: Option<ConversationId>,
    pub kind: TimerKind,
    pub due_at: Millis,
    /// The workflow that owns a workflow timer, and its name for it.
    pub plugin: Option<String>,
    pub name: Option<String>,
    pub depth: u32,
}

/// Schedule a timer of `kind` for a conversation, replacing a pending one.
async fn schedule(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    kind: TimerKind,
    due: Millis,
    now: Millis,
) -> Result<()> {
    cancel(tx, conversation, kind, now).await?;
    sqlx::query(
        "INSERT INTO timers (tenant_id, conversation_id, kind, due_at, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .bind(kind.as_str())
    .bind(due.0)
    .bind(now.0)
    .execute(tx)
    .await?;
    Ok(())
}

/// Start a workflow's named timer on a conversation, replacing a pending
/// one of the same workflow and name. `depth` continues the chain of events
/// that started it (the loop guard counts through timers too).
#[allow(clippy::too_many_arguments)]
pub(super) async fn start_workflow_timer(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    plugin: &str,
    name: &str,
    due: Millis,
    depth: u32,
    now: Millis,
) -> Result<()> {
    cancel_workflow_timer(tx, conversation, plugin, name, now).await?;
    sqlx::query(
        "INSERT INTO timers (tenant_id, conversation_id, kind, plugin, name, due_at, depth, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .bind(TimerKind::Workflow.as_str())
    .bind(plugin)
    .bind(name)
    .bind(due.0)
    .bind(i64::from(depth))
    .bind(now.0)
    .execute(tx)
    .await?;
    Ok(())
}

pub(super) async fn cancel_workflow_timer(
    tx: &mut sqlx::AnyConnection,
    conversation: &ConversationId,
    plugin: &str,
    name: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE timers SET cancelled_at = $1
         WHERE conversation_id = $2 AND kind = $3 AND plugin = $4 AND name = $5
           AND fired_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(now.0)
    .bind(conversation.as_str())
    .bind(TimerKind::Workflow.as_str())
    .bind(plugin)
    .bind(name)
    .execute(tx)
    .await?;
    Ok(())
}

async fn cancel(
    tx: &mut sqlx::AnyConnection,
    conversation: &ConversationId,
    kind: TimerKind,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE timers SET cancelled_at = $1
         WHERE conversation_id = $2 AND kind = $3 AND fired_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(now.0)
    .bind(conversation.as_str())
    .bind(kind.as_str())
    .execute(tx)
    .await?;
    Ok(())
}

pub(super) async fn lifecycle_in(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
) -> Result<Lifecycle> {
    super::settings::setting_in(tx, tenant, LIFECYCLE_TOPIC).await
}

/// Activity on an open conversation: its inactivity deadline starts again.
pub(super) async fn touch(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    now: Millis,
) -> Result<()> {
    let lifecycle = lifecycle_in(tx, tenant).await?;
    touch_with(tx, tenant, conversation, &lifecycle, now).await
}

/// [`touch`] with the tenant's [`Lifecycle`] already read.
pub(super) async fn touch_with(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    lifecycle: &Lifecycle,
    now: Millis,
) -> Result<()> {
    match lifecycle.auto_close_after_ms {
        Some(after) => {
            let due = Millis(now.0.saturating_add(after));
            schedule(tx, tenant, conversation, TimerKind::AutoClose, due, now).await
        }
        None => Ok(()),
    }
}

/// [`StatusEffect::FreeAgent`]: the conversation's agent finished it now.
async fn free_agent(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE agents SET freed_at = $1 WHERE id = (
                SELECT assignee_id FROM conversations
                WHERE tenant_id = $2 AND id = $3 AND assignee_kind = 'agent')",
    )
    .bind(now.0)
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`StatusEffect::SetStatus`].
async fn set_status(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    status: ConversationStatus,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE conversations SET status = $1, updated_at = $2,
            closed_at = CASE WHEN $3 THEN $4 ELSE NULL END
         WHERE tenant_id = $5 AND id = $6",
    )
    .bind(status.as_str())
    .bind(now.0)
    .bind(status == ConversationStatus::Closed)
    .bind(now.0)
    .bind(tenant.as_str())
    .bind(conversation.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Change a conversation's status inside a transaction, with what goes with
/// it ([`status_effects`] decides; this carries it out). Returns the
/// previous status, or `None` if there is no such conversation of the
/// tenant.
pub(super) async fn change_status(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    change: StatusChange,
    now: Millis,
) -> Result<Option<ConversationStatus>> {
    let row = sqlx::query("SELECT status FROM conversations WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(conversation.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let Some(previous) = row.and_then(|r| ConversationStatus::parse(r.get("status")).ok()) else {
        return Ok(None);
    };
    for effect in status_effects(previous, change) {
        match effect {
            StatusEffect::FreeAgent => free_agent(tx, tenant, conversation, now).await?,
            StatusEffect::SetStatus(status) => {
                set_status(tx, tenant, conversation, status, now).await?
            }
            StatusEffect::TicketFollows { closed } => {
                ticket_changes::follow_conversation(tx, conversation, closed, now).await?;
            }
            StatusEffect::CancelTimer(kind) => cancel(tx, conversation, kind, now).await?,
            StatusEffect::ScheduleTimer(kind, due) => {
                schedule(tx, tenant, conversation, kind, due, now).await?
            }
            StatusEffect::RestartInactivity => touch(tx, tenant, conversation, now).await?,
        }
    }
    Ok(Some(previous))
}

async fn history(
    tx: &mut sqlx::AnyConnection,
    conversation: &ConversationId,
    at: Millis,
    action: &str,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assignment_history (conversation_id, at, action, decided_by, reason)
         VALUES ($1, $2, $3, 'timer', $4)",
    )
    .bind(conversation.as_str())
    .bind(at.0)
    .bind(action)
    .bind(reason)
    .execute(tx)
    .await?;
    Ok(())
}

fn timer_row(row: &sqlx::any::AnyRow) -> Option<TimerRecord> {
    Some(TimerRecord {
        id: row.get("id"),
        tenant_id: TenantId::parse(row.get("tenant_id")).ok()?,
        conversation: opt_id(row.get("conversation_id"), |s| {
            ConversationId::parse(s).ok()
        }),
        kind: TimerKind::parse(row.get("kind")).ok()?,
        due_at: Millis(row.get("due_at")),
        plugin: row.get("plugin"),
        name: row.get("name"),
        depth: u32::try_from(row.get::<i64, _>("depth")).unwrap_or(0),
    })
}

impl Store {
    /// Timers due by now, oldest deadline first.
    pub async fn due_timers(&self, limit: u32) -> Result<Vec<TimerRecord>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, conversation_id, kind, due_at, plugin, name, depth FROM timers
             WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1
             ORDER BY due_at, id LIMIT $2",
        )
        .bind(self.now().0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(timer_row).collect())
    }

    /// The earliest pending deadline, if any.
    pub async fn next_timer_due(&self) -> Result<Option<Millis>> {
        let row = sqlx::query(
            "SELECT MIN(due_at) AS due FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get::<Option<i64>, _>("due").map(Millis))
    }

    /// A conversation's pending timers.
    pub async fn pending_timers(&self, conversation: &ConversationId) -> Result<Vec<TimerRecord>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, conversation_id, kind, due_at, plugin, name, depth FROM timers
             WHERE conversation_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL
             ORDER BY due_at",
        )
        .bind(conversation.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(timer_row).collect())
    }

    /// Fire one timer: claim it and apply its effect in one transaction.
    /// Returns `false` if it was no longer pending (fired by another
    /// process, or cancelled meanwhile).
    pub async fn fire_timer(&self, timer: &TimerRecord) -> Result<bool> {
        let now = self.now();
        let mut tx = self.write_for(&timer.tenant_id).await?;
        let claimed = sqlx::query(
            "UPDATE timers SET fired_at = $1
             WHERE id = $2 AND fired_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(now.0)
        .bind(timer.id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Ok(false);
        }
        let tenant = &timer.tenant_id;
        if let Some(conversation) = &timer.conversation {
            let status = sqlx::query("SELECT status FROM conversations WHERE id = $1")
                .bind(conversation.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .and_then(|r| ConversationStatus::parse(r.get("status")).ok());
            let changed = match timer_firing(timer.kind, status) {
                TimerFiring::Reopen => {
                    change_status(&mut tx, tenant, conversation, StatusChange::Open, now).await?;
                    history(&mut tx, conversation, now, "reopened", "the snooze ended").await?;
                    true
                }
                TimerFiring::AutoClose => {
                    let settings = lifecycle_in(&mut tx, tenant).await?;
                    change_status(&mut tx, tenant, conversation, StatusChange::Close, now).await?;
                    let minutes = settings.auto_close_after_ms.unwrap_or(0) / 60_000;
                    let reason = format!("closed after {minutes} minutes without activity");
                    history(&mut tx, conversation, now, "closed", &reason).await?;
                    if let Some(message) = &settings.auto_close_message {
                        insert_message(&mut tx, conversation, Author::Bot, message, false, now)
                            .await?;
                    }
                    true
                }
                TimerFiring::TellWorkflow => {
                    let detail = serde_json::json!({"plugin": timer.plugin, "timer": timer.name});
                    let origin = Origin {
                        depth: timer.depth,
                        detail: Some(detail),
                    };
                    insert_event_from(
                        &mut tx,
                        tenant,
                        EventKind::TimerFired,
                        Some(conversation),
                        None,
                        None,
                        now,
                        &origin,
                    )
                    .await?;
                    false
                }
                TimerFiring::Nothing => false,
            };
            if changed {
                insert_event(
                    &mut tx,
                    tenant,
                    EventKind::ConversationStatusChanged,
                    Some(conversation),
                    None,
                    None,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Replace the tenant's life-cycle settings. Turning auto-close on gives
    /// every open conversation a deadline counted from its last message;
    /// turning it off cancels the pending ones.
    pub async fn put_lifecycle(&self, tenant: &TenantId, settings: &Lifecycle) -> Result<()> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        sqlx::query(
            "INSERT INTO tenant_settings (tenant_id, topic, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, topic) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(LIFECYCLE_TOPIC)
        .bind(serde_json::to_string(settings).unwrap_or_else(|_| "{}".into()))
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE timers SET cancelled_at = $1
             WHERE tenant_id = $2 AND kind = $3 AND fired_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(now.0)
        .bind(tenant.as_str())
        .bind(TimerKind::AutoClose.as_str())
        .execute(&mut *tx)
        .await?;
        if let Some(after) = settings.auto_close_after_ms {
            sqlx::query(
                "INSERT INTO timers (tenant_id, conversation_id, kind, due_at, created_at)
                 SELECT c.tenant_id, c.id, $1, COALESCE((SELECT MAX(m.created_at) FROM messages m
                     WHERE m.conversation_id = c.id AND m.internal = 0), c.created_at) + $2, $3
                 FROM conversations c WHERE c.tenant_id = $4 AND c.status = 'open'",
            )
            .bind(TimerKind::AutoClose.as_str())
            .bind(after)
            .bind(now.0)
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn lifecycle(&self, tenant: &TenantId) -> Result<Lifecycle> {
        Ok(self
            .setting(tenant, LIFECYCLE_TOPIC)
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }
}
