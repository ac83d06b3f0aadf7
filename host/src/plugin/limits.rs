//! Sandbox limits. Every cap guards the host against guest-controlled
//! resource exhaustion, is configurable, and is named in the error when hit.

use std::time::Duration;

/// The limits every plugin call runs under.
#[derive(Debug, Clone)]
pub struct SandboxLimits {
    /// Deterministic CPU budget per call, in fuel units (about one per Wasm
    /// instruction). The same input always costs the same fuel.
    pub fuel: u64,
    /// Wall-clock backstop per call, enforced by epoch interruption.
    pub timeout: Duration,
    /// Largest linear memory a plugin may grow to, in bytes.
    pub memory_bytes: usize,
    /// Largest component accepted at upload, in bytes.
    pub max_component_bytes: usize,
    /// Longest a single upload may spend compiling.
    pub compile_timeout: Duration,
    /// Most key-value bytes (keys plus values) a plugin may keep per tenant.
    pub kv_quota_bytes: usize,
    /// Longest key accepted by the key-value store.
    pub kv_max_key_bytes: usize,
    /// Log lines kept per call; more are dropped and counted.
    pub log_lines_per_call: u32,
    /// Longest log line kept; longer lines are cut.
    pub log_line_bytes: usize,
    /// Most bytes of stderr (e.g. a panic message) kept per call.
    pub stderr_bytes: usize,
    /// Most agents passed to a strategy in one snapshot.
    pub max_candidates: usize,
    /// Most recent messages passed in a conversation snapshot.
    pub max_recent_messages: usize,
    /// Most actions a workflow may return for one event.
    pub max_actions: usize,
    /// Largest text (reason, note, log) accepted from a plugin's answer.
    pub max_answer_text: usize,
    /// Bytes of compiled code kept in memory across all plugins; the least
    /// recently used are dropped past it and reloaded from their artefact.
    pub compiled_cache_bytes: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            fuel: 20_000_000,
            timeout: Duration::from_millis(500),
            memory_bytes: 16 << 20,
            max_component_bytes: 8 << 20,
            compile_timeout: Duration::from_secs(60),
            kv_quota_bytes: 64 << 10,
            kv_max_key_bytes: 256,
            log_lines_per_call: 20,
            log_line_bytes: 1024,
            stderr_bytes: 4096,
            max_candidates: 2000,
            max_recent_messages: 20,
            max_actions: 32,
            max_answer_text: 4096,
            compiled_cache_bytes: 256 << 20,
        }
    }
}
