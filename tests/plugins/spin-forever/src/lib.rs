//! Test plugin: an assignment strategy whose `decide` never returns, to check
//! that the host's time limit stops it.

use baton_sdk::{
    AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, PluginError, PluginKind,
};

struct SpinForever;

impl AssignmentStrategy for SpinForever {
    fn describe() -> Manifest {
        Manifest::new("spin-forever", "0.1.0", PluginKind::AssignmentStrategy)
            .description("Test plugin: decide loops forever.")
    }

    fn decide(_request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let mut spins = 0u64;
        loop {
            // `black_box` keeps the optimiser from proving the loop has no
            // effect and removing it (an empty infinite loop is UB-adjacent
            // in LLVM and may be folded away).
            spins = core::hint::black_box(spins).wrapping_add(1);
        }
    }
}

baton_sdk::export_assignment_strategy!(SpinForever);
