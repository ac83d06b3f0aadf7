//! Test plugin: an assignment strategy that assigns an agent who is not among
//! the candidates, to check that the host refuses the decision.

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, PluginError,
    PluginKind,
};

/// A well-formed agent id that no test ever creates.
const STRANGER: &str = "agt_00000000000000000000000000000000";

struct BadDecision;

impl AssignmentStrategy for BadDecision {
    fn describe() -> Manifest {
        Manifest::new("bad-decision", "0.1.0", PluginKind::AssignmentStrategy)
            .description("Test plugin: assigns an agent who is not a candidate.")
    }

    fn decide(_request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        Ok(AssignmentDecision::Assign(AssignTo {
            agent: STRANGER.to_owned(),
            reason: "bad-decision: always the stranger".to_owned(),
        }))
    }
}

baton_sdk::export_assignment_strategy!(BadDecision);
