//! Plugin upload: arbitrary bytes through what `POST /v1/plugins` does with
//! a body before anything is stored: size and header checks, compiling and
//! type-checking against Baton's worlds, serialising the compiled artefact
//! (and loading it back, as a restart does), one sandboxed `describe` call,
//! and the manifest check.
//!
//! Every refusal must be an error value; a panic, an abort or a sanitizer
//! report is a finding.

#![no_main]

use std::sync::OnceLock;

use baton_host::plugin::{CallContext, LoadError, PluginRuntime, SandboxLimits, manifest};
use libfuzzer_sys::fuzz_target;

/// One engine for the whole run, as in the server: building it (and its
/// pooling allocator and epoch thread) per input would swamp the run.
fn runtime() -> &'static PluginRuntime {
    static RUNTIME: OnceLock<PluginRuntime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        PluginRuntime::new(SandboxLimits::default()).expect("the plugin engine starts")
    })
}

fn context() -> CallContext {
    CallContext {
        tenant: "ten_fuzz".into(),
        plugin: "upload".into(),
        config: "{}".into(),
        // 2026-11-23T00:00:00Z: plugins see only this clock.
        now_ms: 1_795_392_000_000,
        kv: Default::default(),
    }
}

const COMPONENT_MAGIC: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

fuzz_target!(|wasm: &[u8]| {
    let runtime = runtime();
    let compiled = match runtime.compile(wasm) {
        Ok(compiled) => compiled,
        Err(error) => {
            // Anything without the component header is refused before
            // wasmtime sees it.
            if !wasm.starts_with(&COMPONENT_MAGIC) {
                assert!(
                    matches!(
                        error,
                        LoadError::NotWasm | LoadError::CoreModule | LoadError::TooLarge { .. }
                    ),
                    "bytes without the component header refused as {error:?}"
                );
            }
            // The message goes back to the uploader.
            let _ = error.to_string();
            return;
        }
    };
    assert!(
        wasm.starts_with(&COMPONENT_MAGIC),
        "compiled bytes without the component header"
    );
    let artifact = compiled
        .serialize()
        .expect("a compiled component serialises to an artefact");
    let reloaded = runtime
        .load_artifact(&artifact)
        .expect("an artefact this engine wrote loads again");
    assert_eq!(reloaded.kind, compiled.kind, "kind after a reload");
    assert_eq!(
        reloaded.contract, compiled.contract,
        "contract after a reload"
    );
    match runtime.describe(&compiled, context()) {
        Ok(raw) => {
            let _ = manifest::check(raw, compiled.kind);
        }
        Err(error) => {
            let _ = (error.kind(), error.to_string());
        }
    }
});
