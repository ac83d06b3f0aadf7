//! Running plugins built against an earlier released contract.
//!
//! A released contract is frozen (`wit/released/<version>`) and gets its
//! own bindings ([`super::bindings::v0_1`]). The host speaks the current
//! contract everywhere else, so a call to an older plugin converts its input
//! down and its answer up. Both sides' generated types derive serde with the
//! same names, and a newer contract only adds (fields, variants), so the
//! conversion goes through a JSON value: fields the old contract lacks are
//! dropped on the way down, and every old answer is a valid new one on the
//! way up. The one exception is a 0.3.0 strategy's request, whose
//! candidates are laid out for speed rather than as the JSON form
//! ([`request_v0_3`]). Only plugins on an older contract pay for it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::bindings::v0_3;
use super::lower::{UNKNOWN_MS, presence_index};
use super::request::AssignmentRequest;
use super::runtime::CallError;

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

/// A request in the 0.3.0 layout: candidates as plain-number records, every
/// id in one string with where each ends, and no teams. Its shape is not
/// the JSON one, so it is built rather than converted.
pub(super) fn request_v0_3(
    request: &AssignmentRequest,
) -> Result<v0_3::types::AssignmentRequest, CallError> {
    let candidates = request.candidates();
    let mut ids = String::new();
    let mut id_ends = Vec::with_capacity(candidates.len());
    let mut records = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        ids.push_str(&candidate.id);
        // Ids are a few dozen bytes and a request at most thousands of them.
        id_ends.push(u32::try_from(ids.len()).unwrap_or(u32::MAX));
        let agent = &candidate.agent;
        let load = |l: super::bindings::types::ChannelLoad| v0_3::types::ChannelLoad {
            open: l.open,
            capacity: l.capacity,
        };
        records.push(v0_3::types::Candidate {
            presence: presence_index(agent.presence),
            load: v0_3::types::ChannelLoads {
                chat: load(agent.load.chat),
                email: load(agent.load.email),
                call: load(agent.load.call),
                form: load(agent.load.form),
            },
            available_since_ms: agent.available_since_ms.unwrap_or(UNKNOWN_MS),
            idle_since_ms: agent.idle_since_ms.unwrap_or(UNKNOWN_MS),
            last_assigned_at_ms: agent.last_assigned_at_ms.unwrap_or(UNKNOWN_MS),
            handled: agent.handled,
        });
    }
    Ok(v0_3::types::AssignmentRequest {
        conversation: convert(&request.conversation)?,
        candidates: records,
        ids,
        id_ends,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::types;
    use crate::plugin::bindings::v0_1;

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
