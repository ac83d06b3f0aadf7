//! Compiling components and calling them under the sandbox limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::component::{Component, ComponentExportIndex, Linker, TypedFunc};
use wasmtime::{Engine, Store, Trap};

use super::bindings::{self, condition, strategy, trigger, types, v0_1, v0_2, v0_3, workflow};
use super::engine::{EPOCH_TICK, build_engine, build_linker, engine_hash};
use super::legacy::{self, convert};
use super::limits::SandboxLimits;
use super::logs::PluginLogs;
use super::lower;
use super::request::AssignmentRequest;
use super::state::{CallContext, PluginState};
use crate::domain::PluginKind;

/// A component ready to instantiate: compiled once, type-checked against
/// its world once.
pub struct Compiled {
    pub kind: PluginKind,
    /// The contract version it was built against, e.g. "0.4.0".
    pub contract: &'static str,
    component: Component,
    pre: KindPre,
}

enum KindPre {
    /// With its `decide` export, called through [`lower`].
    Strategy(strategy::AssignmentStrategyPre<PluginState>, DecideExport),
    Trigger(trigger::HandoffTriggerPre<PluginState>),
    Workflow(workflow::WorkflowPre<PluginState>),
    Condition(condition::RuleConditionPre<PluginState>),
    /// Built against `baton:plugin@0.1.0`: calls convert through `legacy`.
    Strategy01(v0_1::strategy::AssignmentStrategyPre<PluginState>),
    Trigger01(v0_1::trigger::HandoffTriggerPre<PluginState>),
    Workflow01(v0_1::workflow::WorkflowPre<PluginState>),
    Condition01(v0_1::condition::RuleConditionPre<PluginState>),
    /// Built against `baton:plugin@0.2.0`: calls convert through `legacy`.
    Strategy02(v0_2::strategy::AssignmentStrategyPre<PluginState>),
    Trigger02(v0_2::trigger::HandoffTriggerPre<PluginState>),
    Workflow02(v0_2::workflow::WorkflowPre<PluginState>),
    Condition02(v0_2::condition::RuleConditionPre<PluginState>),
    /// Built against `baton:plugin@0.3.0`: calls convert through `legacy`.
    Strategy03(v0_3::strategy::AssignmentStrategyPre<PluginState>),
    Trigger03(v0_3::trigger::HandoffTriggerPre<PluginState>),
    Workflow03(v0_3::workflow::WorkflowPre<PluginState>),
    Condition03(v0_3::condition::RuleConditionPre<PluginState>),
}

/// Why a component was refused at upload.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the body is not WebAssembly")]
    NotWasm,
    #[error("the body is a core WebAssembly module, not a component; build for wasm32-wasip2")]
    CoreModule,
    #[error("the component is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the component does not compile: {0}")]
    Invalid(String),
    #[error("the component imports something the sandbox does not grant: {0}")]
    Imports(String),
    #[error(
        "the component implements none of Baton's worlds (assignment-strategy, \
         handoff-trigger, workflow, rule-condition of baton:plugin@{current}): {0}",
        current = bindings::CURRENT
    )]
    NoWorld(String),
    #[error(
        "the component was built against baton:plugin@{found}; this host supports {}: \
         rebuild it with a baton-sdk for one of those",
        bindings::SUPPORTED.join(", ")
    )]
    UnsupportedContract { found: String },
}

/// Why a call did not produce an answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("the plugin used up its CPU budget of {fuel} fuel")]
    OutOfFuel { fuel: u64 },
    #[error("the plugin ran past its {ms} ms time limit")]
    Timeout { ms: u128 },
    #[error("the plugin tried to grow its memory past the {bytes}-byte cap")]
    MemoryCap { bytes: usize },
    #[error("the plugin trapped: {0}")]
    Trap(String),
    #[error("the plugin returned an error: {0}")]
    Plugin(String),
    #[error("the plugin's answer is invalid: {0}")]
    Invalid(String),
    #[error("the plugin could not be loaded: {0}")]
    Unavailable(String),
}

