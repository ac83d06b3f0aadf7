//! What one plugin call's `Store` holds, and the host capabilities it grants.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::StoreLimits;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::limits::SandboxLimits;
use super::logs::{LogLine, PluginLogs};

/// The inputs of one call that the plugin may read through host imports.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Tenant id, for log lines.
    pub tenant: String,
    /// `name@version`, for log lines.
    pub plugin: String,
    /// The validated config, as JSON.
    pub config: String,
    /// The event's time; plugins have no other clock.
    pub now_ms: i64,
    /// The plugin's key-value state for this tenant when the call began.
    pub kv: BTreeMap<String, Vec<u8>>,
}

/// Store data for one call.
pub(super) struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    ctx: CallContext,
    kv_quota: usize,
    kv_max_key: usize,
    /// Bytes the plugin's state takes with `writes` applied: keys and values.
    kv_usage: usize,
    /// Writes made during the call; applied only if the call succeeds.
    writes: BTreeMap<String, Option<Vec<u8>>>,
    log_budget: u32,
    log_line_bytes: usize,
    dropped_logs: u32,
    /// Where the tenant reads what its plugins logged.
    logs: Arc<PluginLogs>,
    stderr: MemoryOutputPipe,
}

/// The guest's view of WASI clocks: frozen at the event's time, so that even
/// code using `std::time` replays the same.
struct EventClock(i64);

impl HostWallClock for EventClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0).unwrap_or(0))
    }
}

impl HostMonotonicClock for EventClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        u64::try_from(self.0).unwrap_or(0).saturating_mul(1_000_000)
    }
}

/// Bytes a plugin's stored state takes: keys and values.
fn stored_size(kv: &BTreeMap<String, Vec<u8>>) -> usize {
    kv.iter().map(|(k, v)| k.len() + v.len()).sum()
}

