//! What an assignment strategy decides over: the conversation and its
//! candidates.
//!
//! The contract passes candidates the way that is cheapest to cross into
//! the sandbox (since `baton:plugin@0.3.0`): a list of records of plain
//! integers, taken over as one block of memory, and every id in one string
//! with where each ends. Since 0.4.0 the teams the candidates belong to
//! travel the same way, once each, and every candidate's memberships are
//! positions in that list. [`Candidates`] keeps that form and hands out
//! typed [`Candidate`] views that borrow their id and teams from it, so a
//! decision over hundreds of agents allocates nothing per agent.

use serde::{Deserialize, Serialize};

use crate::__bindings::strategy::baton::plugin::types as wire;
use crate::{ChannelLoads, Conversation, PluginError, Presence};

/// What an assignment strategy is asked to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRequest {
    /// The conversation to give to someone.
    pub conversation: Conversation,
    /// Every agent in scope, in id order, including those who cannot take
    /// work now, so that order-keeping strategies see absences.
    pub candidates: Candidates,
}

impl AssignmentRequest {
    /// The request as the host passed it, its ids, teams and memberships
    /// checked against their offsets (a host never sends them wrong; a
    /// hand-made call might).
    pub(crate) fn from_wire(request: wire::AssignmentRequest) -> Result<Self, PluginError> {
        let wire::AssignmentRequest {
            conversation,
            candidates,
            ids,
            id_ends,
            team_ids,
            team_id_ends,
            memberships,
        } = request;
        if id_ends.len() != candidates.len() {
            return Err(PluginError::InvalidInput(format!(
                "{} candidates but {} id ends",
                candidates.len(),
                id_ends.len()
            )));
        }
        check_ends("an id", &ids, &id_ends)?;
        check_ends("a team id", &team_ids, &team_id_ends)?;
        let mut start = 0;
        for agent in &candidates {
            if presence_of(agent.presence).is_none() {
                return Err(PluginError::InvalidInput(format!(
                    "presence {} is none of the cases",
                    agent.presence
                )));
            }
            let end = agent.memberships_end as usize;
            if end < start || end > memberships.len() {
                return Err(PluginError::InvalidInput(format!(
                    "a candidate's memberships end at {end}, outside the memberships given"
                )));
            }
            start = end;
        }
        if let Some(&team) = memberships
            .iter()
            .find(|&&t| t as usize >= team_id_ends.len())
        {
            return Err(PluginError::InvalidInput(format!(
                "membership of team {team}, but there are {} teams",
                team_id_ends.len()
            )));
        }
        Ok(Self {
            conversation,
            candidates: Candidates {
                ids,
                ends: id_ends,
                agents: candidates,
                teams: TeamTable {
                    ids: team_ids,
                    ends: team_id_ends,
                },
                memberships,
            },
        })
    }
}

/// Whether `ends` are in order, within `joined` and on character boundaries.
fn check_ends(what: &str, joined: &str, ends: &[u32]) -> Result<(), PluginError> {
    let mut start = 0;
    for &end in ends {
        let end = end as usize;
        if end < start || end > joined.len() || !joined.is_char_boundary(end) {
            return Err(PluginError::InvalidInput(format!(
                "{what} ends at {end}, outside the ids given"
            )));
        }
        start = end;
    }
    Ok(())
}

/// The candidates of a request, in id order. Iterate over them with
/// [`Candidates::iter`] (or `for c in &request.candidates`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidates {
    /// Every id, one after another.
    ids: String,
    /// Where each id ends in `ids`.
    ends: Vec<u32>,
    /// Everything else about each candidate, as the contract encodes it.
    agents: Vec<wire::Candidate>,
    /// Every team any candidate is in, in id order.
    teams: TeamTable,
    /// Each candidate's teams as positions in `teams`, candidate after
    /// candidate; a candidate's run ends at its `memberships_end`.
    memberships: Vec<u32>,
}

/// Ids one after another, with where each ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TeamTable {
    ids: String,
    ends: Vec<u32>,
}

impl TeamTable {
    /// The `index`-th id, or "" if there is none (offsets are checked when
    /// a request arrives).
    fn get(&self, index: usize) -> &str {
        let start = match index {
            0 => 0,
            _ => self.ends.get(index - 1).copied().unwrap_or(0) as usize,
        };
        let end = self.ends.get(index).copied().unwrap_or(0) as usize;
        self.ids.get(start..end).unwrap_or("")
    }
}

