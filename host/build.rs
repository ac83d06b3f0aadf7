//! Builds the default plugins, which the server embeds with
//! `include_bytes!(concat!(env!("OUT_DIR"), "/round-robin.wasm"))` and so on.

#[path = "../plugins/build_wasm.rs"]
mod build_wasm;

use std::path::PathBuf;

/// The plugins every tenant has without uploading anything.
const DEFAULT_PLUGINS: &[&str] = &[
    "round-robin",
    "least-loaded",
    "longest-waiting",
    "fewest-handled",
    "fixed-order",
    "simultaneous-offer",
    "keyword-handoff",
    "handoff-rotation",
    "assign-by-content",
    "assign-by-source",
    "inactivity-close",
    "reply-deadline",
    "escalate-waiting",
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ is inside the workspace");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    build_wasm::build_plugins(workspace, DEFAULT_PLUGINS, &out_dir);
}
