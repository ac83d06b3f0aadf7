//! What workflows see of, and do to, a conversation's help-desk ticket.

use super::Router;
use super::spec::BindError;
use crate::domain::{Change, ConversationId, StageId, TenantId};
use crate::plugin::CallError;
use crate::plugin::bindings::types;

impl Router {
    /// The ticket of a conversation, as workflows see it.
    pub(super) async fn ticket_snapshot(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<types::Ticket>, BindError> {
        Ok(self
            .store
            .ticket_of_conversation(tenant, conversation)
            .await?
            .map(|t| types::Ticket {
                id: t.id,
                name: t.name,
                pipeline: t.pipeline,
                stage: t.stage,
                source: t.source,
            }))
    }

    /// A workflow's `set-stage`: the stage must belong to the pipeline of
    /// the conversation's ticket, and a conditional stage needs its
    /// properties set on the ticket, as it does for a member.
    pub(super) async fn stage_change(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        stage: &str,
    ) -> Result<Change, CallError> {
        let unavailable = |e: crate::store::StoreError| CallError::Unavailable(e.to_string());
        let ticket = self
            .store
            .ticket_for_conversation(tenant, conversation)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                CallError::Invalid("set-stage: this conversation has no ticket".into())
            })?;
        let pipeline = self
            .store
            .pipeline(tenant, &ticket.pipeline)
            .await
            .map_err(unavailable)?;
        let target = StageId::parse(stage)
            .ok()
            .and_then(|id| pipeline.as_ref()?.stage(&id).cloned())
            .ok_or_else(|| {
                CallError::Invalid(format!(
                    "set-stage: {stage:?} is not a status of the ticket's pipeline {}",
                    ticket.pipeline
                ))
            })?;
        if let Some(missing) = ticket.properties.missing(&target.requires) {
            return Err(CallError::Invalid(format!(
                "set-stage: the status {:?} needs the ticket property {missing:?}, which is not set",
                target.name
            )));
        }
        Ok(Change::SetStage {
            conversation: conversation.clone(),
            stage: stage.to_owned(),
        })
    }
}
