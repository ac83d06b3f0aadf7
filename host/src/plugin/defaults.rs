//! The default plugin set, built from `plugins/` by the build script and
//! embedded in the binary so a new tenant routes without uploading anything.

/// The default assignment strategy.
pub const ROUND_ROBIN: &str = "round-robin";
/// Fewest open conversations first.
pub const LEAST_LOADED: &str = "least-loaded";
/// The default handoff trigger.
pub const KEYWORD_HANDOFF: &str = "keyword-handoff";

/// Every built-in plugin: its name and component bytes.
pub const BUILTINS: [(&str, &[u8]); 3] = [
    (
        ROUND_ROBIN,
        include_bytes!(concat!(env!("OUT_DIR"), "/round-robin.wasm")),
    ),
    (
        LEAST_LOADED,
        include_bytes!(concat!(env!("OUT_DIR"), "/least-loaded.wasm")),
    ),
    (
        KEYWORD_HANDOFF,
        include_bytes!(concat!(env!("OUT_DIR"), "/keyword-handoff.wasm")),
    ),
];
