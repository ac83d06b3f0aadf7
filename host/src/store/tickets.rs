//! Tickets: reading them, which member may see which, and the counts for
//! statistics. A ticket is a conversation with ticket properties, so its
//! owner, contact, priority and followers are read from the conversation.

use sqlx::{AnyConnection, Row};

use super::{Result, Store, opt_id};
use crate::domain::{
    AgentId, Assignee, Channel, CompanyId, ConversationId, ConversationStatus, Millis, Page,
    PageRequest, PipelineId, Priority, Properties, StageId, TenantId, TicketAccess, TicketId,
};

/// Which tickets a request may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// The tenant's API key (an integration) or a member with `all` access.
    All,
    /// A member with `team` or `own` access.
    Member {
        agent: AgentId,
        access: TicketAccess,
    },
}

impl Visibility {
    /// The two values [`visible`] is bound with: the access and the member.
    fn binds(&self) -> (&'static str, &str) {
        match self {
            Visibility::All => (TicketAccess::All.as_str(), ""),
            Visibility::Member { agent, access } => (access.as_str(), agent.as_str()),
        }
    }
}

/// Whether the ticket's conversation `c` is visible to the caller whose
/// access and member id are the query's parameters `$access` and `$me`
/// (bound by [`bind_visible`]). One predicate for lists and single tickets,
/// so a ticket missing from a member's list is also a 404 for them.
fn visible(access: usize, me: usize) -> String {
    format!(
        "(${access} = 'all'
    OR (c.assignee_kind = 'agent' AND c.assignee_id = ${me})
    OR EXISTS (SELECT 1 FROM followers f WHERE f.conversation_id = c.id AND f.agent_id = ${me})
    OR (${access} = 'team' AND (
        c.team_id IN (SELECT team_id FROM agent_teams WHERE agent_id = ${me})
        OR (c.assignee_kind = 'agent' AND c.assignee_id IN (
            SELECT mate.agent_id FROM agent_teams mine
            JOIN agent_teams mate ON mate.team_id = mine.team_id
            WHERE mine.agent_id = ${me})))))"
    )
}

/// Bind the parameters of [`visible`]: access, then member id.
fn bind_visible<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    visibility: &'q Visibility,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let (access, me) = visibility.binds();
    query.bind(access).bind(me)
}

/// A ticket with what it takes from its conversation.
#[derive(Debug, Clone)]
pub struct TicketRecord {
    pub id: TicketId,
    pub conversation: ConversationId,
    pub name: String,
    pub pipeline: PipelineId,
    pub stage: StageId,
    pub stage_name: String,
    /// Whether its status is a closed one.
    pub closed: bool,
    pub priority: Priority,
    /// The conversation's assignee, when an agent.
    pub owner: Option<AgentId>,
    pub contact_email: Option<String>,
    pub contact_name: Option<String>,
    pub company: Option<CompanyId>,
    pub properties: Properties,
    /// The channel it came from, "manual" or "split".
    pub source: String,
    pub merged_into: Option<TicketId>,
    pub channel: Channel,
    pub conversation_status: ConversationStatus,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Filters for listing tickets.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub pipeline: Option<PipelineId>,
    pub stage: Option<StageId>,
    pub owner: Option<AgentId>,
}

const SELECT: &str = "SELECT t.id, t.conversation_id, t.name, t.pipeline_id, t.stage_id,
        s.name AS stage_name, s.closed, c.priority, c.assignee_kind, c.assignee_id,
        c.contact_email, c.contact_name, t.company_id, t.properties, t.source, t.merged_into,
        c.channel, c.status, t.created_at, t.updated_at
    FROM tickets t
    JOIN conversations c ON c.id = t.conversation_id
    JOIN pipeline_stages s ON s.id = t.stage_id";

fn ticket_row(row: &sqlx::any::AnyRow) -> Option<TicketRecord> {
    let owner = match Assignee::from_parts(row.get("assignee_kind"), row.get("assignee_id")) {
        Some(Assignee::Agent(agent)) => Some(agent),
        _ => None,
    };
    Some(TicketRecord {
        id: TicketId::parse(row.get("id")).ok()?,
        conversation: ConversationId::parse(row.get("conversation_id")).ok()?,
        name: row.get("name"),
        pipeline: PipelineId::parse(row.get("pipeline_id")).ok()?,
        stage: StageId::parse(row.get("stage_id")).ok()?,
        stage_name: row.get("stage_name"),
        closed: row.get::<i64, _>("closed") != 0,
        priority: Priority::from_rank(row.get("priority")),
        owner,
        contact_email: row.get("contact_email"),
        contact_name: row.get("contact_name"),
        company: opt_id(row.get("company_id"), |s| CompanyId::parse(s).ok()),
        properties: Properties::from_stored(row.get("properties")),
        source: row.get("source"),
        merged_into: opt_id(row.get("merged_into"), |s| TicketId::parse(s).ok()),
        channel: Channel::parse(row.get("channel")).ok()?,
        conversation_status: ConversationStatus::parse(row.get("status")).ok()?,
        created_at: Millis(row.get("created_at")),
        updated_at: Millis(row.get("updated_at")),
    })
}

