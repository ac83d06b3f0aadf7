//! Host-side bindings for the plugin contract, and nothing else.
//!
//! The current contract, `baton:plugin@0.4.0` (`sdk/wit/`), has one `bindgen!`
//! per world. `types` and `host` are generated once, with the strategy
//! world, and shared by the other worlds so a value means the same Rust type
//! whichever kind of plugin receives it. Released contracts the host still
//! runs are in [`v0_1`], [`v0_2`] and [`v0_3`]; [`super::legacy`] converts
//! between them.
//!
//! Every type also derives serde, so a recorded snapshot can be read back
//! from JSON (`baton plugin test`) and values convert between versions.

/// The contract version plugins built today target.
pub const CURRENT: &str = "0.4.0";

/// Every contract version this host runs, oldest first.
pub const SUPPORTED: &[&str] = &["0.1.0", "0.2.0", "0.3.0", CURRENT];

/// The `assignment-strategy` world (and the shared `types` and `host`).
pub mod strategy {
    wasmtime::component::bindgen!({
        world: "assignment-strategy",
        path: "../sdk/wit",
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

/// The `handoff-trigger` world.
pub mod trigger {
    wasmtime::component::bindgen!({
        world: "handoff-trigger",
        path: "../sdk/wit",
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
        path: "../sdk/wit",
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
        path: "../sdk/wit",
        with: {
            "baton:plugin/types": crate::plugin::bindings::strategy::baton::plugin::types,
            "baton:plugin/host": crate::plugin::bindings::strategy::baton::plugin::host,
        },
    });
}

pub use strategy::baton::plugin::host;
pub use strategy::baton::plugin::types;

/// The bindings of a released contract, frozen in `wit/released/<version>`:
/// one module per world, sharing `types` and `host` as the current ones do.
macro_rules! released {
    ($module:ident, $path:literal) => {
        /// The `assignment-strategy` world (and the shared `types` and `host`).
        pub mod strategy {
            wasmtime::component::bindgen!({
                world: "assignment-strategy",
                path: $path,
                additional_derives: [serde::Serialize, serde::Deserialize],
            });
        }

        /// The `handoff-trigger` world.
        pub mod trigger {
            wasmtime::component::bindgen!({
                world: "handoff-trigger",
                path: $path,
                with: {
                    "baton:plugin/types": crate::plugin::bindings::$module::strategy::baton::plugin::types,
                    "baton:plugin/host": crate::plugin::bindings::$module::strategy::baton::plugin::host,
                },
            });
        }

        /// The `workflow` world.
        pub mod workflow {
            wasmtime::component::bindgen!({
                world: "workflow",
                path: $path,
                with: {
                    "baton:plugin/types": crate::plugin::bindings::$module::strategy::baton::plugin::types,
                    "baton:plugin/host": crate::plugin::bindings::$module::strategy::baton::plugin::host,
                },
            });
        }

        /// The `rule-condition` world.
        pub mod condition {
            wasmtime::component::bindgen!({
                world: "rule-condition",
                path: $path,
                with: {
                    "baton:plugin/types": crate::plugin::bindings::$module::strategy::baton::plugin::types,
                    "baton:plugin/host": crate::plugin::bindings::$module::strategy::baton::plugin::host,
                },
            });
        }

        pub use strategy::baton::plugin::host;
        pub use strategy::baton::plugin::types;
    };
}

/// `baton:plugin@0.1.0`, frozen as released (`wit/released/0.1.0`).
pub mod v0_1 {
    released!(v0_1, "../wit/released/0.1.0");
}

/// `baton:plugin@0.2.0`, frozen as released (`wit/released/0.2.0`): the
/// last contract whose candidates carry their ids as fields.
pub mod v0_2 {
    released!(v0_2, "../wit/released/0.2.0");
}

/// `baton:plugin@0.3.0`, frozen as released (`wit/released/0.3.0`): the
/// last contract whose candidates carry no teams.
pub mod v0_3 {
    released!(v0_3, "../wit/released/0.3.0");
}