impl PluginState {
    pub(super) fn new(ctx: CallContext, limits: &SandboxLimits, logs: Arc<PluginLogs>) -> Self {
        let kv_usage = stored_size(&ctx.kv);
        let stderr = MemoryOutputPipe::new(limits.stderr_bytes);
        // Rust's std links WASI; the context grants nothing: no arguments,
        // environment, preopened directories or network, a clock frozen at
        // the event, and randomness that is the same on every run.
        let seed = ctx.now_ms.to_le_bytes().to_vec();
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(EventClock(ctx.now_ms))
            .monotonic_clock(EventClock(ctx.now_ms))
            .secure_random(wasmtime_wasi::Deterministic::new(seed.clone()))
            .insecure_random(wasmtime_wasi::Deterministic::new(seed))
            .insecure_random_seed(0)
            .max_random_size(4096)
            .build();
        let store_limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .table_elements(100_000)
            .instances(64)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: store_limits,
            ctx,
            kv_quota: limits.kv_quota_bytes,
            kv_max_key: limits.kv_max_key_bytes,
            kv_usage,
            writes: BTreeMap::new(),
            log_budget: limits.log_lines_per_call,
            log_line_bytes: limits.log_line_bytes,
            dropped_logs: 0,
            logs,
            stderr,
        }
    }

    /// The key-value writes of the call, to apply with its decision.
    pub(super) fn take_writes(&mut self) -> Vec<(String, Option<Vec<u8>>)> {
        // What is left is the state as the call began.
        self.kv_usage = stored_size(&self.ctx.kv);
        std::mem::take(&mut self.writes).into_iter().collect()
    }

    /// Log lines dropped because the call passed its line budget.
    pub(super) fn dropped_logs(&self) -> u32 {
        self.dropped_logs
    }

    /// What the guest wrote to stderr (a panic message, typically).
    pub(super) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_owned()
    }

    fn kv_value(&self, key: &str) -> Option<&Vec<u8>> {
        match self.writes.get(key) {
            Some(written) => written.as_ref(),
            None => self.ctx.kv.get(key),
        }
    }

    /// What `key` takes now: its bytes and its value's, or nothing.
    fn kv_entry_size(&self, key: &str) -> usize {
        self.kv_value(key).map_or(0, |v| key.len() + v.len())
    }

    /// What the plugin's state would take with `key` set to a value of
    /// `value_len` bytes (or deleted): the running total, corrected for
    /// that one key, rather than a sum over every key on every write.
    fn kv_usage_with(&self, key: &str, value_len: Option<usize>) -> usize {
        self.kv_usage - self.kv_entry_size(key) + value_len.map_or(0, |len| key.len() + len)
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// How loud a plugin's log line is, whichever contract version sent it.
#[derive(Debug, Clone, Copy)]
pub(super) enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Why the key-value store refused a write, whichever contract version asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KvRefusal {
    QuotaExceeded,
    KeyTooLong,
}

/// The host capabilities behind `baton:plugin/host` (see `imports`, which
/// reads the arguments in the guest's memory and calls these).
impl PluginState {
    /// Take one line of the call's log budget; false when it is spent, and
    /// the line is then counted as dropped.
    pub(super) fn take_log_slot(&mut self) -> bool {
        if self.log_budget == 0 {
            self.dropped_logs += 1;
            return false;
        }
        self.log_budget -= 1;
        true
    }

    /// The part of a line that is kept: at most the line limit, cut on a
    /// character boundary.
    pub(super) fn cut_log_line<'a>(&self, message: &'a str) -> &'a str {
        if message.len() <= self.log_line_bytes {
            return message;
        }
        let mut cut = self.log_line_bytes;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        &message[..cut]
    }

    pub(super) fn emit_log(&self, level: LogLevel, message: &str) {
        let (tenant, plugin) = (&self.ctx.tenant, &self.ctx.plugin);
        self.logs.push(
            tenant,
            plugin,
            LogLine {
                at_ms: self.ctx.now_ms,
                level: level.as_str(),
                message: message.to_owned(),
            },
        );
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "baton::plugin", %tenant, %plugin, "{message}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "baton::plugin", %tenant, %plugin, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(target: "baton::plugin", %tenant, %plugin, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: "baton::plugin", %tenant, %plugin, "{message}")
            }
            LogLevel::Error => {
                tracing::error!(target: "baton::plugin", %tenant, %plugin, "{message}")
            }
        }
    }

    pub(super) fn now_ms(&self) -> i64 {
        self.ctx.now_ms
    }

    pub(super) fn config(&self) -> &str {
        &self.ctx.config
    }

    pub(super) fn kv_key_fits(&self, key: &str) -> bool {
        key.len() <= self.kv_max_key
    }

    pub(super) fn kv_get(&self, key: &str) -> Option<&Vec<u8>> {
        if !self.kv_key_fits(key) {
            return None;
        }
        self.kv_value(key)
    }

    /// Whether a write of `value_len` bytes under `key` would be accepted;
    /// asked before the value is copied out of the guest.
    pub(super) fn kv_admit(&self, key: &str, value_len: usize) -> Result<(), KvRefusal> {
        if !self.kv_key_fits(key) {
            return Err(KvRefusal::KeyTooLong);
        }
        if self.kv_usage_with(key, Some(value_len)) > self.kv_quota {
            return Err(KvRefusal::QuotaExceeded);
        }
        Ok(())
    }

    /// Record a write that [`Self::kv_admit`] accepted.
    pub(super) fn kv_set(&mut self, key: String, value: Vec<u8>) {
        self.kv_usage = self.kv_usage_with(&key, Some(value.len()));
        self.writes.insert(key, Some(value));
    }

    pub(super) fn kv_delete(&mut self, key: String) {
        self.kv_usage = self.kv_usage_with(&key, None);
        self.writes.insert(key, None);
    }
}

/// The guest's monotonic clock, in place of WASI's: frozen at the event's
/// time, so a sleep has nothing to wait for. A subscription is ready at
/// once, whatever its length; a plugin that waits for the clock to move
/// loops until its fuel runs out. WASI's own clock would park the calling
/// thread on the host's timer, outside the reach of fuel and epochs.
impl wasmtime_wasi::p2::bindings::clocks::monotonic_clock::Host for PluginState {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(HostMonotonicClock::now(&EventClock(self.ctx.now_ms)))
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(HostMonotonicClock::resolution(&EventClock(self.ctx.now_ms)))
    }

    fn subscribe_instant(&mut self, _when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.elapsed()
    }

    fn subscribe_duration(&mut self, _duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.elapsed()
    }
}

