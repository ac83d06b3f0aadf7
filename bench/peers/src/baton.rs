//! Baton's own way: the real default `least-loaded` plugin (the component
//! baton-host embeds, built from `plugins/least-loaded` by its build script)
//! run through the host's `PluginRuntime`, under the default sandbox limits.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use baton_host::plugin::bindings::types;
use baton_host::plugin::defaults::{BUILTINS, LEAST_LOADED};
use baton_host::plugin::{
    AssignmentRequest, CallContext, Compiled, PluginRuntime, SandboxLimits, WarmStrategy,
};

/// The runtime and the compiled plugin, shared by the warm and fresh ways.
pub(crate) struct Baton {
    runtime: PluginRuntime,
    compiled: Compiled,
}

impl Baton {
    pub(crate) fn new() -> Result<Self> {
        let runtime = PluginRuntime::new(SandboxLimits::default())
            .map_err(|e| anyhow!("building the engine: {e:#}"))?;
        let wasm = BUILTINS
            .iter()
            .find(|(name, _)| *name == LEAST_LOADED)
            .context("least-loaded is not among the built-in plugins")?
            .1;
        let compiled = runtime
            .compile(wasm)
            .map_err(|e| anyhow!("compiling least-loaded: {e}"))?;
        Ok(Self { runtime, compiled })
    }

    /// What routing does for every decision: a fresh store and instance.
    pub(crate) fn decide_fresh(&self, request: &AssignmentRequest) -> Result<Option<String>> {
        let answer = self
            .runtime
            .decide(&self.compiled, context(), request)
            .map_err(|e| anyhow!("least-loaded failed: {e}"))?;
        agent(answer.value)
    }

    /// One instance kept for repeated calls: what a warm pool could save.
    pub(crate) fn warm(&self) -> Result<Warm> {
        let strategy = self
            .runtime
            .warm_strategy(&self.compiled, context())
            .map_err(|e| anyhow!("instantiating least-loaded: {e}"))?;
        Ok(Warm(strategy))
    }
}

pub(crate) struct Warm(WarmStrategy);

impl Warm {
    pub(crate) fn decide(&mut self, request: &AssignmentRequest) -> Result<Option<String>> {
        let decision = self
            .0
            .decide(request)
            .map_err(|e| anyhow!("least-loaded failed: {e}"))?;
        agent(decision)
    }
}

/// The call's context as routing builds it: default config (`scope: all`,
/// i.e. open conversations over every channel) and no stored state.
fn context() -> CallContext {
    CallContext {
        tenant: "ten_bench".into(),
        plugin: "least-loaded@0.1.0".into(),
        config: "{}".into(),
        now_ms: 1_700_000_200_000,
        kv: BTreeMap::new(),
    }
}

fn agent(decision: types::AssignmentDecision) -> Result<Option<String>> {
    match decision {
        types::AssignmentDecision::Assign(to) => Ok(Some(to.agent)),
        types::AssignmentDecision::Queue(_) => Ok(None),
        other => bail!("least-loaded answered neither assign nor queue: {other:?}"),
    }
}
