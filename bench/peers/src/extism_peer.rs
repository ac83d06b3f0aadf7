//! Extism: the guest in `extism-guest/` (built by build.rs), called the way
//! Extism's docs show, with the request serialised to JSON for every call.
//!
//! Limits comparable to Baton's: a fuel budget per call (Baton's default)
//! and no WASI, since the guest needs none. Extism always turns on epoch
//! interruption, as Baton does.

use anyhow::{Context, Result};
use baton_host::plugin::AssignmentRequest;
use baton_host::plugin::SandboxLimits;
use extism::{CompiledPlugin, Manifest, Plugin, PluginBuilder, Wasm};
use serde::Deserialize;

/// The guest, built from source by build.rs.
const GUEST: &[u8] = include_bytes!(env!("PEERS_EXTISM_GUEST"));

/// The guest's answer.
#[derive(Deserialize)]
struct Decision {
    agent: Option<String>,
}

/// Compiled once, as `Plugin::new_from_compiled` expects.
pub(crate) struct Extism {
    compiled: CompiledPlugin,
}

impl Extism {
    pub(crate) fn new() -> Result<Self> {
        let manifest = Manifest::new([Wasm::data(GUEST)]);
        let compiled = PluginBuilder::new(manifest)
            .with_wasi(false)
            .with_fuel_limit(SandboxLimits::default().fuel)
            // Benchmarks must not read or fill a cache in the user's home.
            .with_cache_disabled()
            .compile()
            .context("compiling the Extism guest")?;
        Ok(Self { compiled })
    }

    /// One plugin instance, reused for every call (Extism's usual pattern).
    pub(crate) fn warm(&self) -> Result<Warm> {
        Ok(Warm(self.instantiate()?))
    }

    /// A new instance per decision, like Baton's routing.
    pub(crate) fn decide_fresh(&self, request: &AssignmentRequest) -> Result<Option<String>> {
        call(&mut self.instantiate()?, request)
    }

    fn instantiate(&self) -> Result<Plugin> {
        Plugin::new_from_compiled(&self.compiled).context("instantiating the Extism guest")
    }
}

pub(crate) struct Warm(Plugin);

impl Warm {
    pub(crate) fn decide(&mut self, request: &AssignmentRequest) -> Result<Option<String>> {
        call(&mut self.0, request)
    }
}

fn call(plugin: &mut Plugin, request: &AssignmentRequest) -> Result<Option<String>> {
    let input = serde_json::to_vec(request).context("serialising the request")?;
    let output: &[u8] = plugin
        .call("decide", input.as_slice())
        .context("calling the Extism guest")?;
    let decision: Decision = serde_json::from_slice(output).context("reading its answer")?;
    Ok(decision.agent)
}