impl CallError {
    /// A short, stable name for metrics and the failure log.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::OutOfFuel { .. } => "out-of-fuel",
            CallError::Timeout { .. } => "timeout",
            CallError::MemoryCap { .. } => "memory-cap",
            CallError::Trap(_) => "trap",
            CallError::Plugin(_) => "plugin-error",
            CallError::Invalid(_) => "invalid-answer",
            CallError::Unavailable(_) => "unavailable",
        }
    }
}

/// A successful call: the answer and the key-value writes to apply with it.
pub struct Answer<T> {
    pub value: T,
    pub kv_writes: Vec<(String, Option<Vec<u8>>)>,
    pub fuel_used: u64,
}

/// The engine, the linker and the limits: everything needed to run plugins.
pub struct PluginRuntime {
    engine: Engine,
    linker: Linker<PluginState>,
    limits: SandboxLimits,
    engine_hash: String,
    compiles: AtomicU64,
    /// What plugins logged, per tenant and plugin version.
    logs: Arc<PluginLogs>,
}

/// The least time a call is waited for beyond its own limit: instantiation
/// and copying the answer out happen before and after the epoch deadline.
const CALL_GRACE: Duration = Duration::from_millis(250);

const COMPONENT_MAGIC: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const MODULE_MAGIC: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

impl PluginRuntime {
    pub fn new(limits: SandboxLimits) -> wasmtime::Result<Self> {
        let engine = build_engine(&limits)?;
        let linker = build_linker(&engine)?;
        let engine_hash = engine_hash(&engine);
        Ok(Self {
            engine,
            linker,
            limits,
            engine_hash,
            compiles: AtomicU64::new(0),
            logs: Arc::default(),
        })
    }

    /// What plugins logged, per tenant and plugin version.
    pub fn logs(&self) -> &PluginLogs {
        &self.logs
    }

    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Identifies the engine's compiled-code format.
    pub fn engine_hash(&self) -> &str {
        &self.engine_hash
    }

