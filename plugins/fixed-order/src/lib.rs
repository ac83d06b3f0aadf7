//! Assignment strategy: agents take turns in a fixed order, and an agent
//! whose turn was skipped is served first when they can take work again.
//!
//! The order is ascending id, which is creation order. Like `round-robin`,
//! the plugin remembers who got the last conversation (kv key [`LAST`]) and
//! walks the order from the agent after them, wrapping around. Unlike
//! `round-robin`, an agent passed over in that walk because they could not
//! take work (away, offline, or at capacity on the channel) does not lose the
//! turn: they go on an "owed" list (kv key [`OWED`], a JSON array of ids,
//! earliest skipped first), and the next conversation any owed agent can take
//! goes to the earliest skipped of them, before the walk. Making up a turn
//! does not move [`LAST`], so the order then continues where it was.
//!
//! [`next_turn`] holds the rules and documents the exact sequences they give.

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Candidate, Channel,
    Manifest, PluginError, PluginKind, host,
};
use serde_json::json;

/// The kv key holding the id of the agent who got the last conversation in
/// the walk of the order (made-up turns do not change it).
const LAST: &str = "last";

/// The kv key holding the ids of agents owed a turn, as a JSON array of
/// strings, earliest skipped first.
const OWED: &str = "owed";

struct FixedOrder;

impl AssignmentStrategy for FixedOrder {
    fn describe() -> Manifest {
        baton_sdk::manifest!("fixed-order", PluginKind::AssignmentStrategy)
            .description(
                "Agents take turns in a fixed order (by id, which is creation order); an \
                 agent whose turn came while they could not take work is served first \
                 once they can.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "fixed-order",
                "description": "fixed-order takes no settings.",
                "type": "object",
                "properties": {},
                "additionalProperties": false,
            }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let channel = request.conversation.channel;
        // Anything that is not valid UTF-8 cannot be an id we wrote: start over.
        let last = host::kv::get(LAST).and_then(|bytes| String::from_utf8(bytes).ok());
        let (owed, owed_readable) = read_owed();
        let candidates: Vec<Candidate> = request.candidates.iter().collect();
        let Some(turn) = next_turn(&candidates, channel, last.as_deref(), &owed) else {
            return Ok(AssignmentDecision::Queue(format!(
                "fixed-order: no agent can take a {} conversation now",
                channel.name()
            )));
        };

        // Still assign when a write fails: a repeated or lost turn is better
        // than an unassigned conversation, and the log says why it happened.
        if turn.last.as_deref() != last.as_deref()
            && let Some(new_last) = &turn.last
            && let Err(e) = host::kv::set(LAST, new_last)
        {
            host::warn(&format!(
                "fixed-order: could not remember {new_last} as last: {e:?}"
            ));
        }
        // An unreadable list is replaced even when nothing is owed, so the
        // warning is not repeated on every decision.
        if turn.owed != owed || !owed_readable {
            let text = serde_json::to_string(&turn.owed).unwrap_or_else(|_| "[]".to_owned());
            if let Err(e) = host::kv::set(OWED, &text) {
                host::warn(&format!(
                    "fixed-order: could not remember owed turns {text}: {e:?}"
                ));
            }
        }

        Ok(AssignmentDecision::Assign(AssignTo {
            agent: turn.chosen.clone(),
            reason: turn.reason(last.as_deref()),
        }))
    }
}

baton_sdk::export_assignment_strategy!(FixedOrder);

/// The stored owed list, and whether it could be read. Empty when unset, and
/// when unreadable, since a lost make-up turn is better than refusing to
/// assign.
fn read_owed() -> (Vec<String>, bool) {
    let Some(bytes) = host::kv::get(OWED) else {
        return (Vec::new(), true);
    };
    match serde_json::from_slice(&bytes) {
        Ok(owed) => (owed, true),
        Err(e) => {
            host::warn(&format!(
                "fixed-order: ignoring unreadable owed list ({e}); starting with none owed"
            ));
            (Vec::new(), false)
        }
    }
}

/// One decision of [`next_turn`] and the state to store after it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Turn {
    /// Who gets the conversation.
    chosen: String,
    /// Whether `chosen` was served from the owed list rather than by walking
    /// the order.
    made_up: bool,
    /// The new value of [`LAST`]: unchanged when a turn was made up.
    last: Option<String>,
    /// The new value of [`OWED`].
    owed: Vec<String>,
    /// Agents this walk passed over because they could not take work.
    passed_over: Vec<String>,
}

