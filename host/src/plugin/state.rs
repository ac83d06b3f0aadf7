//! What one plugin call's `Store` holds, and the host capabilities it grants.

use std::collections::BTreeMap;
use std::time::Duration;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::host::{Host, KvError, LogLevel};
use super::limits::SandboxLimits;

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
    /// Writes made during the call; applied only if the call succeeds.
    writes: BTreeMap<String, Option<Vec<u8>>>,
    log_budget: u32,
    log_line_bytes: usize,
    dropped_logs: u32,
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

impl PluginState {
    pub(super) fn new(ctx: CallContext, limits: &SandboxLimits) -> Self {
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
            writes: BTreeMap::new(),
            log_budget: limits.log_lines_per_call,
            log_line_bytes: limits.log_line_bytes,
            dropped_logs: 0,
            stderr,
        }
    }

    /// The key-value writes of the call, to apply with its decision.
    pub(super) fn take_writes(&mut self) -> Vec<(String, Option<Vec<u8>>)> {
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

    fn kv_usage_with(&self, key: &str, value: Option<&[u8]>) -> usize {
        let mut keys: BTreeMap<&str, usize> = self
            .ctx
            .kv
            .iter()
            .map(|(k, v)| (k.as_str(), k.len() + v.len()))
            .collect();
        for (k, v) in &self.writes {
            match v {
                Some(v) => keys.insert(k.as_str(), k.len() + v.len()),
                None => keys.remove(k.as_str()),
            };
        }
        match value {
            Some(v) => keys.insert(key, key.len() + v.len()),
            None => keys.remove(key),
        };
        keys.values().sum()
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

impl super::bindings::types::Host for PluginState {}

impl Host for PluginState {
    fn log(&mut self, level: LogLevel, message: String) {
        if self.log_budget == 0 {
            self.dropped_logs += 1;
            return;
        }
        self.log_budget -= 1;
        let mut message = message;
        if message.len() > self.log_line_bytes {
            let mut cut = self.log_line_bytes;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let (tenant, plugin) = (&self.ctx.tenant, &self.ctx.plugin);
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

    fn now_ms(&mut self) -> i64 {
        self.ctx.now_ms
    }

    fn config(&mut self) -> String {
        self.ctx.config.clone()
    }

    fn kv_get(&mut self, key: String) -> Option<Vec<u8>> {
        self.kv_value(&key).cloned()
    }

    fn kv_set(&mut self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        if key.len() > self.kv_max_key {
            return Err(KvError::KeyTooLong);
        }
        if self.kv_usage_with(&key, Some(&value)) > self.kv_quota {
            return Err(KvError::QuotaExceeded);
        }
        self.writes.insert(key, Some(value));
        Ok(())
    }

    fn kv_delete(&mut self, key: String) {
        self.writes.insert(key, None);
    }
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
        PluginState::new(ctx, &limits)
    }

    #[test]
    fn kv_counts_existing_state_against_the_quota() {
        let mut s = state(40);
        // "old" (3 + 10) is already stored: 13 + 4 + 20 = 37 fits.
        assert!(s.kv_set("next".into(), vec![1; 20]).is_ok());
        assert!(matches!(
            s.kv_set("more".into(), vec![1; 10]),
            Err(KvError::QuotaExceeded)
        ));
        // Deleting frees room; overwriting counts only the new value.
        s.kv_delete("old".into());
        assert!(s.kv_set("more".into(), vec![1; 10]).is_ok());
        assert!(s.kv_set("next".into(), vec![1; 2]).is_ok());
        assert_eq!(s.kv_get("old".into()), None);
        assert_eq!(s.kv_get("next".into()), Some(vec![1; 2]));
    }

    #[test]
    fn kv_rejects_long_keys_and_hands_back_only_the_writes() {
        let mut s = state(1 << 10);
        assert!(matches!(
            s.kv_set("much-too-long".into(), vec![]),
            Err(KvError::KeyTooLong)
        ));
        s.kv_set("a".into(), b"1".to_vec()).expect("fits");
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
        for i in 0..30 {
            s.log(LogLevel::Info, format!("line {i}"));
        }
        assert_eq!(s.dropped_logs, 10);
    }
}