    /// How many components this process has compiled (not loaded from cache).
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Run a plugin call on a blocking worker, and wait for it no longer
    /// than the call's time limit plus a grace period. Fuel and the epoch
    /// deadline stop the guest's own code; this bounds everything else a
    /// call might do on the host's side, so no call can hold its caller
    /// (the dispatcher, an upload) however it misbehaves. A call given up
    /// on is a timeout; its worker finishes or dies on its own.
    pub async fn call_bounded<R: Send + 'static>(
        self: &Arc<Self>,
        call: impl FnOnce(&PluginRuntime) -> Result<R, CallError> + Send + 'static,
    ) -> Result<R, CallError> {
        let runtime = self.clone();
        let limit = self.limits.timeout;
        let wait = limit + limit.max(CALL_GRACE);
        match tokio::time::timeout(wait, tokio::task::spawn_blocking(move || call(&runtime))).await
        {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => Err(CallError::Trap(format!(
                "the call's worker failed: {error}"
            ))),
            Err(_) => {
                tracing::error!(
                    wait_ms = wait.as_millis(),
                    "a plugin call outlived its time limit on the host's side; given up"
                );
                Err(CallError::Timeout {
                    ms: limit.as_millis(),
                })
            }
        }
    }

    /// Validate and compile an uploaded component, and find its world.
    pub fn compile(&self, wasm: &[u8]) -> Result<Compiled, LoadError> {
        if wasm.len() > self.limits.max_component_bytes {
            return Err(LoadError::TooLarge {
                size: wasm.len(),
                limit: self.limits.max_component_bytes,
            });
        }
        match wasm.get(..8) {
            Some(head) if head == COMPONENT_MAGIC => {}
            Some(head) if head == MODULE_MAGIC => return Err(LoadError::CoreModule),
            _ => return Err(LoadError::NotWasm),
        }
        self.compiles.fetch_add(1, Ordering::Relaxed);
        let component =
            Component::new(&self.engine, wasm).map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        self.prepare(component)
    }

    /// Load an artefact this engine serialised earlier.
    pub fn load_artifact(&self, bytes: &[u8]) -> Result<Compiled, LoadError> {
        // SAFETY: artefacts come only from `Compiled::serialize` of an engine
        // with the same compatibility hash (the store keys them by it), and
        // wasmtime checks that hash again. Tenants can upload components
        // only; a precompiled artefact is never accepted from outside.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(&self.engine, bytes) }
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        self.prepare(component)
    }

    /// The contract version the component exports, checked against the
    /// versions this host runs.
    fn contract_of(&self, component: &Component) -> Result<&'static str, LoadError> {
        let ty = component.component_type();
        let found = ty
            .exports(&self.engine)
            .filter_map(|(name, _)| name.strip_prefix("baton:plugin/"))
            .filter_map(|rest| rest.split_once('@').map(|(_, version)| version.to_owned()))
            .next()
            .ok_or_else(|| {
                LoadError::NoWorld("it exports no interface of the baton:plugin package".into())
            })?;
        bindings::SUPPORTED
            .iter()
            .find(|v| **v == found)
            .copied()
            .ok_or(LoadError::UnsupportedContract { found })
    }

    fn prepare(&self, component: Component) -> Result<Compiled, LoadError> {
        let contract = self.contract_of(&component)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Imports(format!("{e:#}")))?;
        let mut reasons = Vec::new();
        let found = |kind: PluginKind, pre: KindPre| Compiled {
            kind,
            contract,
            component: component.clone(),
            pre,
        };
        macro_rules! try_world {
            ($kind:expr, $name:literal, $variant:ident, $pre:expr) => {
                match $pre {
                    Ok(p) => return Ok(found($kind, KindPre::$variant(p))),
                    Err(e) => reasons.push(format!("{}: {e:#}", $name)),
                }
            };
        }
        // A released contract's four worlds, through its own bindings.
        macro_rules! try_released {
            ($v:ident, $strategy:ident, $trigger:ident, $workflow:ident, $condition:ident) => {
                try_world!(
                    PluginKind::AssignmentStrategy,
                    "assignment-strategy",
                    $strategy,
                    $v::strategy::AssignmentStrategyPre::new(pre.clone())
                );
                try_world!(
                    PluginKind::HandoffTrigger,
                    "handoff-trigger",
                    $trigger,
                    $v::trigger::HandoffTriggerPre::new(pre.clone())
                );
                try_world!(
                    PluginKind::Workflow,
                    "workflow",
                    $workflow,
                    $v::workflow::WorkflowPre::new(pre.clone())
                );
                try_world!(
                    PluginKind::RuleCondition,
                    "rule-condition",
                    $condition,
                    $v::condition::RuleConditionPre::new(pre)
                );
            };
        }
        if contract == bindings::CURRENT {
            match strategy::AssignmentStrategyPre::new(pre.clone()) {
                Ok(p) => {
                    let decide = decide_index(&component, contract)
                        .map(DecideExport::new)
                        .ok_or_else(|| {
                            LoadError::NoWorld("the strategy exports no `decide`".into())
                        })?;
                    return Ok(found(
                        PluginKind::AssignmentStrategy,
                        KindPre::Strategy(p, decide),
                    ));
                }
                Err(e) => reasons.push(format!("assignment-strategy: {e:#}")),
            }
            try_world!(
                PluginKind::HandoffTrigger,
                "handoff-trigger",
                Trigger,
                trigger::HandoffTriggerPre::new(pre.clone())
            );
            try_world!(
                PluginKind::Workflow,
                "workflow",
                Workflow,
                workflow::WorkflowPre::new(pre.clone())
            );
            try_world!(
                PluginKind::RuleCondition,
                "rule-condition",
                Condition,
                condition::RuleConditionPre::new(pre)
            );
        } else if contract == "0.3.0" {
            try_released!(v0_3, Strategy03, Trigger03, Workflow03, Condition03);
        } else if contract == "0.2.0" {
            try_released!(v0_2, Strategy02, Trigger02, Workflow02, Condition02);
        } else {
            try_released!(v0_1, Strategy01, Trigger01, Workflow01, Condition01);
        }
        Err(LoadError::NoWorld(reasons.join("; ")))
    }

    /// Run `f` on a fresh store under every limit. A fresh store per call
    /// means nothing leaks between calls or tenants.
    fn run<R>(
        &self,
        ctx: CallContext,
        f: impl FnOnce(&mut Store<PluginState>) -> wasmtime::Result<R>,
    ) -> Result<Answer<R>, CallError> {
        let mut store = Store::new(
            &self.engine,
            PluginState::new(ctx, &self.limits, self.logs.clone()),
        );
        store.limiter(|state| &mut state.limits);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| CallError::Unavailable(e.to_string()))?;
        let ticks = (self.limits.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        let result = f(&mut store);
        let fuel_used = self
            .limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0));
        let dropped = store.data().dropped_logs();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "plugin log lines over the per-call limit were dropped"
            );
        }
        match result {
            Ok(value) => Ok(Answer {
                value,
                kv_writes: store.data_mut().take_writes(),
                fuel_used,
            }),
            Err(error) => Err(self.classify(error, store.data().stderr())),
        }
    }

    fn classify(&self, error: wasmtime::Error, stderr: String) -> CallError {
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => {
                return CallError::OutOfFuel {
                    fuel: self.limits.fuel,
                };
            }
            Some(Trap::Interrupt) => {
                return CallError::Timeout {
                    ms: self.limits.timeout.as_millis(),
                };
            }
            _ => {}
        }
        let text = format!("{error:#}");
        if text.contains("forcing trap when growing memory") {
            return CallError::MemoryCap {
                bytes: self.limits.memory_bytes,
            };
        }
        if stderr.is_empty() {
            CallError::Trap(text)
        } else {
            CallError::Trap(format!("{text}; stderr: {stderr}"))
        }
    }

    /// Ask a plugin of any kind for its manifest.
    pub fn describe(
        &self,
        compiled: &Compiled,
        ctx: CallContext,
    ) -> Result<types::Manifest, CallError> {
        // A released contract's manifest, in the current types.
        macro_rules! described {
            ($pre:expr, $store:ident) => {
                up($pre
                    .instantiate(&mut *$store)?
                    .baton_plugin_meta()
                    .call_describe($store)?)
            };
        }
        let answer = self.run(ctx, |store| match &compiled.pre {
            KindPre::Strategy(pre, _) => pre
                .instantiate(&mut *store)?
                .baton_plugin_meta()
                .call_describe(store),
            KindPre::Trigger(pre) => pre
                .instantiate(&mut *store)?
                .baton_plugin_meta()
                .call_describe(store),
            KindPre::Workflow(pre) => pre
                .instantiate(&mut *store)?
                .baton_plugin_meta()
                .call_describe(store),
            KindPre::Condition(pre) => pre
                .instantiate(&mut *store)?
                .baton_plugin_meta()
                .call_describe(store),
            KindPre::Strategy01(pre) => described!(pre, store),
            KindPre::Trigger01(pre) => described!(pre, store),
            KindPre::Workflow01(pre) => described!(pre, store),
            KindPre::Condition01(pre) => described!(pre, store),
            KindPre::Strategy02(pre) => described!(pre, store),
            KindPre::Strategy03(pre) => described!(pre, store),
            KindPre::Trigger02(pre) => described!(pre, store),
            KindPre::Trigger03(pre) => described!(pre, store),
            KindPre::Workflow02(pre) => described!(pre, store),
            KindPre::Workflow03(pre) => described!(pre, store),
            KindPre::Condition02(pre) => described!(pre, store),
            KindPre::Condition03(pre) => described!(pre, store),
        })?;
        Ok(answer.value)
    }

    pub fn decide(
        &self,
        compiled: &Compiled,
        ctx: CallContext,
        request: &AssignmentRequest,
    ) -> Result<Answer<types::AssignmentDecision>, CallError> {
        // A released contract's strategy: the request converted down, the
        // answer up.
        macro_rules! released {
            ($pre:expr, $v:ident) => {
                released!($pre, $v, convert(request)?)
            };
            ($pre:expr, $v:ident, $request:expr) => {{
                let request: $v::types::AssignmentRequest = $request;
                self.run(ctx, |store| {
                    up($pre
                        .instantiate(&mut *store)?
                        .baton_plugin_strategy()
                        .call_decide(store, &request)?)
                })?
            }};
        }
        let answer = match &compiled.pre {
            KindPre::Strategy(pre, decide) => self.run(ctx, |store| {
                let instance = pre.instance_pre().instantiate(&mut *store)?;
                call_decide(store, &instance, decide, request)
            })?,
            KindPre::Strategy01(pre) => released!(pre, v0_1),
            KindPre::Strategy02(pre) => released!(pre, v0_2),
            // 0.3.0's candidates are laid out unlike the JSON form.
            KindPre::Strategy03(pre) => released!(pre, v0_3, legacy::request_v0_3(request)?),
            _ => return Err(CallError::Unavailable("not an assignment strategy".into())),
        };
        flatten(answer)
    }

    pub fn evaluate(
        &self,
        compiled: &Compiled,
        ctx: CallContext,
        conversation: &types::Conversation,
        message: &types::Message,
    ) -> Result<Answer<types::HandoffDecision>, CallError> {
        macro_rules! released {
            ($pre:expr, $v:ident) => {{
                let conversation: $v::types::Conversation = convert(conversation)?;
                let message: $v::types::Message = convert(message)?;
                self.run(ctx, |store| {
                    up($pre
                        .instantiate(&mut *store)?
                        .baton_plugin_trigger()
                        .call_evaluate(store, &conversation, &message)?)
                })?
            }};
        }
        let answer = match &compiled.pre {
            KindPre::Trigger(pre) => self.run(ctx, |store| {
                pre.instantiate(&mut *store)?
                    .baton_plugin_trigger()
                    .call_evaluate(store, conversation, message)
            })?,
            KindPre::Trigger01(pre) => released!(pre, v0_1),
            KindPre::Trigger02(pre) => released!(pre, v0_2),
            KindPre::Trigger03(pre) => released!(pre, v0_3),
            _ => return Err(CallError::Unavailable("not a handoff trigger".into())),
        };
        flatten(answer)
    }

    pub fn on_event(
        &self,
        compiled: &Compiled,
        ctx: CallContext,
        event: &types::Event,
    ) -> Result<Answer<Vec<types::Action>>, CallError> {
        macro_rules! released {
            ($pre:expr, $v:ident) => {{
                let event: $v::types::Event = convert(event)?;
                self.run(ctx, |store| {
                    up($pre
                        .instantiate(&mut *store)?
                        .baton_plugin_automation()
                        .call_on_event(store, &event)?)
                })?
            }};
        }
        let answer = match &compiled.pre {
            KindPre::Workflow(pre) => self.run(ctx, |store| {
                pre.instantiate(&mut *store)?
                    .baton_plugin_automation()
                    .call_on_event(store, event)
            })?,
            KindPre::Workflow01(pre) => released!(pre, v0_1),
            KindPre::Workflow02(pre) => released!(pre, v0_2),
            KindPre::Workflow03(pre) => released!(pre, v0_3),
            _ => return Err(CallError::Unavailable("not a workflow".into())),
        };
        flatten(answer)
    }
}

