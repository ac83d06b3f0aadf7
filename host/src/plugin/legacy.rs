//! Running plugins built against an earlier released contract.
//!
//! A released contract is frozen (`wit/released/<version>`) and gets its
//! own bindings ([`super::bindings::v0_1`]). The host speaks the current
//! contract everywhere else, so a call to an older plugin converts its input
//! down and its answer up. Both sides' generated types derive serde with the
//! same names, and a newer contract only adds (fields, variants), so the
//! conversion goes through a JSON value: fields the old contract lacks are
//! dropped on the way down, and every old answer is a valid new one on the
//! way up. Only plugins on an older contract pay for it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::bindings::v0_1;
use super::runtime::CallError;
use super::state::PluginState;

/// Convert a value between two contract versions' types.
///
/// A value the older contract cannot express (an event kind it does not
/// have, say) is an error naming both.
pub(super) fn convert<A: Serialize, B: DeserializeOwned>(value: &A) -> Result<B, CallError> {
    let json = serde_json::to_value(value)
        .map_err(|e| CallError::Invalid(format!("converting between contract versions: {e}")))?;
    serde_json::from_value(json).map_err(|e| {
        CallError::Invalid(format!(
            "the plugin's contract version cannot express this value: {e}"
        ))
    })
}

// The 0.1.0 host capabilities are the current ones under the old names.
impl v0_1::types::Host for PluginState {}

impl v0_1::host::Host for PluginState {
    fn log(&mut self, level: v0_1::host::LogLevel, message: String) {
        use super::bindings::host::{Host, LogLevel};
        let level = match level {
            v0_1::host::LogLevel::Trace => LogLevel::Trace,
            v0_1::host::LogLevel::Debug => LogLevel::Debug,
            v0_1::host::LogLevel::Info => LogLevel::Info,
            v0_1::host::LogLevel::Warn => LogLevel::Warn,
            v0_1::host::LogLevel::Error => LogLevel::Error,
        };
        Host::log(self, level, message);
    }

    fn now_ms(&mut self) -> i64 {
        super::bindings::host::Host::now_ms(self)
    }

    fn config(&mut self) -> String {
        super::bindings::host::Host::config(self)
    }

    fn kv_get(&mut self, key: String) -> Option<Vec<u8>> {
        super::bindings::host::Host::kv_get(self, key)
    }

    fn kv_set(&mut self, key: String, value: Vec<u8>) -> Result<(), v0_1::host::KvError> {
        use super::bindings::host::KvError;
        super::bindings::host::Host::kv_set(self, key, value).map_err(|e| match e {
            KvError::QuotaExceeded => v0_1::host::KvError::QuotaExceeded,
            KvError::KeyTooLong => v0_1::host::KvError::KeyTooLong,
        })
    }

    fn kv_delete(&mut self, key: String) {
        super::bindings::host::Host::kv_delete(self, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::types;

    #[test]
    fn answers_convert_up_and_new_only_values_are_refused_down() {
        let old = vec![
            v0_1::types::Action::AddTag("vip".into()),
            v0_1::types::Action::Assign(v0_1::types::HandoffTarget::Team("team_1".into())),
        ];
        let new: Vec<types::Action> = convert(&old).expect("up");
        assert_eq!(
            serde_json::to_value(&new).expect("json"),
            serde_json::to_value(&old).expect("json")
        );
        let event = types::Event {
            kind: types::EventKind::TimerFired,
            conversation: None,
            message: None,
            agent: None,
            ticket: None,
            timer: Some("t".into()),
            at_ms: 1,
        };
        let refused: Result<v0_1::types::Event, _> = convert(&event);
        assert!(refused.is_err());
        let created = types::Event {
            kind: types::EventKind::ConversationCreated,
            ..event
        };
        let down: v0_1::types::Event = convert(&created).expect("down");
        assert_eq!(down.at_ms, 1, "fields the old contract lacks are dropped");
    }
}
