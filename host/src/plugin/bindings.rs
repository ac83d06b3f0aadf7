//! Host-side bindings for the plugin contract, and nothing else.
//!
//! One `bindgen!` per world. `types` and `host` are generated once, with the
//! strategy world, and shared by the other two so a value means the same
//! Rust type whichever kind of plugin receives it.

/// The `assignment-strategy` world (and the shared `types` and `host`).
pub mod strategy {
    wasmtime::component::bindgen!({
        world: "assignment-strategy",
        path: "../wit",
    });
}

/// The `handoff-trigger` world.
pub mod trigger {
    wasmtime::component::bindgen!({
        world: "handoff-trigger",
        path: "../wit",
        with: {
            "baton:plugin/types": crate::plugin::bindings::strategy::baton::plugin::types,
            "baton:plugin/host": crate::plugin::bindings::strategy::baton::plugin::host,
        },
    });
}

/// The `workflow` world.
pub mod workflow {
    wasmtime::component::bindgen!({
        world: "workflow",
        path: "../wit",
        with: {
            "baton:plugin/types": crate::plugin::bindings::strategy::baton::plugin::types,
            "baton:plugin/host": crate::plugin::bindings::strategy::baton::plugin::host,
        },
    });
}

/// The `rule-condition` world.
pub mod condition {
    wasmtime::component::bindgen!({
        world: "rule-condition",
        path: "../wit",
        with: {
            "baton:plugin/types": crate::plugin::bindings::strategy::baton::plugin::types,
            "baton:plugin/host": crate::plugin::bindings::strategy::baton::plugin::host,
        },
    });
}

pub use strategy::baton::plugin::host;
pub use strategy::baton::plugin::types;