impl PluginRuntime {
    /// Ask a rule condition whether it holds.
    pub fn matches(
        &self,
        compiled: &Compiled,
        ctx: CallContext,
        conversation: &types::Conversation,
    ) -> Result<Answer<bool>, CallError> {
        macro_rules! released {
            ($pre:expr, $v:ident) => {{
                let conversation: $v::types::Conversation = convert(conversation)?;
                self.run(ctx, |store| {
                    up($pre
                        .instantiate(&mut *store)?
                        .baton_plugin_predicate()
                        .call_matches(store, &conversation)?)
                })?
            }};
        }
        let answer = match &compiled.pre {
            KindPre::Condition(pre) => self.run(ctx, |store| {
                pre.instantiate(&mut *store)?
                    .baton_plugin_predicate()
                    .call_matches(store, conversation)
            })?,
            KindPre::Condition01(pre) => released!(pre, v0_1),
            KindPre::Condition02(pre) => released!(pre, v0_2),
            KindPre::Condition03(pre) => released!(pre, v0_3),
            _ => return Err(CallError::Unavailable("not a rule condition".into())),
        };
        flatten(answer)
    }
}

/// An instantiated strategy kept alive between calls. Production routing
/// uses a fresh store per call; this exists to measure what a warm instance
/// would save, and for local test harnesses.
pub struct WarmStrategy {
    store: Store<PluginState>,
    instance: wasmtime::component::Instance,
    decide: DecideExport,
    fuel: u64,
    ticks: u64,
}