/// The teams a candidate belongs to, by id, in id order; see
/// [`Candidate::teams`]. Borrowed from the request, so it is `Copy`.
#[derive(Clone, Copy)]
pub struct Teams<'a> {
    table: &'a TeamTable,
    positions: &'a [u32],
}

impl<'a> Teams<'a> {
    /// In no team.
    const NONE: Teams<'static> = Teams {
        table: &TeamTable {
            ids: String::new(),
            ends: Vec::new(),
        },
        positions: &[],
    };

    /// How many teams.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether the agent is in no team.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// The team ids, in id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'a str> + ExactSizeIterator + 'a {
        let table = self.table;
        self.positions.iter().map(move |&p| table.get(p as usize))
    }

    /// Whether one of them is `team`.
    pub fn contains(&self, team: &str) -> bool {
        self.iter().any(|t| t == team)
    }
}

impl Default for Teams<'_> {
    fn default() -> Self {
        Teams::NONE
    }
}

impl std::fmt::Debug for Teams<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Teams<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Teams<'_> {}

impl Serialize for Teams<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// One candidate: an agent the strategy may choose, with their presence,
/// load and history. It borrows its id from the request, so it is `Copy`
/// and cheap to pass around; `id.to_owned()` when an answer needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Candidate<'a> {
    /// The agent's id.
    pub id: &'a str,
    /// Whether the agent can take new work now.
    pub presence: Presence,
    /// Open conversations and capacity, per channel.
    pub load: ChannelLoads,
    /// When the agent last became available, if they are.
    pub available_since_ms: Option<i64>,
    /// When the agent has been waiting for work since, if available: the
    /// later of becoming available and finishing their last conversation.
    pub idle_since_ms: Option<i64>,
    /// When the agent was last given a conversation, if ever.
    pub last_assigned_at_ms: Option<i64>,
    /// Conversations the agent has been given in all.
    pub handled: u32,
    /// The teams the agent belongs to (since contract 0.4.0), whatever the
    /// conversation's scope: a strategy can prefer or require a team.
    pub teams: Teams<'a>,
}

impl Candidate<'_> {
    /// Whether the agent belongs to `team` (by id).
    pub fn in_team(&self, team: &str) -> bool {
        self.teams.contains(team)
    }
}

impl Candidates {
    /// How many candidates there are.
    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// The `index`-th candidate in id order.
    pub fn get(&self, index: usize) -> Option<Candidate<'_>> {
        let agent = self.agents.get(index)?;
        Some(Candidate {
            id: self.id_at(index),
            // Checked when the request arrived.
            presence: presence_of(agent.presence).unwrap_or(Presence::Offline),
            load: agent.load,
            available_since_ms: known(agent.available_since_ms),
            idle_since_ms: known(agent.idle_since_ms),
            last_assigned_at_ms: known(agent.last_assigned_at_ms),
            handled: agent.handled,
            teams: Teams {
                table: &self.teams,
                positions: self.memberships_of(index),
            },
        })
    }

    /// The `index`-th candidate's team positions; `index` is below
    /// [`Self::len`].
    fn memberships_of(&self, index: usize) -> &[u32] {
        let start = match index {
            0 => 0,
            _ => self.agents[index - 1].memberships_end as usize,
        };
        let end = self.agents[index].memberships_end as usize;
        self.memberships.get(start..end).unwrap_or(&[])
    }

    /// The `index`-th id alone, for comparisons that need nothing else;
    /// `index` is below [`Self::len`].
    fn id_at(&self, index: usize) -> &str {
        let start = match index {
            0 => 0,
            _ => self.ends[index - 1] as usize,
        };
        self.ids.get(start..self.ends[index] as usize).unwrap_or("")
    }

    /// The candidate with the smallest id.
    pub fn first(&self) -> Option<Candidate<'_>> {
        self.get(0)
    }

    /// The candidate with the greatest id.
    pub fn last(&self) -> Option<Candidate<'_>> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Every candidate, in id order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            candidates: self,
            range: 0..self.len(),
        }
    }

    /// The candidate with this id, found by bisection (they are in id
    /// order).
    pub fn find(&self, id: &str) -> Option<Candidate<'_>> {
        self.position(id).ok().and_then(|i| self.get(i))
    }

    /// Where `id` is, or where it would go, in id order; see
    /// [`slice::binary_search`].
    pub fn position(&self, id: &str) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            // Only the id: decoding the whole candidate at every step would
            // cost more than the comparison.
            match compare_ids(self.id_at(middle), id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(middle),
            }
        }
        Err(low)
    }

    /// The candidates of `entries` laid out as the host passes them: in id
    /// order, with the team list in id order and each candidate's teams as
    /// ascending positions in it.
    pub(crate) fn from_entries(mut entries: Vec<Entry>) -> Self {
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        let mut teams: Vec<&str> = entries
            .iter()
            .flat_map(|e| e.teams.iter().map(String::as_str))
            .collect();
        teams.sort_unstable();
        teams.dedup();
        let mut candidates = Candidates::default();
        for team in &teams {
            candidates.teams.ids.push_str(team);
            candidates
                .teams
                .ends
                .push(candidates.teams.ids.len() as u32);
        }
        for entry in &entries {
            let mut positions: Vec<u32> = entry
                .teams
                .iter()
                .filter_map(|t| teams.binary_search(&t.as_str()).ok())
                .map(|p| p as u32)
                .collect();
            positions.sort_unstable();
            positions.dedup();
            candidates.memberships.extend(positions);
            candidates.ids.push_str(&entry.id);
            candidates.ends.push(candidates.ids.len() as u32);
            let state = entry.state;
            candidates.agents.push(wire::Candidate {
                presence: state.presence as u8,
                load: state.load,
                available_since_ms: state.available_since_ms.unwrap_or(UNKNOWN_MS),
                idle_since_ms: state.idle_since_ms.unwrap_or(UNKNOWN_MS),
                last_assigned_at_ms: state.last_assigned_at_ms.unwrap_or(UNKNOWN_MS),
                handled: state.handled,
                memberships_end: candidates.memberships.len() as u32,
            });
        }
        candidates
    }
}

