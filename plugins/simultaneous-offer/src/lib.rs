//! Simultaneous offer (Zoho SalesIQ's "同時に割り当てる"): every agent in
//! scope who can take the conversation is offered it at once; the first to
//! accept owns it and the other offers are withdrawn by the host.

use baton_sdk::{
    AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, OfferTo, PluginError,
    PluginKind,
};

struct SimultaneousOffer;

impl AssignmentStrategy for SimultaneousOffer {
    fn describe() -> Manifest {
        baton_sdk::manifest!("simultaneous-offer", PluginKind::AssignmentStrategy)
        .description(
            "Offers the conversation to every agent who can take it; the first to accept owns it.",
        )
        .config_schema(serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "simultaneous-offer",
            "description": "simultaneous-offer takes no settings.",
            "type": "object",
            "properties": {},
            "additionalProperties": false,
        }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let channel = request.conversation.channel;
        let agents: Vec<String> = request
            .candidates
            .iter()
            .filter(|c| c.can_take(channel))
            .map(|c| c.id.to_owned())
            .collect();
        Ok(if agents.is_empty() {
            AssignmentDecision::Queue("simultaneous-offer: nobody can take it".to_owned())
        } else {
            AssignmentDecision::Offer(OfferTo {
                reason: format!("simultaneous-offer: offered to {} agents", agents.len()),
                agents,
            })
        })
    }
}

baton_sdk::export_assignment_strategy!(SimultaneousOffer);