impl WarmStrategy {
    /// Decide again on the same instance, with a fresh budget.
    pub fn decide(
        &mut self,
        request: &AssignmentRequest,
    ) -> Result<types::AssignmentDecision, CallError> {
        self.store
            .set_fuel(self.fuel)
            .map_err(|e| CallError::Unavailable(e.to_string()))?;
        self.store.set_epoch_deadline(self.ticks);
        match call_decide(&mut self.store, &self.instance, &self.decide, request) {
            Ok(Ok(decision)) => Ok(decision),
            Ok(Err(error)) => Err(CallError::Plugin(format!("{error:?}"))),
            Err(error) => Err(CallError::Trap(format!("{error:#}"))),
        }
    }
}

impl PluginRuntime {
    /// Instantiate a strategy once for repeated calls (see [`WarmStrategy`]).
    pub fn warm_strategy(
        &self,
        compiled: &Compiled,
        ctx: CallContext,
    ) -> Result<WarmStrategy, CallError> {
        let KindPre::Strategy(pre, decide) = &compiled.pre else {
            return Err(CallError::Unavailable("not an assignment strategy".into()));
        };
        let mut store = Store::new(
            &self.engine,
            PluginState::new(ctx, &self.limits, self.logs.clone()),
        );
        store.limiter(|state| &mut state.limits);
        let ticks =
            u64::try_from((self.limits.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1))
                .unwrap_or(u64::MAX);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| CallError::Unavailable(e.to_string()))?;
        store.set_epoch_deadline(ticks);
        let instance = pre
            .instance_pre()
            .instantiate(&mut store)
            .map_err(|e| CallError::Trap(format!("{e:#}")))?;
        Ok(WarmStrategy {
            store,
            instance,
            decide: DecideExport::new(decide.index),
            fuel: self.limits.fuel,
            ticks,
        })
    }
}

