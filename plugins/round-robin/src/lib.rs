//! Baton's default assignment strategy: agents take turns.
//!
//! Agents are ordered by id. The plugin remembers the last agent it gave a
//! conversation to (kv key [`LAST`]) and gives the next one to the first agent
//! after them in that order who can take it, wrapping around at the end.
//! Remembering an id rather than a position keeps the turn fair when agents
//! join, leave or go away between decisions.

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Candidate, Channel,
    Manifest, PluginError, PluginKind, host,
};
use serde_json::json;

/// The kv key holding the id of the agent who got the last conversation.
const LAST: &str = "last";

struct RoundRobin;

impl AssignmentStrategy for RoundRobin {
    fn describe() -> Manifest {
        Manifest::new("round-robin", "0.1.0", PluginKind::AssignmentStrategy)
            .description(
                "Agents take turns in id order; each conversation goes to the next agent \
                 who is available with room on its channel.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "round-robin",
                "description": "round-robin takes no settings.",
                "type": "object",
                "properties": {},
                "additionalProperties": false,
            }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let channel = request.conversation.channel;
        // Anything that is not valid UTF-8 cannot be an id we wrote: start over.
        let last = host::kv::get(LAST).and_then(|bytes| String::from_utf8(bytes).ok());
        let Some(next) = next_agent(&request.candidates, channel, last.as_deref()) else {
            return Ok(AssignmentDecision::Queue(format!(
                "round-robin: no agent can take a {} conversation now",
                channel.name()
            )));
        };
        if let Err(e) = host::kv::set(LAST, &next.id) {
            // Still assign: a stalled rotation is better than an unassigned
            // conversation, and the log says why turns repeat.
            host::warn(&format!(
                "round-robin: could not remember {}: {e:?}",
                next.id
            ));
        }
        let reason = match &last {
            Some(last) => format!("round-robin: next after {last}"),
            None => "round-robin: first in order".to_owned(),
        };
        Ok(AssignmentDecision::Assign(AssignTo {
            agent: next.id.clone(),
            reason,
        }))
    }
}

baton_sdk::export_assignment_strategy!(RoundRobin);

/// The first candidate, in id order, who can take `channel` and comes after
/// `last`; wraps around to the first who can when nobody comes after.
fn next_agent<'a>(
    candidates: &'a [Candidate],
    channel: Channel,
    last: Option<&str>,
) -> Option<&'a Candidate> {
    let mut eligible: Vec<&Candidate> = candidates.iter().filter(|c| c.can_take(channel)).collect();
    eligible.sort_by(|a, b| a.id.cmp(&b.id));
    let after_last = last.and_then(|last| eligible.iter().find(|c| c.id.as_str() > last));
    after_last.or(eligible.first()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::{ChannelLoad, ChannelLoads, Presence};

    fn agent(id: &str, presence: Presence, open: u32) -> Candidate {
        let none = ChannelLoad {
            open: 0,
            capacity: 0,
        };
        Candidate {
            id: id.into(),
            presence,
            load: ChannelLoads {
                chat: ChannelLoad { open, capacity: 2 },
                email: none,
                call: none,
                form: none,
            },
            available_since_ms: None,
            idle_since_ms: None,
            last_assigned_at_ms: None,
            handled: 0,
        }
    }

    fn pick(candidates: &[Candidate], last: Option<&str>) -> Option<String> {
        next_agent(candidates, Channel::Chat, last).map(|c| c.id.clone())
    }

    #[test]
    fn takes_turns_in_id_order_and_wraps() {
        let team = [
            agent("agt_c", Presence::Available, 0),
            agent("agt_a", Presence::Available, 0),
            agent("agt_b", Presence::Available, 0),
        ];
        assert_eq!(pick(&team, None).as_deref(), Some("agt_a"));
        assert_eq!(pick(&team, Some("agt_a")).as_deref(), Some("agt_b"));
        assert_eq!(pick(&team, Some("agt_b")).as_deref(), Some("agt_c"));
        assert_eq!(pick(&team, Some("agt_c")).as_deref(), Some("agt_a"));
    }

    #[test]
    fn skips_agents_who_cannot_take_it() {
        let team = [
            agent("agt_a", Presence::Available, 0),
            agent("agt_b", Presence::Away, 0),
            agent("agt_c", Presence::Available, 2),
        ];
        assert_eq!(pick(&team, Some("agt_a")).as_deref(), Some("agt_a"));
        // The last agent left the team: continue from where they stood.
        assert_eq!(pick(&team, Some("agt_aa")).as_deref(), Some("agt_a"));
        assert_eq!(next_agent(&team, Channel::Email, None), None);
    }

    #[test]
    fn nobody_eligible() {
        assert_eq!(pick(&[agent("agt_a", Presence::Offline, 0)], None), None);
        assert_eq!(pick(&[], Some("agt_a")), None);
    }
}
