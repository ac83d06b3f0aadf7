//! What outcomes write and nothing in their transaction reads back: the
//! assignment history, the follow-up events written as already handled,
//! the marks that their own events are done, the plugins' stored data and
//! the notices to members named by id. Applying an outcome collects them
//! here; they are written at the end of its transaction, each kind in one
//! statement (or two), so a group of outcomes committed together (see
//! `Store::apply_together`) writes them once for the group instead of once
//! per outcome: about half of an arrival's writes. A plugin's key written
//! twice in a group is written once, with its last value.

use std::collections::BTreeMap;

use super::events::Origin;
use super::notifications;
use super::sql::value_rows;
use super::{Result, StoreError};
use crate::domain::{
    AgentId, ConversationId, EventKind, HistoryEntry, Millis, Notice, TeamId, TenantId,
};

/// Rows per statement at most: well under both engines' limits on a
/// statement's parameters (SQLite's 32,766, PostgreSQL's 65,535).
const ROWS_PER_STATEMENT: usize = 500;

/// One line of a conversation's assignment history.
struct HistoryRow {
    conversation: ConversationId,
    at: Millis,
    action: String,
    agent: Option<AgentId>,
    team: Option<TeamId>,
    entry: HistoryEntry,
}

/// An event written as already handled (`Change::HandledEvent`).
struct HandledRow {
    tenant: TenantId,
    kind: EventKind,
    conversation: ConversationId,
    agent: AgentId,
    at: Millis,
    origin: Origin,
    summary: String,
}

/// The rows collected from outcomes not yet written.
#[derive(Default)]
pub(super) struct Appends {
    history: Vec<HistoryRow>,
    handled: Vec<HandledRow>,
    /// Each outcome's own event with its summary.
    done: Vec<(i64, String)>,
    /// The last value written to each plugin's key (`None`: deleted).
    kv: BTreeMap<KvKey, Option<Vec<u8>>>,
    /// Notices to members named by id, in order.
    notices: Vec<(TenantId, Notice)>,
}

/// A tenant's plugin's key.
type KvKey = (TenantId, String, String);