/// The ticket filed from a conversation, if it is one.
pub(super) async fn ticket_of(
    conn: &mut AnyConnection,
    conversation: &ConversationId,
) -> Result<Option<TicketId>> {
    let row = sqlx::query("SELECT id FROM tickets WHERE conversation_id = $1")
        .bind(conversation.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(row.and_then(|r| TicketId::parse(r.get("id")).ok()))
}

/// Tickets per status of one pipeline.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PipelineCount {
    pub id: PipelineId,
    pub name: String,
    pub total: u64,
    pub by_status: Vec<StatusCount>,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct StatusCount {
    pub id: StageId,
    pub name: String,
    pub closed: bool,
    pub tickets: u64,
}

/// Tickets by pipeline and status; merged tickets no longer count.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct TicketStats {
    pub total: u64,
    pub pipelines: Vec<PipelineCount>,
}

impl Store {
    /// The ticket, if it is the tenant's and `visibility` lets the caller see it.
    pub async fn ticket(
        &self,
        tenant: &TenantId,
        id: &TicketId,
        visibility: &Visibility,
    ) -> Result<Option<TicketRecord>> {
        let sql = format!(
            "{SELECT} WHERE t.tenant_id = $1 AND t.id = $2 AND {}",
            visible(3, 4)
        );
        let query = sqlx::query(&sql).bind(tenant.as_str()).bind(id.as_str());
        let row = bind_visible(query, visibility)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(ticket_row))
    }

    /// The ticket filed from a conversation, whoever may see it.
    pub async fn ticket_for_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<TicketRecord>> {
        let row = sqlx::query(&format!(
            "{SELECT} WHERE t.tenant_id = $1 AND t.conversation_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(ticket_row))
    }

    /// A page of the tickets the caller may see, newest first; merged
    /// ones are left out.
    pub async fn tickets(
        &self,
        tenant: &TenantId,
        filter: &TicketFilter,
        visibility: &Visibility,
        page: &PageRequest<TicketId>,
    ) -> Result<Page<TicketRecord>> {
        let sql = format!(
            "{SELECT} WHERE t.tenant_id = $1 AND t.merged_into IS NULL
               AND ($2 IS NULL OR t.pipeline_id = $2)
               AND ($3 IS NULL OR t.stage_id = $3)
               AND ($4 IS NULL OR (c.assignee_kind = 'agent' AND c.assignee_id = $4))
               AND {}
               AND ($7 IS NULL OR t.id < $7)
             ORDER BY t.id DESC LIMIT $8",
            visible(5, 6)
        );
        let pipeline = filter.pipeline.as_ref().map(PipelineId::as_str);
        let stage = filter.stage.as_ref().map(StageId::as_str);
        let owner = filter.owner.as_ref().map(AgentId::as_str);
        let query = sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(pipeline)
            .bind(stage)
            .bind(owner);
        let rows = bind_visible(query, visibility)
            .bind(page.after.as_ref().map(TicketId::as_str))
            .bind(page.probe())
            .fetch_all(&self.pool)
            .await?;
        let found = rows.iter().filter_map(ticket_row).collect();
        Ok(Page::from_probe(found, page.limit, |t| t.id.to_string()))
    }

    pub async fn ticket_stats(&self, tenant: &TenantId) -> Result<TicketStats> {
        let rows = sqlx::query(
            "SELECT p.id AS pipeline_id, p.name AS pipeline_name, s.id AS stage_id,
                    s.name AS stage_name, s.closed, COUNT(t.id) AS n
             FROM pipelines p
             JOIN pipeline_stages s ON s.pipeline_id = p.id
             LEFT JOIN tickets t ON t.stage_id = s.id AND t.merged_into IS NULL
             WHERE p.tenant_id = $1
             GROUP BY p.id, s.id
             ORDER BY p.is_default DESC, p.created_at, p.id, s.position",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut stats = TicketStats::default();
        for row in &rows {
            let (Ok(pipeline), Ok(stage)) = (
                PipelineId::parse(row.get("pipeline_id")),
                StageId::parse(row.get("stage_id")),
            ) else {
                continue;
            };
            let tickets = u64::try_from(row.get::<i64, _>("n")).unwrap_or(0);
            if stats.pipelines.last().is_none_or(|p| p.id != pipeline) {
                stats.pipelines.push(PipelineCount {
                    id: pipeline,
                    name: row.get("pipeline_name"),
                    total: 0,
                    by_status: Vec::new(),
                });
            }
            if let Some(current) = stats.pipelines.last_mut() {
                current.total += tickets;
                current.by_status.push(StatusCount {
                    id: stage,
                    name: row.get("stage_name"),
                    closed: row.get::<i64, _>("closed") != 0,
                    tickets,
                });
            }
            stats.total += tickets;
        }
        Ok(stats)
    }
}
