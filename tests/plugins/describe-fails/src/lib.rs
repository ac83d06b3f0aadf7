//! Test plugin: an assignment strategy whose `describe` panics (a trap in the
//! host), to check that the upload is refused.

use baton_sdk::{AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, PluginError};

struct DescribeFails;

impl AssignmentStrategy for DescribeFails {
    fn describe() -> Manifest {
        panic!("describe-fails: describe always fails")
    }

    fn decide(_request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        Ok(AssignmentDecision::Queue(
            "describe-fails: never uploaded".to_owned(),
        ))
    }
}

baton_sdk::export_assignment_strategy!(DescribeFails);