/// `a.cmp(b)` on bytes, eight at a time. In the sandbox a plain comparison
/// goes byte by byte (WebAssembly's `memcmp` has no wide loads), and ids
/// share a long prefix (`agt_` and the leading digits of their time), so a
/// bisection would otherwise spend most of its time comparing what is equal.
fn compare_ids(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let whole = a.len().min(b.len()) / 8 * 8;
    for (x, y) in a[..whole].chunks_exact(8).zip(b[..whole].chunks_exact(8)) {
        let word = |c: &[u8]| u64::from_be_bytes(c.try_into().expect("chunks of eight"));
        let (x, y) = (word(x), word(y));
        if x != y {
            // Big-endian words compare as their bytes do.
            return x.cmp(&y);
        }
    }
    a[whole..].cmp(&b[whole..])
}

impl<'a> IntoIterator for &'a Candidates {
    type Item = Candidate<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The candidates of a request in id order; see [`Candidates::iter`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    candidates: &'a Candidates,
    range: std::ops::Range<usize>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Candidate<'a>;

    fn next(&mut self) -> Option<Candidate<'a>> {
        self.range.next().and_then(|i| self.candidates.get(i))
    }

    /// Skipping decodes nothing: `iter().skip(n)` costs the same for any n.
    fn nth(&mut self, n: usize) -> Option<Candidate<'a>> {
        self.range.nth(n).and_then(|i| self.candidates.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.range.next_back().and_then(|i| self.candidates.get(i))
    }

    fn nth_back(&mut self, n: usize) -> Option<Self::Item> {
        self.range.nth_back(n).and_then(|i| self.candidates.get(i))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// A candidate as case files write it: the id among the other fields, the
/// JSON every contract version has had, and its teams (none in files
/// written before 0.4.0).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) teams: Vec<String>,
    #[serde(flatten)]
    pub(crate) state: CandidateState,
}

impl From<Candidate<'_>> for Entry {
    fn from(c: Candidate<'_>) -> Self {
        Entry {
            id: c.id.to_owned(),
            teams: c.teams.iter().map(str::to_owned).collect(),
            state: CandidateState {
                presence: c.presence,
                load: c.load,
                available_since_ms: c.available_since_ms,
                idle_since_ms: c.idle_since_ms,
                last_assigned_at_ms: c.last_assigned_at_ms,
                handled: c.handled,
            },
        }
    }
}

impl Serialize for Candidates {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Entry::from))
    }
}