impl Turn {
    /// Why `chosen` got the conversation, given the [`LAST`] before it.
    fn reason(&self, previous_last: Option<&str>) -> String {
        if self.made_up {
            return format!(
                "fixed-order: {} is served first: their turn was skipped while they \
                 could not take work",
                self.chosen
            );
        }
        let mut reason = match previous_last {
            Some(last) => format!("fixed-order: {} is next after {last}", self.chosen),
            None => format!("fixed-order: {} is first in order", self.chosen),
        };
        if !self.passed_over.is_empty() {
            reason.push_str(&format!(
                "; {} could not take work and will be served first when they can",
                self.passed_over.join(", ")
            ));
        }
        reason
    }
}

/// Who gets a conversation on `channel`, given who got the last one in the
/// walk (`last`) and who is owed a turn (`owed`, earliest skipped first);
/// `None` when nobody can take it, in which case the state stays as it was.
///
/// The rules, in order:
///
/// 1. Owed ids that are no longer among `candidates` are dropped.
/// 2. The earliest owed agent who can take the conversation gets it and
///    leaves the owed list. `last` does not change.
/// 3. Otherwise the order (ascending id) is walked from the first agent
///    whose id comes after `last`, wrapping around and ending with `last`
///    itself (so a lone agent gets every conversation). If `last` has left,
///    the walk starts where they stood. Every agent passed over because they
///    cannot take the conversation is appended to the owed list unless
///    already on it; the first who can gets it and becomes `last`. An agent
///    who does not work the channel at all (capacity 0) is passed over
///    without being owed: it was never their turn on that channel, and owing
///    them would hand them the next conversation on another channel ahead
///    of everyone else.
///
/// With agents A, B, C and D who all stay free, conversations go
/// A, B, C, D, A, ... If C is away from the third conversation until after
/// the fourth, the sequence is:
///
/// | # | C | gets it | `last` after | owed after |
/// | --- | --- | --- | --- | --- |
/// | 1 | free | A | A | |
/// | 2 | free | B | B | |
/// | 3 | away | D (C passed over) | D | C |
/// | 4 | away | A | A | C |
/// | 5 | free | C (made up) | A | |
/// | 6 | free | B | B | |
/// | 7 | free | C (its own turn) | C | |
/// | 8 | free | D | D | |
/// | 9 | free | A | A | |
fn next_turn(
    candidates: &[Candidate<'_>],
    channel: Channel,
    last: Option<&str>,
    owed: &[String],
) -> Option<Turn> {
    let find = |id: &str| candidates.iter().find(|c| c.id == id);

    let mut owed_now: Vec<String> = Vec::with_capacity(owed.len());
    for id in owed {
        // Also drops duplicates, which only a foreign writer could have left.
        if find(id).is_some() && !owed_now.contains(id) {
            owed_now.push(id.clone());
        }
    }

    if let Some(pos) = owed_now
        .iter()
        .position(|id| find(id).is_some_and(|c| c.can_take(channel)))
    {
        let chosen = owed_now.remove(pos);
        return Some(Turn {
            chosen,
            made_up: true,
            last: last.map(str::to_owned),
            owed: owed_now,
            passed_over: Vec::new(),
        });
    }

    let mut order: Vec<&Candidate> = candidates.iter().collect();
    // The host passes candidates in id order; sorting keeps this function
    // right for any order, at the cost of one pass when already sorted.
    order.sort_by(|a, b| a.id.cmp(b.id));
    let start = last.map_or(0, |last| order.partition_point(|c| c.id <= last));
    let (before, after) = order.split_at(start);
    let mut passed_over = Vec::new();
    for candidate in after.iter().chain(before) {
        if candidate.can_take(channel) {
            return Some(Turn {
                chosen: candidate.id.to_owned(),
                made_up: false,
                last: Some(candidate.id.to_owned()),
                owed: owed_now,
                passed_over,
            });
        }
        if candidate.load.on(channel).capacity == 0 {
            continue;
        }
        passed_over.push(candidate.id.to_owned());
        if !owed_now.iter().any(|id| id == candidate.id) {
            owed_now.push(candidate.id.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::{ChannelLoad, ChannelLoads, Presence};

    fn agent(id: &'static str) -> Candidate<'static> {
        let none = ChannelLoad {
            open: 0,
            capacity: 0,
        };
        Candidate {
            id,
            presence: Presence::Available,
            load: ChannelLoads {
                chat: ChannelLoad {
                    open: 0,
                    capacity: 2,
                },
                email: none,
                call: none,
                form: none,
            },
            available_since_ms: Some(0),
            idle_since_ms: Some(0),
            last_assigned_at_ms: None,
            handled: 0,
            teams: Default::default(),
        }
    }

    /// The team, listed out of id order so that the order must come from the
    /// ids and not from the snapshot.
    fn team() -> Vec<Candidate<'static>> {
        vec![
            agent("agt_d"),
            agent("agt_b"),
            agent("agt_a"),
            agent("agt_c"),
        ]
    }

    fn set(team: &mut [Candidate], id: &str, change: impl FnOnce(&mut Candidate)) {
        change(team.iter_mut().find(|c| c.id == id).unwrap());
    }

    /// Plays decisions against `next_turn`, keeping the state as the plugin
    /// keeps it in kv.
    #[derive(Default)]
    struct Rotation {
        last: Option<String>,
        owed: Vec<String>,
    }

    impl Rotation {
        /// Decides one chat conversation and stores the new state.
        fn next(&mut self, team: &[Candidate]) -> Option<String> {
            let turn = next_turn(team, Channel::Chat, self.last.as_deref(), &self.owed)?;
            self.last = turn.last;
            self.owed = turn.owed;
            Some(turn.chosen)
        }

        fn owed(&self) -> Vec<&str> {
            self.owed.iter().map(String::as_str).collect()
        }
    }

    #[test]
    fn all_free_take_turns_in_id_order() {
        let team = team();
        let mut rotation = Rotation::default();
        let got: Vec<_> = (0..5).map(|_| rotation.next(&team).unwrap()).collect();
        assert_eq!(got, ["agt_a", "agt_b", "agt_c", "agt_d", "agt_a"]);
        assert!(rotation.owed.is_empty());
    }

    /// The sequence in the doc comment of `next_turn`.
    #[test]
    fn an_absent_agent_is_owed_the_turn_and_served_first_when_back() {
        let mut team = team();
        let mut rotation = Rotation::default();
        let mut step = |team: &[Candidate], expected: &str, last: &str, owed: &[&str]| {
            assert_eq!(rotation.next(team).as_deref(), Some(expected));
            assert_eq!(
                rotation.last.as_deref(),
                Some(last),
                "last after {expected}"
            );
            assert_eq!(rotation.owed(), owed, "owed after {expected}");
        };
        step(&team, "agt_a", "agt_a", &[]);
        step(&team, "agt_b", "agt_b", &[]);
        set(&mut team, "agt_c", |c| c.presence = Presence::Away);
        step(&team, "agt_d", "agt_d", &["agt_c"]);
        step(&team, "agt_a", "agt_a", &["agt_c"]);
        set(&mut team, "agt_c", |c| c.presence = Presence::Available);
        step(&team, "agt_c", "agt_a", &[]);
        step(&team, "agt_b", "agt_b", &[]);
        step(&team, "agt_c", "agt_c", &[]);
        step(&team, "agt_d", "agt_d", &[]);
        step(&team, "agt_a", "agt_a", &[]);
    }

    #[test]
    fn an_agent_at_capacity_is_owed_the_turn() {
        let mut team = team();
        set(&mut team, "agt_a", |c| c.load.chat.open = 2);
        let mut rotation = Rotation::default();
        assert_eq!(rotation.next(&team).as_deref(), Some("agt_b"));
        assert_eq!(rotation.owed(), ["agt_a"]);
        // Passed over again while still full: owed once, not twice.
        for expected in ["agt_c", "agt_d", "agt_b"] {
            assert_eq!(rotation.next(&team).as_deref(), Some(expected));
        }
        assert_eq!(rotation.owed(), ["agt_a"]);
        set(&mut team, "agt_a", |c| c.load.chat.open = 1);
        assert_eq!(rotation.next(&team).as_deref(), Some("agt_a"));
        assert_eq!(rotation.next(&team).as_deref(), Some("agt_c"));
    }

    #[test]
    fn the_earliest_skipped_is_served_first_and_the_rest_wait() {
        let mut team = team();
        team.push(agent("agt_e"));
        let mut rotation = Rotation::default();
        assert_eq!(rotation.next(&team).as_deref(), Some("agt_a"));
        set(&mut team, "agt_c", |c| c.presence = Presence::Offline);
        set(&mut team, "agt_b", |c| c.presence = Presence::Away);
        assert_eq!(rotation.next(&team).as_deref(), Some("agt_d"));
        assert_eq!(rotation.owed(), ["agt_b", "agt_c"]);
        // Only C is back: C is made up, B stays owed.
        set(&mut team, "agt_c", |c| c.presence = Presence::Available);
        assert_eq!(rotation.next(&team).as_deref(), Some("agt_c"));
        assert_eq!(rotation.owed(), ["agt_b"]);
        set(&mut team, "agt_b", |c| c.presence = Presence::Available);
        let got: Vec<_> = (0..4).map(|_| rotation.next(&team).unwrap()).collect();
        assert_eq!(got, ["agt_b", "agt_e", "agt_a", "agt_b"]);
        assert_eq!(rotation.last.as_deref(), Some("agt_b"));
    }

    #[test]
    fn owed_agents_who_left_are_dropped() {
        let team = team();
        let owed = [
            "agt_gone".to_owned(),
            "agt_c".to_owned(),
            "agt_c".to_owned(),
        ];
        let turn = next_turn(&team, Channel::Chat, Some("agt_a"), &owed).unwrap();
        assert_eq!(turn.chosen, "agt_c");
        assert!(turn.made_up);
        assert!(turn.owed.is_empty());
        assert_eq!(turn.last.as_deref(), Some("agt_a"));
    }

    #[test]
    fn agents_who_do_not_work_the_channel_are_not_owed() {
        let mut team = team();
        set(&mut team, "agt_a", |c| c.load.chat.capacity = 0);
        let mut rotation = Rotation::default();
        assert_eq!(rotation.next(&team).as_deref(), Some("agt_b"));
        assert!(rotation.owed.is_empty());
    }

    #[test]
    fn the_walk_continues_where_a_departed_last_stood() {
        let team = team();
        let turn = next_turn(&team, Channel::Chat, Some("agt_bb"), &[]).unwrap();
        assert_eq!(turn.chosen, "agt_c");
        let turn = next_turn(&team, Channel::Chat, Some("agt_z"), &[]).unwrap();
        assert_eq!(turn.chosen, "agt_a");
    }

    #[test]
    fn a_lone_agent_gets_every_conversation() {
        let team = [agent("agt_a")];
        let turn = next_turn(&team, Channel::Chat, Some("agt_a"), &[]).unwrap();
        assert_eq!(turn.chosen, "agt_a");
        assert!(turn.owed.is_empty());
    }

    #[test]
    fn nobody_can_take_it() {
        let mut team = team();
        for c in &mut team {
            c.presence = Presence::Away;
        }
        assert_eq!(next_turn(&team, Channel::Chat, Some("agt_a"), &[]), None);
        assert_eq!(next_turn(&team, Channel::Email, None, &[]), None);
        assert_eq!(next_turn(&[], Channel::Chat, None, &[]), None);
    }

    #[test]
    fn reasons_name_the_plugin_and_the_agents() {
        let mut team = team();
        set(&mut team, "agt_b", |c| c.presence = Presence::Away);
        let turn = next_turn(&team, Channel::Chat, Some("agt_a"), &[]).unwrap();
        assert_eq!(
            turn.reason(Some("agt_a")),
            "fixed-order: agt_c is next after agt_a; agt_b could not take work and will \
             be served first when they can"
        );
        let turn = next_turn(&team, Channel::Chat, None, &[]).unwrap();
        assert_eq!(turn.reason(None), "fixed-order: agt_a is first in order");
        set(&mut team, "agt_b", |c| c.presence = Presence::Available);
        let turn = next_turn(&team, Channel::Chat, None, &["agt_b".to_owned()]).unwrap();
        assert!(
            turn.reason(None)
                .starts_with("fixed-order: agt_b is served first")
        );
    }
}
