//! Test plugin: an assignment strategy whose `describe` sleeps for ever
//! before answering. Under the event's frozen clock a sleep has nothing to
//! wait for, so the upload goes through at once instead of holding a
//! validation slot (and an instance) for ever.

use std::time::Duration;

use baton_sdk::{
    AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, PluginError, PluginKind,
};

struct DescribeSleeps;

impl AssignmentStrategy for DescribeSleeps {
    fn describe() -> Manifest {
        std::thread::sleep(Duration::MAX);
        Manifest::new("describe-sleeps", "0.1.0", PluginKind::AssignmentStrategy)
            .description("Test plugin: describe sleeps for ever first.")
    }

    fn decide(_request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        Ok(AssignmentDecision::Queue(
            "describe-sleeps: queues".to_owned(),
        ))
    }
}

baton_sdk::export_assignment_strategy!(DescribeSleeps);
