//! The dispatcher's result for one event, applied in one transaction: the
//! routing changes, their history, the plugins' key-value writes, recorded
//! failures, follow-up events and the mark that the event is done. Either all
//! of it lands or none of it, so an event is never half-applied or run twice.

use super::appends::Appends;
use super::events::{Origin, insert_event_from};
use super::{
    Result, Store, StoreError, conversations::insert_message, notifications, ticket_changes, timers,
};
use crate::domain::{
    AgentId, Author, Change, ConversationId, ConversationStatus, EventKind, EventRef, HistoryEntry,
    Millis, Outcome, StatusChange, TeamId, TenantId,
};

/// What each change of one outcome is applied with.
struct Ctx<'a> {
    tenant: &'a TenantId,
    now: Millis,
    /// The event the outcome is for, if any.
    event: Option<i64>,
    /// Where the events the changes cause come from: one deeper in the
    /// chain than the outcome's event.
    caused: Origin,
    /// The ids of the follow-up events written so far.
    events: Vec<i64>,
    /// Rows written at the end of the transaction.
    appends: &'a mut Appends,
}

/// A conversation leaves its assignee to wait, as `routing` (queued for
/// room, or unclaimed for a person), in `team` if one is given; its place
/// in the queue keeps the time it first started waiting.
async fn wait(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    conversation: &ConversationId,
    team: Option<&TeamId>,
    routing: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE conversations SET routing = $1, assignee_kind = NULL,
            assignee_id = NULL, team_id = COALESCE($2, team_id),
            queued_at = COALESCE(queued_at, $3), updated_at = $4
         WHERE tenant_id = $5 AND id = $6",
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

/// Write an event the outcome causes, one deeper in the chain.
async fn follow_up(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    kind: EventKind,
    conversation: Option<&ConversationId>,
    agent: Option<&AgentId>,
) -> Result<()> {
    let id = insert_event_from(
        tx,
        ctx.tenant,
        kind,
        conversation,
        agent,
        None,
        ctx.now,
        &ctx.caused,
    )
    .await?;
    ctx.events.push(id);
    Ok(())
}

/// [`Change::Assign`]: the agent owns it now, and its offers end. An
/// agent removed since the decision was made takes nothing: the
/// conversation waits in the queue instead, which is tried again, and
/// `false` says so.
async fn assign(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    conversation: &ConversationId,
    agent: &AgentId,
    team: Option<&TeamId>,
    entry: &HistoryEntry,
) -> Result<bool> {
    let counted = sqlx::query(
        "UPDATE agents SET last_assigned_at = $1, handled = handled + 1
                         WHERE tenant_id = $2 AND id = $3 AND removed_at IS NULL",
    )
    .bind(ctx.now.0)
    .bind(ctx.tenant.as_str())
    .bind(agent.as_str())
    .execute(&mut *tx)
    .await?;
    if counted.rows_affected() == 0 {
        let entry = HistoryEntry {
            reason: format!("{}; {agent} was removed before it landed", entry.reason),
            ..entry.clone()
        };
        queue(tx, ctx, conversation, team, &entry).await?;
        return Ok(false);
    }
    // Its offers end with it; the update says whether there are any, so
    // the common case (none) costs no statement of its own.
    let offered: Option<i64> = sqlx::query_scalar(
        "UPDATE conversations SET routing = 'assigned', assignee_kind = 'agent',
                            assignee_id = $1, team_id = COALESCE($2, team_id), queued_at = NULL,
                            updated_at = $3
                         WHERE tenant_id = $4 AND id = $5
                         RETURNING (SELECT COUNT(*) FROM offers o
                                    WHERE o.conversation_id = conversations.id) AS offers",
    )
    .bind(agent.as_str())
    .bind(team.map(TeamId::as_str))
    .bind(ctx.now.0)
    .bind(ctx.tenant.as_str())
    .bind(conversation.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if offered.unwrap_or(0) > 0 {
        sqlx::query("DELETE FROM offers WHERE conversation_id = $1")
            .bind(conversation.as_str())
            .execute(&mut *tx)
            .await?;
    }
    ctx.appends
        .history(conversation, ctx.now, "assigned", Some(agent), team, entry);
    Ok(true)
}

/// [`Change::Queue`].
async fn queue(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    conversation: &ConversationId,
    team: Option<&TeamId>,
    entry: &HistoryEntry,
) -> Result<()> {
    wait(tx, ctx.tenant, conversation, team, "queued", ctx.now).await?;
    ctx.appends
        .history(conversation, ctx.now, "queued", None, team, entry);
    Ok(())
}

/// [`Change::Unclaim`]: it waits for a person, and its offers end.
async fn unclaim(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    conversation: &ConversationId,
    team: Option<&TeamId>,
    entry: &HistoryEntry,
) -> Result<()> {
    wait(tx, ctx.tenant, conversation, team, "unclaimed", ctx.now).await?;
    sqlx::query("DELETE FROM offers WHERE conversation_id = $1")
        .bind(conversation.as_str())
        .execute(&mut *tx)
        .await?;
    ctx.appends
        .history(conversation, ctx.now, "unclaimed", None, team, entry);
    Ok(())
}

/// [`Change::Offer`]: one offer per agent, keeping any already made.
async fn offer(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    conversation: &ConversationId,
    agents: &[AgentId],
    entry: &HistoryEntry,
) -> Result<()> {
    sqlx::query(
        "UPDATE conversations SET routing = 'offered', assignee_kind = NULL,
                            assignee_id = NULL, queued_at = COALESCE(queued_at, $1), updated_at = $2
                         WHERE tenant_id = $3 AND id = $4",
    )
    .bind(ctx.now.0)
    .bind(ctx.now.0)
    .bind(ctx.tenant.as_str())
    .bind(conversation.as_str())
    .execute(&mut *tx)
    .await?;
    for agent in agents {
        sqlx::query(
            "INSERT INTO offers (conversation_id, agent_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(conversation.as_str())
        .bind(agent.as_str())
        .bind(ctx.now.0)
        .execute(&mut *tx)
        .await?;
    }
    ctx.appends
        .history(conversation, ctx.now, "offered", None, None, entry);
    Ok(())
}

/// [`Change::Unassign`].
async fn unassign(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    conversation: &ConversationId,
    entry: &HistoryEntry,
) -> Result<()> {
    sqlx::query(
        "UPDATE conversations SET routing = 'unassigned', assignee_kind = NULL,
                            assignee_id = NULL, queued_at = NULL, updated_at = $1
                         WHERE tenant_id = $2 AND id = $3",
    )
    .bind(ctx.now.0)
    .bind(ctx.tenant.as_str())
    .bind(conversation.as_str())
    .execute(&mut *tx)
    .await?;
    ctx.appends
        .history(conversation, ctx.now, "unassigned", None, None, entry);
    Ok(())
}

/// [`Change::Reject`]: closed, with the bot's message to the customer.
async fn reject(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    conversation: &ConversationId,
    message: &str,
    entry: &HistoryEntry,
) -> Result<()> {
    timers::change_status(tx, ctx.tenant, conversation, StatusChange::Close, ctx.now).await?;
    sqlx::query(
        "UPDATE conversations SET routing = 'rejected',
                            assignee_kind = NULL, assignee_id = NULL, queued_at = NULL, updated_at = $1
                         WHERE tenant_id = $2 AND id = $3",
    )
    .bind(ctx.now.0)
    .bind(ctx.tenant.as_str())
    .bind(conversation.as_str())
    .execute(&mut *tx)
    .await?;
    insert_message(tx, conversation, Author::Bot, message, false, ctx.now).await?;
    ctx.appends
        .history(conversation, ctx.now, "rejected", None, None, entry);
    Ok(())
}

/// [`Change::SetStatus`].
async fn set_status(
    tx: &mut sqlx::AnyConnection,
    ctx: &Ctx<'_>,
    conversation: &ConversationId,
    status: ConversationStatus,
) -> Result<()> {
    let change = match status {
        ConversationStatus::Open => StatusChange::Open,
        // A workflow's snooze has no end time: the
        // customer's next message wakes it.
        ConversationStatus::Snoozed => StatusChange::Snooze(None),
        ConversationStatus::Closed => StatusChange::Close,
    };
    timers::change_status(tx, ctx.tenant, conversation, change, ctx.now).await?;
    Ok(())
}

/// [`Change::AddTag`] (a tag it has already is kept).
async fn add_tag(
    tx: &mut sqlx::AnyConnection,
    conversation: &ConversationId,
    tag: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO conversation_tags (conversation_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(conversation.as_str())
        .bind(tag)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// [`Change::RemoveTag`].
async fn remove_tag(
    tx: &mut sqlx::AnyConnection,
    conversation: &ConversationId,
    tag: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM conversation_tags WHERE conversation_id = $1 AND tag = $2")
        .bind(conversation.as_str())
        .bind(tag)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// [`Change::CreateTicket`], with `ticket.created` if it was filed.
async fn create_ticket(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    conversation: &ConversationId,
    subject: &str,
    pipeline: Option<&str>,
) -> Result<()> {
    let filed = ticket_changes::file_from_workflow(
        tx,
        ctx.tenant,
        conversation,
        subject,
        pipeline,
        ctx.now,
    )
    .await?;
    if filed {
        follow_up(tx, ctx, EventKind::TicketCreated, Some(conversation), None).await?;
    }
    Ok(())
}

/// [`Change::SetStage`], with the events the move writes.
async fn set_stage(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    conversation: &ConversationId,
    stage: &str,
) -> Result<()> {
    let kinds =
        ticket_changes::stage_from_workflow(tx, ctx.tenant, conversation, stage, ctx.now).await?;
    for kind in kinds {
        follow_up(tx, ctx, kind, Some(conversation), None).await?;
    }
    Ok(())
}

/// [`Change::Failure`], against the outcome's event.
#[allow(clippy::too_many_arguments)]
async fn record_failure(
    tx: &mut sqlx::AnyConnection,
    ctx: &Ctx<'_>,
    conversation: Option<&ConversationId>,
    plugin_name: &str,
    plugin_version: &str,
    failure: &str,
    message: &str,
    fallback: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO plugin_failures (tenant_id, event_id, conversation_id, plugin_name,
                            plugin_version, failure, message, fallback, at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(ctx.tenant.as_str())
    .bind(ctx.event)
    .bind(conversation.map(ConversationId::as_str))
    .bind(plugin_name)
    .bind(plugin_version)
    .bind(failure)
    .bind(message)
    .bind(fallback)
    .bind(ctx.now.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`Change::Exclude`].
async fn exclude(
    tx: &mut sqlx::AnyConnection,
    ctx: &Ctx<'_>,
    conversation: &ConversationId,
    agent: &AgentId,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO declines (conversation_id, agent_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(conversation.as_str())
    .bind(agent.as_str())
    .bind(ctx.now.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`Change::Follow`].
async fn follow(
    tx: &mut sqlx::AnyConnection,
    ctx: &Ctx<'_>,
    conversation: &ConversationId,
    agent: &AgentId,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO followers (conversation_id, agent_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(conversation.as_str())
    .bind(agent.as_str())
    .bind(ctx.now.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`Change::WorkflowRun`], against the outcome's event.
#[allow(clippy::too_many_arguments)]
async fn workflow_run(
    tx: &mut sqlx::AnyConnection,
    ctx: &Ctx<'_>,
    conversation: Option<&ConversationId>,
    event_kind: EventKind,
    plugin_name: &str,
    plugin_version: &str,
    actions: &[String],
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO workflow_runs (tenant_id, event_id, event_kind, conversation_id,
                            plugin_name, plugin_version, actions, error, at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(ctx.tenant.as_str())
    .bind(ctx.event)
    .bind(event_kind.as_str())
    .bind(conversation.map(ConversationId::as_str))
    .bind(plugin_name)
    .bind(plugin_version)
    .bind(serde_json::to_string(actions).unwrap_or_else(|_| "[]".into()))
    .bind(error)
    .bind(ctx.now.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Apply one change: the function of its kind does the work.
async fn apply_change(
    tx: &mut sqlx::AnyConnection,
    ctx: &mut Ctx<'_>,
    change: &Change,
) -> Result<()> {
    match change {
        Change::Assign {
            conversation,
            agent,
            team,
            history: entry,
        } => {
            if !assign(tx, ctx, conversation, agent, team.as_ref(), entry).await? {
                follow_up(tx, ctx, EventKind::QueueRetry, None, None).await?;
            }
            Ok(())
        }
        Change::Queue {
            conversation,
            team,
            history: entry,
        } => queue(tx, ctx, conversation, team.as_ref(), entry).await,
        Change::Unclaim {
            conversation,
            team,
            history: entry,
        } => unclaim(tx, ctx, conversation, team.as_ref(), entry).await,
        Change::Offer {
            conversation,
            agents,
            history: entry,
        } => offer(tx, ctx, conversation, agents, entry).await,
        Change::Unassign {
            conversation,
            history: entry,
        } => unassign(tx, ctx, conversation, entry).await,
        Change::Reject {
            conversation,
            message,
            history: entry,
        } => reject(tx, ctx, conversation, message, entry).await,
        Change::History {
            conversation,
            action,
            agent,
            history: entry,
        } => {
            ctx.appends
                .history(conversation, ctx.now, action, agent.as_ref(), None, entry);
            Ok(())
        }
        Change::SetStatus {
            conversation,
            status,
        } => set_status(tx, ctx, conversation, *status).await,
        Change::AddTag { conversation, tag } => add_tag(tx, conversation, tag).await,
        Change::AddNote { conversation, body } => {
            insert_message(tx, conversation, Author::Bot, body, true, ctx.now).await?;
            Ok(())
        }
        Change::Say { conversation, body } => {
            insert_message(tx, conversation, Author::Bot, body, false, ctx.now).await?;
            Ok(())
        }
        Change::Notify(notice) => {
            notifications::record(tx, ctx.tenant, notice, ctx.now).await?;
            Ok(())
        }
        Change::CreateTicket {
            conversation,
            subject,
            pipeline,
        } => create_ticket(tx, ctx, conversation, subject, pipeline.as_deref()).await,
        Change::Kv { plugin, writes } => {
            for (key, value) in writes {
                ctx.appends.kv(ctx.tenant, plugin, key, value.as_deref());
            }
            Ok(())
        }
        Change::Failure {
            conversation,
            plugin_name,
            plugin_version,
            failure,
            message,
            fallback,
        } => {
            record_failure(
                tx,
                ctx,
                conversation.as_ref(),
                plugin_name,
                plugin_version,
                failure,
                message,
                fallback,
            )
            .await
        }
        Change::Event {
            kind,
            conversation,
            agent,
        } => follow_up(tx, ctx, *kind, conversation.as_ref(), agent.as_ref()).await,
        // Not among the follow-ups returned: nobody waits for it.
        Change::HandledEvent {
            kind,
            conversation,
            agent,
            summary,
        } => {
            ctx.appends.handled_event(
                ctx.tenant,
                *kind,
                conversation,
                agent,
                ctx.now,
                &ctx.caused,
                summary,
            );
            Ok(())
        }
        Change::Exclude {
            conversation,
            agent,
        } => exclude(tx, ctx, conversation, agent).await,
        Change::Follow {
            conversation,
            agent,
        } => follow(tx, ctx, conversation, agent).await,
        Change::SetStage {
            conversation,
            stage,
        } => set_stage(tx, ctx, conversation, stage).await,
        Change::RemoveTag { conversation, tag } => remove_tag(tx, conversation, tag).await,
        Change::StartTimer {
            conversation,
            plugin,
            name,
            due,
        } => {
            timers::start_workflow_timer(
                tx,
                ctx.tenant,
                conversation,
                plugin,
                name,
                *due,
                ctx.caused.depth,
                ctx.now,
            )
            .await
        }
        Change::CancelTimer {
            conversation,
            plugin,
            name,
        } => timers::cancel_workflow_timer(tx, conversation, plugin, name, ctx.now).await,
        Change::WorkflowRun {
            conversation,
            event_kind,
            plugin_name,
            plugin_version,
            actions,
            error,
        } => {
            workflow_run(
                tx,
                ctx,
                conversation.as_ref(),
                *event_kind,
                plugin_name,
                plugin_version,
                actions,
                error.as_deref(),
            )
            .await
        }
    }
}

impl Store {
    /// Apply an outcome atomically. Returns the ids of follow-up events.
    pub async fn apply(&self, outcome: &Outcome) -> Result<Vec<i64>> {
        let mut tx = self.write_for(&outcome.tenant).await?;
        let events = self.apply_in(&mut tx, outcome).await?;
        tx.commit().await?;
        Ok(events)
    }

    /// Apply several outcomes in one transaction, one commit for all (group
    /// commit: a busy dispatcher pays the commit once per batch, not once
    /// per event). Each outcome still lands whole or not at all: it runs in
    /// a savepoint of its own, so one refused because its event was handled
    /// elsewhere ([`StoreError::Conflict`]) is rolled back alone and
    /// reported in its place, and the others commit. Any other error rolls
    /// the whole batch back.
    pub async fn apply_all(&self, outcomes: &[Outcome]) -> Result<Vec<Result<Vec<i64>>>> {
        let mut tx = self
            .write_for_all(outcomes.iter().map(|o| &o.tenant))
            .await?;
        let mut results = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            let mut savepoint = sqlx::Acquire::begin(&mut *tx).await?;
            match self.apply_in(&mut savepoint, outcome).await {
                Ok(events) => {
                    savepoint.commit().await?;
                    results.push(Ok(events));
                }
                Err(StoreError::Conflict(reason)) => {
                    savepoint.rollback().await?;
                    results.push(Err(StoreError::Conflict(reason)));
                }
                Err(error) => return Err(error),
            }
        }
        tx.commit().await?;
        Ok(results)
    }

    /// Apply outcomes, in order, in one transaction: all land or none does
    /// (the dispatcher's groups; see `routing::group`). Any error, a
    /// [`StoreError::Conflict`] included, rolls every one back, and the
    /// caller handles them again one by one. Unlike [`Store::apply_all`]
    /// no outcome has a savepoint of its own, which would cost as many
    /// statements as the transactions it saves.
    pub async fn apply_together(&self, outcomes: &[Outcome]) -> Result<()> {
        let mut tx = self
            .write_for_all(outcomes.iter().map(|o| &o.tenant))
            .await?;
        let mut appends = Appends::default();
        for outcome in outcomes {
            self.collect_in(&mut tx, outcome, &mut appends).await?;
        }
        appends.write(&mut tx, &self.holder, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One outcome inside the caller's write transaction.
    pub(super) async fn apply_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        outcome: &Outcome,
    ) -> Result<Vec<i64>> {
        let mut appends = Appends::default();
        let events = self.collect_in(tx, outcome, &mut appends).await?;
        appends.write(tx, &self.holder, self.now()).await?;
        Ok(events)
    }

    /// One outcome inside the caller's write transaction, but for the rows
    /// it appends, left in `appends` for the caller to write before it
    /// commits ([`Appends::write`], which also says if the outcome's event
    /// was handled elsewhere).
    async fn collect_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        outcome: &Outcome,
        appends: &mut Appends,
    ) -> Result<Vec<i64>> {
        let now = self.now();
        let tx = &mut *tx;
        // Events caused while handling an event are one deeper in its chain.
        let caused = Origin {
            depth: outcome.event.map_or(0, |e| e.depth.saturating_add(1)),
            detail: None,
        };
        let mut ctx = Ctx {
            tenant: &outcome.tenant,
            now,
            event: outcome.event.map(|e| e.id),
            caused,
            events: Vec::new(),
            appends,
        };
        let mut changes = outcome.changes.iter().peekable();
        while let Some(change) = changes.next() {
            if let Change::Notify(notice) = change
                && notifications::names_its_member(notice)
            {
                ctx.appends.notice(ctx.tenant, notice);
                continue;
            }
            if let Change::Notify(first) = change {
                // Other notices next to each other are recorded together,
                // where they stand (who receives them may be what the
                // changes before them set): a statement or two for all
                // instead of three for each.
                let mut run = vec![first];
                while let Some(Change::Notify(next)) = changes.next_if(
                    |c| matches!(c, Change::Notify(n) if !notifications::names_its_member(n)),
                ) {
                    run.push(next);
                }
                notifications::record_all(tx, ctx.tenant, &run, ctx.now).await?;
                continue;
            }
            apply_change(tx, &mut ctx, change).await?;
        }
        let Ctx {
            events, appends, ..
        } = ctx;
        if let Some(EventRef { id: event, .. }) = outcome.event {
            appends.done(event, &outcome.summary);
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ConversationId;
    use crate::store::testing::{ana, on_each_engine};
    use sqlx::Row;

    async fn conversation(store: &Store, tenant: &TenantId) -> (ConversationId, i64) {
        let (record, event) = store
            .create_conversation(tenant, crate::store::testing::kims_chat(), None)
            .await
            .expect("conversation");
        (record.id, event)
    }

    fn tag(tenant: &TenantId, event: i64, conversation: &ConversationId, tag: &str) -> Outcome {
        Outcome {
            tenant: tenant.clone(),
            event: Some(EventRef {
                id: event,
                depth: 0,
            }),
            summary: format!("tagged {tag}"),
            changes: vec![Change::AddTag {
                conversation: conversation.clone(),
                tag: tag.into(),
            }],
        }
    }

    /// Many outcomes, one transaction: an outcome whose event was already
    /// handled is rolled back alone, the others land.
    #[tokio::test]
    async fn a_batch_commits_together_and_drops_only_the_outcome_handled_elsewhere() {
        on_each_engine(batch_on).await;
    }

    async fn batch_on(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let (first, first_event) = conversation(store, &tenant.id).await;
        let (second, second_event) = conversation(store, &tenant.id).await;
        let (third, third_event) = conversation(store, &tenant.id).await;
        // Another process handled the second event already.
        store
            .mark_processed(second_event, "elsewhere")
            .await
            .expect("marked");

        let results = store
            .apply_all(&[
                tag(&tenant.id, first_event, &first, "one"),
                tag(&tenant.id, second_event, &second, "two"),
                tag(&tenant.id, third_event, &third, "three"),
            ])
            .await
            .expect("the batch");
        assert!(results[0].is_ok(), "{:?}", results[0]);
        assert!(
            matches!(results[1], Err(StoreError::Conflict(_))),
            "{:?}",
            results[1]
        );
        assert!(results[2].is_ok(), "{:?}", results[2]);
        assert_eq!(store.tags(&first).await.expect("tags"), vec!["one"]);
        assert!(store.tags(&second).await.expect("tags").is_empty());
        assert_eq!(store.tags(&third).await.expect("tags"), vec!["three"]);
        let outcome: Option<String> =
            sqlx::query_scalar("SELECT outcome FROM events WHERE id = $1")
                .bind(second_event)
                .fetch_one(&store.pool)
                .await
                .expect("event");
        assert_eq!(outcome.as_deref(), Some("elsewhere"), "left as it was");
    }

    /// One conversation's outcome in a group: a history line, a follow-up
    /// written handled, the round-robin's pick, a key set and one deleted
    /// (or, with `keep`, set), a notice to Ana.
    fn grouped(
        tenant: &TenantId,
        (conversation, event): &(ConversationId, i64),
        ana: &AgentId,
        pick: u8,
        keep: bool,
    ) -> Outcome {
        let entry = HistoryEntry {
            decided_by: "plugin".into(),
            rule: None,
            plugin_name: Some("rr".into()),
            plugin_version: Some("1.0.0".into()),
            reason: format!("pick {pick}"),
        };
        Outcome {
            tenant: tenant.clone(),
            event: Some(EventRef {
                id: *event,
                depth: 0,
            }),
            summary: format!("outcome {pick}"),
            changes: vec![
                Change::History {
                    conversation: conversation.clone(),
                    action: "queued".into(),
                    agent: None,
                    history: entry,
                },
                Change::HandledEvent {
                    kind: EventKind::ConversationAssigned,
                    conversation: conversation.clone(),
                    agent: ana.clone(),
                    summary: format!("handled {pick}"),
                },
                Change::Kv {
                    plugin: "rr".into(),
                    writes: vec![
                        ("last".into(), Some(vec![pick])),
                        ("scratch".into(), keep.then(|| vec![pick])),
                    ],
                },
                Change::Notify(crate::domain::Notice {
                    kind: crate::domain::NotificationKind::Assigned,
                    conversation: Some(conversation.clone()),
                    subject_line: Some("Help".into()),
                    recipient: serde_json::json!({ "agent": ana }),
                    message: format!("notice {pick}"),
                    about: None,
                    once: None,
                }),
            ],
        }
    }

    /// What a group's outcomes append is written at its end, each kind in
    /// one statement, and reads as if written one outcome after another:
    /// every line, event and notice, in order, and each key's last value.
    #[tokio::test]
    async fn a_group_writes_what_its_outcomes_append_as_if_one_by_one() {
        on_each_engine(appends_on).await;
    }

    async fn appends_on(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let tenant = tenant.id;
        let ana = ana(store, &tenant).await.id;
        let mut arrivals = Vec::new();
        for _ in 0..3 {
            arrivals.push(conversation(store, &tenant).await);
        }
        let outcomes: Vec<Outcome> = arrivals
            .iter()
            .zip(1u8..)
            // The first keeps its scratch key, the later ones delete it.
            .map(|(arrival, pick)| grouped(&tenant, arrival, &ana, pick, pick == 1))
            .collect();
        store.apply_together(&outcomes).await.expect("the group");

        for ((c, event), pick) in arrivals.iter().zip(1u8..) {
            let history = store.history(c).await.expect("history");
            let reasons: Vec<&str> = history.iter().map(|h| h.reason.as_str()).collect();
            assert_eq!(reasons, vec![format!("pick {pick}")], "{c}");
            let rows = sqlx::query(
                "SELECT id, outcome, processed_at FROM events WHERE conversation_id = $1 ORDER BY id",
            )
            .bind(c.as_str())
            .fetch_all(&store.pool)
            .await
            .expect("events");
            let seen: Vec<(i64, Option<String>, Option<i64>)> = rows
                .iter()
                .map(|r| (r.get("id"), r.get("outcome"), r.get("processed_at")))
                .collect();
            assert_eq!(seen.len(), 2, "{seen:?}");
            assert_eq!(
                seen[0],
                (*event, Some(format!("outcome {pick}")), Some(1_000))
            );
            assert_eq!(seen[1].1, Some(format!("handled {pick}")));
            assert_eq!(seen[1].2, Some(1_000));
        }
        let kv = store.plugin_kv(&tenant, "rr").await.expect("kv");
        assert_eq!(kv.get("last"), Some(&vec![3]), "the last pick");
        assert_eq!(kv.get("scratch"), None, "deleted after it was set");
        let notices: Vec<String> =
            sqlx::query_scalar("SELECT message FROM notifications WHERE agent_id = $1 ORDER BY id")
                .bind(ana.as_str())
                .fetch_all(&store.pool)
                .await
                .expect("notices");
        assert_eq!(notices, vec!["notice 1", "notice 2", "notice 3"]);
    }

    /// A group one of whose events was handled elsewhere writes nothing at
    /// all, appends included, and says so.
    #[tokio::test]
    async fn a_group_with_an_event_handled_elsewhere_writes_nothing() {
        on_each_engine(refused_on).await;
    }

    async fn refused_on(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let tenant = tenant.id;
        let ana = ana(store, &tenant).await.id;
        let first = conversation(store, &tenant).await;
        let second = conversation(store, &tenant).await;
        store
            .mark_processed(second.1, "elsewhere")
            .await
            .expect("marked");
        let refused = store
            .apply_together(&[
                grouped(&tenant, &first, &ana, 1, true),
                grouped(&tenant, &second, &ana, 2, true),
            ])
            .await;
        assert!(
            matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("1 of 2")),
            "{refused:?}"
        );
        assert!(store.history(&first.0).await.expect("history").is_empty());
        assert!(store.plugin_kv(&tenant, "rr").await.expect("kv").is_empty());
        let pending: Option<String> =
            sqlx::query_scalar("SELECT outcome FROM events WHERE id = $1")
                .bind(first.1)
                .fetch_one(&store.pool)
                .await
                .expect("event");
        assert_eq!(pending, None, "still to handle");
        let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications")
            .fetch_one(&store.pool)
            .await
            .expect("notices");
        assert_eq!(notices, 0);
    }

    /// An assignment decided before its agent was removed lands as a
    /// wait in the queue (with a retry), never as work for someone gone.
    #[tokio::test]
    async fn an_assignment_to_an_agent_removed_meanwhile_queues_instead() {
        on_each_engine(removed_on).await;
    }

    async fn removed_on(store: &Store) {
        use crate::domain::Routing;
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let ana = ana(store, &tenant.id).await;
        let (c, event) = conversation(store, &tenant.id).await;
        let (removal, _) = store
            .remove_agent(&tenant.id, &ana)
            .await
            .expect("removed")
            .expect("was there");
        assert!(removal.requeued.is_empty(), "she held nothing yet");
        let follow_ups = store
            .apply(&Outcome {
                tenant: tenant.id.clone(),
                event: Some(EventRef {
                    id: event,
                    depth: 0,
                }),
                summary: "assignment".into(),
                changes: vec![Change::Assign {
                    conversation: c.clone(),
                    agent: ana.id.clone(),
                    team: None,
                    history: HistoryEntry {
                        decided_by: "plugin".into(),
                        rule: None,
                        plugin_name: None,
                        plugin_version: None,
                        reason: "least busy".into(),
                    },
                }],
            })
            .await
            .expect("applied");
        let now = store
            .get_conversation(&tenant.id, &c)
            .await
            .expect("read")
            .expect("there");
        assert_eq!(now.routing, Routing::Queued);
        assert_eq!(now.assignee, None);
        let history = store.history(&c).await.expect("history");
        let last = history.last().expect("an entry");
        assert_eq!(last.action, "queued");
        assert!(last.reason.contains("was removed"), "{}", last.reason);
        assert_eq!(follow_ups.len(), 1, "a queue retry");
        let kind: String = sqlx::query_scalar("SELECT kind FROM events WHERE id = $1")
            .bind(follow_ups[0])
            .fetch_one(&store.pool)
            .await
            .expect("event");
        assert_eq!(kind, EventKind::QueueRetry.as_str());
    }

    /// A follow-up handled with its cause is written handled, one deeper in
    /// the chain, and is not among the follow-ups waiting to be dispatched.
    #[tokio::test]
    async fn a_handled_follow_up_is_written_as_handled() {
        on_each_engine(handled_on).await;
    }

    async fn handled_on(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let (c, event) = conversation(store, &tenant.id).await;
        let follow_ups = store
            .apply(&Outcome {
                tenant: tenant.id.clone(),
                event: Some(EventRef {
                    id: event,
                    depth: 0,
                }),
                summary: "assignment".into(),
                changes: vec![
                    Change::HandledEvent {
                        kind: EventKind::ConversationAssigned,
                        conversation: c.clone(),
                        agent: AgentId::generate(),
                        summary: "handled with its cause".into(),
                    },
                    Change::Event {
                        kind: EventKind::ConversationTransferred,
                        conversation: Some(c.clone()),
                        agent: None,
                    },
                ],
            })
            .await
            .expect("applied");
        // Events written handled are written with the outcome's other
        // appends, after those still to handle: read in the kinds' order.
        let rows = sqlx::query(
            "SELECT id, kind, processed_at, outcome, depth FROM events
             WHERE conversation_id = $1 AND id <> $2 ORDER BY kind",
        )
        .bind(c.as_str())
        .bind(event)
        .fetch_all(&store.pool)
        .await
        .expect("events");
        let seen: Vec<(String, Option<i64>, Option<String>, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.get("kind"),
                    r.get("processed_at"),
                    r.get("outcome"),
                    r.get("depth"),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "conversation.assigned".to_owned(),
                    Some(1_000),
                    Some("handled with its cause".to_owned()),
                    1
                ),
                ("conversation.transferred".to_owned(), None, None, 1),
            ]
        );
        let transferred: i64 = rows[1].get("id");
        assert_eq!(
            follow_ups,
            vec![transferred],
            "only the one still to handle"
        );
    }

    /// Assigning an offered conversation withdraws its offers; assigning
    /// one without offers writes no more than the assignment.
    #[tokio::test]
    async fn an_assignment_withdraws_the_conversations_offers() {
        on_each_engine(withdraws).await;
    }

    async fn withdraws(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let tenant = tenant.id;
        let mut agents = Vec::new();
        for name in ["ana", "ben"] {
            let agent = store
                .create_agent(
                    &tenant,
                    crate::domain::NewAgent {
                        name: name.into(),
                        email: format!("{name}@example.com"),
                        role: crate::domain::Role::Agent,
                        teams: Vec::new(),
                        capacity: crate::domain::Capacity::parse(&serde_json::json!({"chat": 2}))
                            .expect("capacity"),
                        ticket_access: crate::domain::TicketAccess::Own,
                    },
                )
                .await
                .expect("agent");
            agents.push(agent.id);
        }
        let entry = || HistoryEntry {
            decided_by: "test".into(),
            rule: None,
            plugin_name: None,
            plugin_version: None,
            reason: "test".into(),
        };
        let apply = |changes: Vec<Change>| Outcome {
            tenant: tenant.clone(),
            event: None,
            summary: String::new(),
            changes,
        };
        let (offered, _) = conversation(store, &tenant).await;
        let (plain, _) = conversation(store, &tenant).await;
        store
            .apply(&apply(vec![Change::Offer {
                conversation: offered.clone(),
                agents: agents.clone(),
                history: entry(),
            }]))
            .await
            .expect("offered");
        assert_eq!(store.offers(&offered).await.expect("offers").len(), 2);
        for c in [&offered, &plain] {
            store
                .apply(&apply(vec![Change::Assign {
                    conversation: c.clone(),
                    agent: agents[0].clone(),
                    team: None,
                    history: entry(),
                }]))
                .await
                .expect("assigned");
            assert!(store.offers(c).await.expect("offers").is_empty());
            let record = store
                .get_conversation(&tenant, c)
                .await
                .expect("read")
                .expect("there");
            assert_eq!(record.routing, crate::domain::Routing::Assigned);
        }
    }
}
