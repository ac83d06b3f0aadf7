//! The one `wasmtime::Engine` of the process, and the linker every plugin
//! is instantiated against.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::imports;
use super::limits::SandboxLimits;
use super::state::PluginState;

/// How often the epoch advances: the granularity of the wall-clock backstop.
pub(super) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Build the engine: fuel for the deterministic budget, epochs for the
/// wall-clock backstop, and a pooling allocator so instantiation is cheap.
pub(super) fn build_engine(limits: &SandboxLimits) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(512 << 10);
    let mut pool = PoolingAllocationConfig::new();
    // Calls run one per blocking worker; the pool only needs room for the
    // calls in flight plus uploads being described.
    pool.total_component_instances(128);
    pool.total_core_instances(1024);
    pool.total_memories(256);
    pool.total_tables(512);
    pool.max_memory_size(limits.memory_bytes);
    pool.max_memories_per_component(8);
    pool.max_core_instances_per_component(32);
    pool.max_tables_per_component(16);
    // Reset a reused slot's memory with memset instead of returning it to
    // the kernel: a plugin touches well under this much, and page faults on
    // the next instantiation cost more than the memset.
    pool.linear_memory_keep_resident(256 << 10);
    pool.table_keep_resident(64 << 10);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config)?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// Advance the engine's epoch until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("baton-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}

/// A stable text form of the engine's compatibility hash: compiled
/// artefacts are only ever reused by an engine with the same hash.
pub(super) fn engine_hash(engine: &Engine) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!(
        "wasmtime-{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        hasher.finish()
    )
}

/// The linker: Baton's host capabilities plus WASI, which Rust's std
/// imports, configured per call to grant nothing (see `PluginState`).
pub(super) fn build_linker(engine: &Engine) -> wasmtime::Result<Linker<PluginState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    // WASI's monotonic clock sleeps on the host's timer, where neither fuel
    // nor the epoch deadline reaches; the event's frozen clock replaces it.
    linker.allow_shadowing(true);
    wasmtime_wasi::p2::bindings::clocks::monotonic_clock::add_to_linker::<
        PluginState,
        HasSelf<PluginState>,
    >(&mut linker, |state| state)?;
    linker.allow_shadowing(false);
    // Every contract version's `host` interface, the released ones too.
    imports::add_to_linker(&mut linker)?;
    Ok(linker)
}
