//! Test plugin: an assignment strategy whose `decide` allocates until the
//! host's memory limit stops it.

use baton_sdk::{
    AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, PluginError, PluginKind,
};

/// Grow by this much per step: big enough to hit any limit fast, small
/// enough that the limit is hit by growth, not by one huge request.
const CHUNK: usize = 1 << 20;

struct MemoryHog;

impl AssignmentStrategy for MemoryHog {
    fn describe() -> Manifest {
        Manifest::new("memory-hog", "0.1.0", PluginKind::AssignmentStrategy)
            .description("Test plugin: decide allocates without bound.")
    }

    fn decide(_request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; CHUNK];
            // Write every page so the memory is really used, not just
            // reserved, then hide the chunk from the optimiser so neither the
            // writes nor the allocation can be dropped.
            for byte in chunk.iter_mut().step_by(4096) {
                *byte = 1;
            }
            hoard.push(core::hint::black_box(chunk));
        }
    }
}

baton_sdk::export_assignment_strategy!(MemoryHog);
