//! Test plugin: a simultaneous offer. Every agent who can take the
//! conversation is offered it at once; the first to accept owns it.

use baton_sdk::{
    AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, OfferTo, PluginError,
    PluginKind,
};

struct OfferAll;

impl AssignmentStrategy for OfferAll {
    fn describe() -> Manifest {
        Manifest::new("offer-all", "0.1.0", PluginKind::AssignmentStrategy)
            .description("Test plugin: offers the conversation to every agent with room.")
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let channel = request.conversation.channel;
        let agents: Vec<String> = request
            .candidates
            .iter()
            .filter(|c| c.can_take(channel))
            .map(|c| c.id.clone())
            .collect();
        Ok(if agents.is_empty() {
            AssignmentDecision::Queue("offer-all: nobody can take it".to_owned())
        } else {
            AssignmentDecision::Offer(OfferTo {
                reason: format!("offer-all: offered to {} agents", agents.len()),
                agents,
            })
        })
    }
}

baton_sdk::export_assignment_strategy!(OfferAll);
