//! The tenant's queue policy: how long the queue may grow, and what happens
//! to a conversation that finds it full.

use serde::{Deserialize, Serialize};

use super::Router;
use super::spec::BindError;
use crate::domain::{
    Change, ConversationRecord, EventKind, HistoryEntry, Routing, TeamId, TenantId,
};
use crate::store::Store;

/// The settings topic the policy is stored under.
pub const TOPIC: &str = "queue";

/// What a conversation that finds the queue full gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Overflow {
    /// Turned away with this message to the customer, and closed.
    Reject { message: String },
    /// Sent to wait in this team's own line instead.
    Team { team: TeamId },
}

/// How long the queue may grow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueuePolicy {
    /// Most conversations waiting at once; no limit when absent.
    pub max_length: Option<u32>,
    pub overflow: Overflow,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        Self {
            max_length: None,
            overflow: Overflow::Reject {
                message: "All our agents are busy right now. Please try again a little later."
                    .into(),
            },
        }
    }
}

/// The tenant's policy, or the default (no limit).
pub async fn policy(store: &Store, tenant: &TenantId) -> Result<QueuePolicy, BindError> {
    Ok(store
        .setting(tenant, TOPIC)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

impl Router {
    /// Queue the conversation, unless it already waits (no repeated
    /// history), applying the tenant's maximum length.
    pub(super) async fn enqueue(
        &self,
        tenant: &TenantId,
        conversation: &ConversationRecord,
        team: Option<TeamId>,
        history: HistoryEntry,
    ) -> Result<Vec<Change>, BindError> {
        if conversation.routing == Routing::Queued && team == conversation.team {
            return Ok(Vec::new());
        }
        let policy = policy(&self.store, tenant).await?;
        let overflow_team = match &policy.overflow {
            Overflow::Team { team } => Some(team),
            Overflow::Reject { .. } => None,
        };
        let full = match policy.max_length {
            Some(max) if team.is_none() || team.as_ref() != overflow_team => {
                self.store.queue_length(tenant, overflow_team).await? >= u64::from(max)
            }
            _ => false,
        };
        let id = conversation.id.clone();
        let queued = |team: Option<TeamId>, history: HistoryEntry| {
            vec![
                Change::Queue {
                    conversation: id.clone(),
                    team,
                    history,
                },
                Change::Event {
                    kind: EventKind::ConversationQueued,
                    conversation: Some(id.clone()),
                    agent: None,
                },
            ]
        };
        if !full {
            return Ok(queued(team, history));
        }
        let max = policy.max_length.unwrap_or_default();
        Ok(match policy.overflow {
            Overflow::Reject { message } => vec![Change::Reject {
                conversation: id.clone(),
                message,
                history: HistoryEntry {
                    reason: format!("the queue is full ({max} waiting): turned away"),
                    ..history
                },
            }],
            Overflow::Team { team } => queued(
                Some(team.clone()),
                HistoryEntry {
                    reason: format!(
                        "the queue is full ({max} waiting): sent to overflow team {team}"
                    ),
                    ..history
                },
            ),
        })
    }
}
