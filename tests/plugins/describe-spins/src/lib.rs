//! Test plugin: an assignment strategy whose `describe` never returns, so an
//! upload of it must be stopped by the sandbox's limits and refused.

use baton_sdk::{AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, PluginError};

struct DescribeSpins;

impl AssignmentStrategy for DescribeSpins {
    fn describe() -> Manifest {
        let mut spins = 0u64;
        loop {
            // `black_box` keeps the loop from being optimised away.
            spins = core::hint::black_box(spins).wrapping_add(1);
        }
    }

    fn decide(_request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        Ok(AssignmentDecision::Queue(
            "describe-spins: never uploaded".to_owned(),
        ))
    }
}

baton_sdk::export_assignment_strategy!(DescribeSpins);