impl super::cache::Weighed for Compiled {
    /// The compiled code's image: what a cached component keeps in memory.
    fn weight(&self) -> usize {
        let code = self.component.image_range();
        code.end.addr() - code.start.addr()
    }
}

impl Compiled {
    /// The compiled form, for the artefact cache.
    pub fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        self.component.serialize()
    }
}

/// The `decide` export of a strategy built against `contract`.
fn decide_index(component: &Component, contract: &str) -> Option<ComponentExportIndex> {
    let interface =
        component.get_export_index(None, format!("baton:plugin/strategy@{contract}"))?;
    component.get_export_index(Some(&interface), "decide")
}

type Decide<'a> =
    TypedFunc<(lower::Request<'a>,), (Result<types::AssignmentDecision, types::PluginError>,)>;

/// A current-contract strategy's `decide` export, and whether its signature
/// has been checked against [`Decide`] yet. Every instance of a component
/// has the component's types, so the check gives the same answer for all of
/// them: it runs on the first call only (it compared every field name of the
/// request and answer, about a twelfth of a warm call).
struct DecideExport {
    index: ComponentExportIndex,
    checked: AtomicBool,
}

impl DecideExport {
    fn new(index: ComponentExportIndex) -> Self {
        Self {
            index,
            checked: AtomicBool::new(false),
        }
    }
}

/// Call a current-contract strategy's `decide`, passing the candidates
/// through [`lower`] rather than the generated bindings. The signature is
/// checked against the generated types on the component's first call, so
/// nothing here is trusted blindly.
#[allow(unsafe_code)]
fn call_decide(
    store: &mut Store<PluginState>,
    instance: &wasmtime::component::Instance,
    decide: &DecideExport,
    request: &AssignmentRequest,
) -> wasmtime::Result<Result<types::AssignmentDecision, types::PluginError>> {
    let func = instance
        .get_func(&mut *store, decide.index)
        .ok_or_else(|| wasmtime::Error::msg("the strategy has no `decide` export"))?;
    let typed: Decide<'_> = if decide.checked.load(Ordering::Acquire) {
        // SAFETY: `func` is the `decide` export of the component whose
        // `decide` passed `Func::typed` against `Decide` on an earlier call;
        // an instance has its component's types, and the lifetime in
        // `Request` takes no part in the check.
        unsafe { TypedFunc::new_unchecked(func) }
    } else {
        let typed = func.typed(&*store)?;
        decide.checked.store(true, Ordering::Release);
        typed
    };
    let (answer,) = typed.call(&mut *store, (lower::Request(request),))?;
    Ok(answer)
}

