//! What plugins log, kept for their tenant to read.
//!
//! A plugin's `log()` lines go to the operator's log, and the latest of
//! them also to a ring per tenant and plugin version, which the tenant
//! reads at `GET /v1/plugins/{id}/logs`: a plugin developer sees what their
//! own code said without access to the server. A line is already bounded by
//! the sandbox (lines per call, bytes per line); the ring keeps the last
//! [`KEPT`] of each plugin version, so what it holds is bounded by tenants
//! times plugin versions in use.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// Lines kept per tenant and plugin version.
pub const KEPT: usize = 200;

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LogLine {
    /// The time of the event the call was for (plugins have no other
    /// clock), in milliseconds since the epoch.
    pub at_ms: i64,
    pub level: &'static str,
    pub message: String,
}

/// The rings of every tenant's plugins.
#[derive(Debug, Default)]
pub struct PluginLogs {
    /// By tenant id, then plugin label (`name@version`): looked up by
    /// `&str`, so a line pushed to an existing ring allocates no key.
    rings: Mutex<HashMap<String, HashMap<String, VecDeque<LogLine>>>>,
}

impl PluginLogs {
    /// Keep `line` of `tenant`'s `plugin`, dropping that ring's oldest past
    /// [`KEPT`].
    pub fn push(&self, tenant: &str, plugin: &str, line: LogLine) {
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        if !rings.contains_key(tenant) {
            rings.insert(tenant.to_owned(), HashMap::new());
        }
        let plugins = rings.get_mut(tenant).expect("inserted above");
        if !plugins.contains_key(plugin) {
            plugins.insert(plugin.to_owned(), VecDeque::new());
        }
        let ring = plugins.get_mut(plugin).expect("inserted above");
        if ring.len() == KEPT {
            ring.pop_front();
        }
        ring.push_back(line);
    }

    /// `tenant`'s lines of `plugin` (`name@version`), oldest first.
    pub fn lines(&self, tenant: &str, plugin: &str) -> Vec<LogLine> {
        self.rings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tenant)
            .and_then(|plugins| plugins.get(plugin))
            .map(|ring| ring.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: i64) -> LogLine {
        LogLine {
            at_ms: n,
            level: "info",
            message: format!("line {n}"),
        }
    }

    #[test]
    fn a_ring_keeps_the_latest_lines_of_its_own_tenant_and_version() {
        let logs = PluginLogs::default();
        for n in 0..(KEPT as i64 + 5) {
            logs.push("ten_a", "p@1.0.0", line(n));
        }
        logs.push("ten_b", "p@1.0.0", line(-1));
        logs.push("ten_a", "p@1.1.0", line(-2));
        let kept = logs.lines("ten_a", "p@1.0.0");
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept.first(), Some(&line(5)));
        assert_eq!(kept.last(), Some(&line(KEPT as i64 + 4)));
        assert_eq!(logs.lines("ten_b", "p@1.0.0"), [line(-1)]);
        assert_eq!(logs.lines("ten_a", "p@1.1.0"), [line(-2)]);
        assert!(logs.lines("ten_c", "p@1.0.0").is_empty());
    }
}