impl<'de> Deserialize<'de> for Candidates {
    /// Case files may list candidates in any order; the host passes them in
    /// id order, so they are read into it.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<Entry>::deserialize(deserializer)?;
        Ok(Candidates::from_entries(entries))
    }
}

/// A candidate's state without its id, typed: what builders and case files
/// hold before it is encoded for the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CandidateState {
    pub(crate) presence: Presence,
    pub(crate) load: ChannelLoads,
    pub(crate) available_since_ms: Option<i64>,
    pub(crate) idle_since_ms: Option<i64>,
    pub(crate) last_assigned_at_ms: Option<i64>,
    pub(crate) handled: u32,
}

/// How the contract writes a time that is not known.
const UNKNOWN_MS: i64 = i64::MIN;

fn known(ms: i64) -> Option<i64> {
    (ms != UNKNOWN_MS).then_some(ms)
}

/// The `presence` case at this index, as the contract encodes it.
fn presence_of(index: u8) -> Option<Presence> {
    match index {
        0 => Some(Presence::Available),
        1 => Some(Presence::Away),
        2 => Some(Presence::Offline),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{agent, assignment, conversation};

    #[test]
    fn ids_are_read_back_from_their_offsets() {
        let request = assignment(conversation("cnv_1"))
            .candidate(agent("agt_b").away())
            .candidate(agent("agt_a"))
            .candidate(agent("agt_ccc"))
            .build();
        let ids: Vec<&str> = request.candidates.iter().map(|c| c.id).collect();
        assert_eq!(ids, ["agt_a", "agt_b", "agt_ccc"], "in id order");
        assert_eq!(
            request.candidates.find("agt_b").map(|c| c.presence),
            Some(Presence::Away)
        );
        assert_eq!(request.candidates.find("agt_c"), None);
        assert_eq!(request.candidates.position("agt_bb"), Err(2));
        let back: Vec<&str> = request.candidates.iter().rev().map(|c| c.id).collect();
        assert_eq!(back, ["agt_ccc", "agt_b", "agt_a"]);
    }

    /// A built request as the host would pass it.
    fn wire_of(request: &AssignmentRequest) -> wire::AssignmentRequest {
        let c = &request.candidates;
        wire::AssignmentRequest {
            conversation: request.conversation.clone(),
            candidates: c.agents.clone(),
            ids: c.ids.clone(),
            id_ends: c.ends.clone(),
            team_ids: c.teams.ids.clone(),
            team_id_ends: c.teams.ends.clone(),
            memberships: c.memberships.clone(),
        }
    }

    #[test]
    fn teams_are_read_back_from_their_positions() {
        let request = assignment(conversation("cnv_1"))
            .candidate(agent("agt_b").in_team("tm_support").in_team("tm_sales"))
            .candidate(agent("agt_a"))
            .candidate(agent("agt_c").in_team("tm_sales").in_team("tm_sales"))
            .build();
        let teams: Vec<(&str, Vec<&str>)> = request
            .candidates
            .iter()
            .map(|c| (c.id, c.teams.iter().collect()))
            .collect();
        assert_eq!(
            teams,
            [
                ("agt_a", vec![]),
                ("agt_b", vec!["tm_sales", "tm_support"]),
                ("agt_c", vec!["tm_sales"]),
            ]
        );
        let b = request.candidates.find("agt_b").expect("b");
        assert!(b.in_team("tm_support") && !b.in_team("tm_billing"));
        assert_eq!(
            request.candidates.teams.ids, "tm_salestm_support",
            "once each"
        );

        // The layout the host sends reads back the same, and JSON round-trips.
        let back = AssignmentRequest::from_wire(wire_of(&request)).expect("valid");
        assert_eq!(back, request);
        let json = serde_json::to_value(&request).expect("json");
        assert_eq!(
            json["candidates"][1]["teams"],
            serde_json::json!(["tm_sales", "tm_support"])
        );
        let read: AssignmentRequest = serde_json::from_value(json).expect("reads");
        assert_eq!(read, request);
    }

    #[test]
    fn memberships_outside_what_was_sent_are_refused() {
        let request = assignment(conversation("cnv_1"))
            .candidate(agent("agt_a").in_team("tm_sales"))
            .candidate(agent("agt_b"))
            .build();
        let mut past_the_teams = wire_of(&request);
        past_the_teams.memberships[0] = 1;
        let mut past_the_end = wire_of(&request);
        past_the_end.candidates[1].memberships_end = 2;
        let mut backwards = wire_of(&request);
        backwards.candidates[0].memberships_end = 1;
        backwards.candidates[1].memberships_end = 0;
        let mut bad_team_end = wire_of(&request);
        bad_team_end.team_id_ends[0] = 99;
        for (what, wire) in [
            ("a team that was not sent", past_the_teams),
            ("an end past the memberships", past_the_end),
            ("ends going backwards", backwards),
            ("a team id past the string", bad_team_end),
        ] {
            assert!(
                matches!(
                    AssignmentRequest::from_wire(wire),
                    Err(PluginError::InvalidInput(_))
                ),
                "{what}"
            );
        }
    }

    #[test]
    fn ids_compare_as_their_bytes_do() {
        let ids = [
            "",
            "a",
            "agt_",
            "agt_0",
            "agt_00000000",
            "agt_000000000",
            "agt_00000001",
            "agt_0000000100000000000000000000000a",
            "agt_0000000100000000000000000000000b",
            "agt_00000001000000000000000000000000b",
            "agt_\u{e9}",
            "agt_\u{ff}z",
            "b",
        ];
        for a in ids {
            for b in ids {
                assert_eq!(compare_ids(a, b), a.cmp(b), "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn skipping_lands_where_stepping_does() {
        let request = ["agt_d", "agt_b", "agt_a", "agt_e", "agt_c"]
            .into_iter()
            .fold(assignment(conversation("cnv_1")), |r, id| {
                r.candidate(agent(id))
            })
            .build();
        let all: Vec<&str> = request.candidates.iter().map(|c| c.id).collect();
        for n in 0..=all.len() {
            let skipped: Vec<&str> = request.candidates.iter().skip(n).map(|c| c.id).collect();
            assert_eq!(skipped, all[n..], "skip({n})");
            let back = request.candidates.iter().nth_back(n).map(|c| c.id);
            assert_eq!(back, all.iter().rev().nth(n).copied(), "nth_back({n})");
        }
    }

    #[test]
    fn unknown_times_and_presence_come_back_typed() {
        let request = assignment(conversation("cnv_1"))
            .candidate(agent("agt_a").away().last_assigned_at(7))
            .build();
        let a = request.candidates.first().expect("one");
        assert_eq!(a.presence, Presence::Away);
        assert_eq!(a.idle_since_ms, None, "away clears it");
        assert_eq!(a.available_since_ms, None);
        assert_eq!(a.last_assigned_at_ms, Some(7));
        let wire = request.candidates.agents[0];
        assert_eq!(wire.presence, 1);
        assert_eq!(wire.idle_since_ms, i64::MIN);

        let mut odd = wire;
        odd.presence = 3;
        let refused = AssignmentRequest::from_wire(wire::AssignmentRequest {
            conversation: request.conversation.clone(),
            candidates: vec![odd],
            ids: "agt_a".into(),
            id_ends: vec![5],
            team_ids: String::new(),
            team_id_ends: Vec::new(),
            memberships: Vec::new(),
        });
        assert!(
            matches!(refused, Err(PluginError::InvalidInput(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn offsets_that_do_not_fit_the_ids_are_invalid_input() {
        let request = assignment(conversation("cnv_1"))
            .candidate(agent("agt_a"))
            .build();
        let state = request.candidates.agents[0];
        let wire_request = |ids: &str, id_ends: Vec<u32>, n: usize| wire::AssignmentRequest {
            conversation: request.conversation.clone(),
            candidates: vec![state; n],
            ids: ids.to_owned(),
            id_ends,
            team_ids: String::new(),
            team_id_ends: Vec::new(),
            memberships: Vec::new(),
        };
        let good =
            AssignmentRequest::from_wire(wire_request("agt_aagt_b", vec![5, 10], 2)).expect("fits");
        let ids: Vec<&str> = good.candidates.iter().map(|c| c.id).collect();
        assert_eq!(ids, ["agt_a", "agt_b"]);
        for (ids, ends, n) in [
            ("agt_a", vec![5, 6], 2),
            ("agt_aagt_b", vec![6, 5], 2),
            ("agt_a", vec![5], 2),
            ("é", vec![1], 1),
        ] {
            let refused = AssignmentRequest::from_wire(wire_request(ids, ends.clone(), n));
            assert!(
                matches!(refused, Err(PluginError::InvalidInput(_))),
                "{ids:?} {ends:?}: {refused:?}"
            );
        }
    }
}