impl Appends {
    pub(super) fn history(
        &mut self,
        conversation: &ConversationId,
        at: Millis,
        action: &str,
        agent: Option<&AgentId>,
        team: Option<&TeamId>,
        entry: &HistoryEntry,
    ) {
        self.history.push(HistoryRow {
            conversation: conversation.clone(),
            at,
            action: action.to_owned(),
            agent: agent.cloned(),
            team: team.cloned(),
            entry: entry.clone(),
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn handled_event(
        &mut self,
        tenant: &TenantId,
        kind: EventKind,
        conversation: &ConversationId,
        agent: &AgentId,
        at: Millis,
        origin: &Origin,
        summary: &str,
    ) {
        self.handled.push(HandledRow {
            tenant: tenant.clone(),
            kind,
            conversation: conversation.clone(),
            agent: agent.clone(),
            at,
            origin: origin.clone(),
            summary: summary.to_owned(),
        });
    }

    /// The outcome for `event` is done, with `summary`.
    pub(super) fn done(&mut self, event: i64, summary: &str) {
        self.done.push((event, summary.to_owned()));
    }

    /// A plugin sets `key` to `value`, or deletes it.
    pub(super) fn kv(&mut self, tenant: &TenantId, plugin: &str, key: &str, value: Option<&[u8]>) {
        let key = (tenant.clone(), plugin.to_owned(), key.to_owned());
        self.kv.insert(key, value.map(<[u8]>::to_vec));
    }

    /// A notice to a member named by id
    /// ([`notifications::names_its_member`]): who receives it depends on
    /// nothing else the transaction writes.
    pub(super) fn notice(&mut self, tenant: &TenantId, notice: &Notice) {
        self.notices.push((tenant.clone(), notice.clone()));
    }

    /// Write everything collected, in the caller's transaction. Events are
    /// marked done only while no other process holds their tenant's lease
    /// (see `leases`): if any of them was handled elsewhere, or its tenant
    /// taken over, [`StoreError::Conflict`] says so and the caller rolls
    /// the whole transaction back.
    pub(super) async fn write(
        self,
        tx: &mut sqlx::AnyConnection,
        holder: &str,
        now: Millis,
    ) -> Result<()> {
        for chunk in self.done.chunks(ROWS_PER_STATEMENT) {
            mark_done(tx, chunk, holder, now).await?;
        }
        for chunk in self.history.chunks(ROWS_PER_STATEMENT) {
            insert_history(tx, chunk).await?;
        }
        for chunk in self.handled.chunks(ROWS_PER_STATEMENT) {
            insert_handled(tx, chunk).await?;
        }
        let (sets, deletes): (Vec<_>, Vec<_>) = self.kv.iter().partition(|(_, v)| v.is_some());
        for chunk in sets.chunks(ROWS_PER_STATEMENT) {
            set_kv(tx, chunk).await?;
        }
        for ((tenant, plugin, key), _) in deletes {
            sqlx::query(
                "DELETE FROM plugin_kv WHERE tenant_id = $1 AND plugin_name = $2 AND key = $3",
            )
            .bind(tenant.as_str())
            .bind(plugin.as_str())
            .bind(key.as_str())
            .execute(&mut *tx)
            .await?;
        }
        // One run of notices per tenant (a group is nearly always one).
        let mut tenants: Vec<&TenantId> = Vec::new();
        for (tenant, _) in &self.notices {
            if !tenants.contains(&tenant) {
                tenants.push(tenant);
            }
        }
        for tenant in tenants {
            let notices: Vec<&Notice> = self
                .notices
                .iter()
                .filter(|(t, _)| t == tenant)
                .map(|(_, n)| n)
                .collect();
            notifications::record_all(tx, tenant, &notices, now).await?;
        }
        Ok(())
    }
}

async fn mark_done(
    tx: &mut sqlx::AnyConnection,
    done: &[(i64, String)],
    holder: &str,
    now: Millis,
) -> Result<()> {
    // `$1` the time, `$2` this process, then each event's id and summary.
    let cases: String = (0..done.len())
        .map(|i| format!(" WHEN ${} THEN ${}", 3 + 2 * i, 4 + 2 * i))
        .collect();
    let ids = (0..done.len())
        .map(|i| format!("${}", 3 + 2 * i))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE events SET processed_at = $1, outcome = CASE id{cases} END
         WHERE id IN ({ids}) AND processed_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM dispatch_leases l
                           WHERE l.tenant_id = events.tenant_id AND l.holder <> $2)"
    );
    let mut update = sqlx::query(&sql).bind(now.0).bind(holder);
    for (event, summary) in done {
        update = update.bind(*event).bind(summary.as_str());
    }
    let marked = update.execute(&mut *tx).await?.rows_affected();
    if marked == done.len() as u64 {
        return Ok(());
    }
    // Another process sharing the database handled one first, or holds
    // its tenant now: the outcomes are dropped whole.
    Err(StoreError::Conflict(match done {
        [(event, _)] => format!("event {event} was already handled"),
        _ => format!(
            "{} of {} events were already handled",
            done.len() as u64 - marked,
            done.len()
        ),
    }))
}

async fn insert_history(tx: &mut sqlx::AnyConnection, rows: &[HistoryRow]) -> Result<()> {
    let sql = format!(
        "INSERT INTO assignment_history (conversation_id, at, action, assignee_kind, assignee_id,
            team_id, decided_by, rule_name, plugin_name, plugin_version, reason)
         VALUES {}",
        value_rows(rows.len(), 11)
    );
    let mut insert = sqlx::query(&sql);
    for row in rows {
        insert = insert
            .bind(row.conversation.as_str())
            .bind(row.at.0)
            .bind(row.action.as_str())
            .bind(row.agent.as_ref().map(|_| "agent"))
            .bind(row.agent.as_ref().map(AgentId::as_str))
            .bind(row.team.as_ref().map(TeamId::as_str))
            .bind(&row.entry.decided_by)
            .bind(&row.entry.rule)
            .bind(&row.entry.plugin_name)
            .bind(&row.entry.plugin_version)
            .bind(&row.entry.reason);
    }
    insert.execute(&mut *tx).await?;
    Ok(())
}

async fn insert_handled(tx: &mut sqlx::AnyConnection, rows: &[HandledRow]) -> Result<()> {
    let sql = format!(
        "INSERT INTO events (tenant_id, kind, conversation_id, agent_id, message_id, created_at,
            depth, detail, processed_at, outcome)
         VALUES {}",
        value_rows(rows.len(), 10)
    );
    let mut insert = sqlx::query(&sql);
    for row in rows {
        insert = insert
            .bind(row.tenant.as_str())
            .bind(row.kind.as_str())
            .bind(row.conversation.as_str())
            .bind(row.agent.as_str())
            .bind(None::<&str>)
            .bind(row.at.0)
            .bind(i64::from(row.origin.depth))
            .bind(row.origin.detail.as_ref().map(ToString::to_string))
            .bind(row.at.0)
            .bind(row.summary.as_str());
    }
    insert.execute(&mut *tx).await?;
    Ok(())
}

async fn set_kv(tx: &mut sqlx::AnyConnection, rows: &[(&KvKey, &Option<Vec<u8>>)]) -> Result<()> {
    // Each key once (the map's), as a multi-row upsert requires.
    let sql = format!(
        "INSERT INTO plugin_kv (tenant_id, plugin_name, key, value) VALUES {}
         ON CONFLICT (tenant_id, plugin_name, key) DO UPDATE SET value = excluded.value",
        value_rows(rows.len(), 4)
    );
    let mut upsert = sqlx::query(&sql);
    for ((tenant, plugin, key), value) in rows {
        upsert = upsert
            .bind(tenant.as_str())
            .bind(plugin.as_str())
            .bind(key.as_str())
            .bind(value.as_deref().unwrap_or_default());
    }
    upsert.execute(&mut *tx).await?;
    Ok(())
}