/// An older contract's answer in the current contract's types. A failed
/// conversion is a trap-level error: the call's answer is unusable.
fn up<A: serde::Serialize, B: serde::de::DeserializeOwned>(value: A) -> wasmtime::Result<B> {
    convert(&value).map_err(|e| wasmtime::Error::msg(e.to_string()))
}

/// Turn a plugin's own `result` into a call result.
fn flatten<T>(answer: Answer<Result<T, types::PluginError>>) -> Result<Answer<T>, CallError> {
    let Answer {
        value,
        kv_writes,
        fuel_used,
    } = answer;
    match value {
        Ok(value) => Ok(Answer {
            value,
            kv_writes,
            fuel_used,
        }),
        Err(error) => Err(CallError::Plugin(match error {
            types::PluginError::InvalidConfig(m) => format!("invalid config: {m}"),
            types::PluginError::InvalidInput(m) => format!("invalid input: {m}"),
            types::PluginError::Other(m) => m,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::defaults::BUILTINS;

    /// A small deterministic generator, so a failure names its seed.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % below
        }

        fn maybe_ms(&mut self) -> Option<i64> {
            (self.next(4) != 0).then(|| 1_700_000_000_000 + self.next(100_000) as i64)
        }
    }

    fn request(seed: u64) -> AssignmentRequest {
        let mut rng = Lcg(seed);
        let channel = [
            types::Channel::Chat,
            types::Channel::Email,
            types::Channel::Call,
            types::Channel::Form,
        ][rng.next(4) as usize];
        let candidates = (0..1 + rng.next(60))
            .map(|_| {
                let mut load = || types::ChannelLoad {
                    open: rng.next(4) as u32,
                    capacity: rng.next(5) as u32,
                };
                let loads = types::ChannelLoads {
                    chat: load(),
                    email: load(),
                    call: load(),
                    form: load(),
                };
                let id = format!("agt_{:032x}", rng.next(1 << 40));
                let agent = crate::plugin::request::AgentState {
                    presence: [
                        types::Presence::Available,
                        types::Presence::Available,
                        types::Presence::Away,
                        types::Presence::Offline,
                    ][rng.next(4) as usize],
                    load: loads,
                    available_since_ms: rng.maybe_ms(),
                    idle_since_ms: rng.maybe_ms(),
                    last_assigned_at_ms: rng.maybe_ms(),
                    handled: rng.next(1000) as u32,
                };
                // Up to three of five teams, some in none.
                let teams = (0..rng.next(4))
                    .map(|_| format!("team_{}", rng.next(5)))
                    .collect();
                crate::plugin::Candidate { id, teams, agent }
            })
            .collect();
        AssignmentRequest::new(
            types::Conversation {
                id: "cnv_00000000000000000000000000000001".into(),
                channel,
                subject: Some("Where is my order?".into()),
                status: types::ConversationStatus::Open,
                contact: types::Contact {
                    name: Some("Kim".into()),
                    email: None,
                },
                attributes_json: "{}".into(),
                assignee: None,
                team: None,
                created_at_ms: 1_700_000_200_000,
                recent_messages: Vec::new(),
            },
            candidates,
        )
    }

    /// The request as the generated bindings would pass it: the reference
    /// the hand-written lowering is compared with.
    fn wire(request: &AssignmentRequest) -> types::AssignmentRequest {
        let candidates = request.candidates();
        let mut ids = String::new();
        let mut id_ends = Vec::new();
        for candidate in candidates {
            ids.push_str(&candidate.id);
            id_ends.push(ids.len() as u32);
        }
        let mut team_ids = String::new();
        let mut team_id_ends = Vec::new();
        for team in request.teams() {
            team_ids.push_str(team);
            team_id_ends.push(team_ids.len() as u32);
        }
        let mut memberships = Vec::new();
        types::AssignmentRequest {
            conversation: request.conversation.clone(),
            candidates: candidates
                .iter()
                .map(|c| {
                    for team in &c.teams {
                        let at = request.teams().iter().position(|t| t == team);
                        memberships.push(at.expect("listed") as u32);
                    }
                    types::Candidate {
                        presence: c.agent.presence as u8,
                        load: c.agent.load,
                        available_since_ms: c.agent.available_since_ms.unwrap_or(i64::MIN),
                        idle_since_ms: c.agent.idle_since_ms.unwrap_or(i64::MIN),
                        last_assigned_at_ms: c.agent.last_assigned_at_ms.unwrap_or(i64::MIN),
                        handled: c.agent.handled,
                        memberships_end: memberships.len() as u32,
                    }
                })
                .collect(),
            ids,
            id_ends,
            team_ids,
            team_id_ends,
            memberships,
        }
    }

    fn context() -> CallContext {
        CallContext {
            tenant: "ten_test".into(),
            plugin: "test@0.1.0".into(),
            config: "{}".into(),
            now_ms: 1_700_000_200_000,
            kv: Default::default(),
        }
    }

    #[test]
    fn strategies_decide_the_same_through_the_hand_written_lowering() {
        let runtime = PluginRuntime::new(SandboxLimits::default()).expect("engine");
        let mut strategies = 0;
        for (name, wasm) in BUILTINS {
            let compiled = runtime.compile(wasm).expect("compiles");
            let KindPre::Strategy(pre, _) = &compiled.pre else {
                continue;
            };
            strategies += 1;
            for seed in 0..40 {
                let request = request(seed);
                let fast = runtime
                    .decide(&compiled, context(), &request)
                    .map(|a| a.value);
                let generated = runtime
                    .run(context(), |store| {
                        pre.instantiate(&mut *store)?
                            .baton_plugin_strategy()
                            .call_decide(store, &wire(&request))
                    })
                    .expect("the generated call")
                    .value
                    .map_err(|e| format!("{e:?}"));
                let fast = fast.map_err(|e| e.to_string());
                assert_eq!(
                    serde_json::to_value(fast.as_ref().ok()).expect("json"),
                    serde_json::to_value(generated.as_ref().ok()).expect("json"),
                    "{name}, seed {seed}: {fast:?} against {generated:?}"
                );
            }
        }
        assert_eq!(strategies, 6, "every built-in strategy was compared");
    }

    #[tokio::test]
    async fn a_call_held_up_on_the_hosts_side_is_given_up_as_a_timeout() {
        let limits = SandboxLimits {
            timeout: Duration::from_millis(20),
            ..SandboxLimits::default()
        };
        let runtime = Arc::new(PluginRuntime::new(limits).expect("engine"));
        // Host-side work the guest's limits cannot interrupt.
        let held = runtime
            .call_bounded(|_| {
                std::thread::sleep(Duration::from_secs(2));
                Ok(())
            })
            .await;
        assert!(
            matches!(held, Err(CallError::Timeout { ms: 20 })),
            "{:?}",
            held.err()
        );
        let quick = runtime.call_bounded(|_| Ok(7)).await;
        assert_eq!(quick.ok(), Some(7));
    }
}