impl PluginState {
    fn elapsed(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        let elapsed = self.table.push(Elapsed)?;
        wasmtime_wasi::p2::subscribe(&mut self.table, elapsed)
    }
}

/// A clock subscription under the frozen clock: always ready.
struct Elapsed;

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for Elapsed {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(quota: usize) -> PluginState {
        let ctx = CallContext {
            tenant: "ten".into(),
            plugin: "p@1.0.0".into(),
            config: "{}".into(),
            now_ms: 1_000,
            kv: BTreeMap::from([("old".to_owned(), vec![0; 10])]),
        };
        let limits = SandboxLimits {
            kv_quota_bytes: quota,
            kv_max_key_bytes: 8,
            ..SandboxLimits::default()
        };
        PluginState::new(ctx, &limits, Arc::default())
    }

    /// What the `kv-set` import does: admit, then write.
    fn set(s: &mut PluginState, key: &str, value: Vec<u8>) -> Result<(), KvRefusal> {
        s.kv_admit(key, value.len())?;
        s.kv_set(key.to_owned(), value);
        Ok(())
    }

    #[test]
    fn kv_counts_existing_state_against_the_quota() {
        let mut s = state(40);
        // "old" (3 + 10) is already stored: 13 + 4 + 20 = 37 fits.
        assert_eq!(set(&mut s, "next", vec![1; 20]), Ok(()));
        assert_eq!(
            set(&mut s, "more", vec![1; 10]),
            Err(KvRefusal::QuotaExceeded)
        );
        // Deleting frees room; overwriting counts only the new value.
        s.kv_delete("old".into());
        assert_eq!(set(&mut s, "more", vec![1; 10]), Ok(()));
        assert_eq!(set(&mut s, "next", vec![1; 2]), Ok(()));
        assert_eq!(s.kv_get("old"), None);
        assert_eq!(s.kv_get("next"), Some(&vec![1; 2]));
        // Deleting what is gone frees nothing more: 14 + 6 are stored, so
        // 20 more bytes fill the quota exactly and one more is refused.
        s.kv_delete("old".into());
        s.kv_delete("none".into());
        assert_eq!(set(&mut s, "x", vec![1; 19]), Ok(()));
        assert_eq!(set(&mut s, "y", Vec::new()), Err(KvRefusal::QuotaExceeded));
    }

    #[test]
    fn kv_rejects_long_keys_and_hands_back_only_the_writes() {
        let mut s = state(1 << 10);
        assert_eq!(s.kv_admit("much-too-long", 0), Err(KvRefusal::KeyTooLong));
        // A key no write could have stored reads as absent, and deleting it
        // is not a write.
        assert!(!s.kv_key_fits("much-too-long"));
        assert_eq!(s.kv_get("much-too-long"), None);
        set(&mut s, "a", b"1".to_vec()).expect("fits");
        s.kv_delete("old".into());
        assert_eq!(
            s.take_writes(),
            vec![
                ("a".to_owned(), Some(b"1".to_vec())),
                ("old".to_owned(), None)
            ]
        );
    }

    #[test]
    fn the_clock_is_the_events_and_logs_are_capped() {
        let mut s = state(1 << 10);
        assert_eq!(s.now_ms(), 1_000);
        let kept = (0..30).filter(|_| s.take_log_slot()).count();
        assert_eq!(kept, 20);
        assert_eq!(s.dropped_logs, 10);
    }

    #[test]
    fn log_lines_are_cut_on_a_character_boundary() {
        let s = state(1 << 10);
        let long = "é".repeat(1000);
        let kept = s.cut_log_line(&long);
        assert!(kept.len() <= SandboxLimits::default().log_line_bytes);
        assert!(kept.len() >= SandboxLimits::default().log_line_bytes - 1);
        assert_eq!(s.cut_log_line("short"), "short");
    }
}
