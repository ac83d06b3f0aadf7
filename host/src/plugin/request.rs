//! What an assignment strategy decides over, in the host's own terms.
//!
//! Contracts differ in how a request travels: up to 0.2.0 every candidate
//! carried its id as a string field and its times as options; since 0.3.0
//! the ids travel together in one string beside a list of records of plain
//! integers, and since 0.4.0 the candidates' teams travel once each, with
//! every candidate's memberships as positions in that list (see
//! `sdk/wit/types.wit`).
//! The host builds one [`AssignmentRequest`], with each candidate's id beside
//! its state, and each contract's call path lowers it its own way
//! ([`super::lower`] for the current one, [`super::legacy`] for older ones).
//!
//! Its JSON form is the one every contract version has had (a candidate's
//! id among its fields), so recorded cases and `baton plugin test` files
//! written before 0.3.0 still read.

use serde::{Deserialize, Serialize};

use super::bindings::types;

/// The conversation and every candidate in scope, in id order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Unordered")]
pub struct AssignmentRequest {
    pub conversation: types::Conversation,
    /// Sorted by id (byte order), as the contract promises since 0.3.0.
    candidates: Vec<Candidate>,
    /// Every team any candidate is in, sorted and once each: the team list
    /// the 0.4.0 contract passes.
    #[serde(skip)]
    teams: Vec<String>,
    /// Every candidate's teams as positions in `teams`, candidate after
    /// candidate, and where each candidate's run ends: worked out once
    /// here rather than on every call, which would compare team ids again.
    #[serde(skip)]
    memberships: Vec<u32>,
    #[serde(skip)]
    memberships_ends: Vec<u32>,
}

/// An agent the strategy may choose, with its id and teams.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    /// The teams the agent belongs to, by id, sorted. Case files written
    /// before 0.4.0 have none.
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(flatten)]
    pub agent: AgentState,
}

/// What a strategy knows of a candidate besides the id, typed (the 0.3.0
/// contract encodes `presence` as its index and unknown times as the least
/// `s64`; see [`super::lower`]).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AgentState {
    pub presence: types::Presence,
    pub load: types::ChannelLoads,
    /// When the agent last became available, if they are.
    pub available_since_ms: Option<i64>,
    /// When the agent has been waiting for work since, if available.
    pub idle_since_ms: Option<i64>,
    /// When the agent was last given a conversation, if ever.
    pub last_assigned_at_ms: Option<i64>,
    /// Conversations the agent has been given in all.
    pub handled: u32,
}

impl AssignmentRequest {
    /// A request over `candidates`, put in id order.
    pub fn new(conversation: types::Conversation, mut candidates: Vec<Candidate>) -> Self {
        // Usually already sorted (agents are read in id order), which the
        // sort notices in one pass.
        candidates.sort_by(|a, b| a.id.cmp(&b.id));
        for candidate in &mut candidates {
            candidate.teams.sort_unstable();
            candidate.teams.dedup();
        }
        let mut distinct: Vec<&str> = candidates
            .iter()
            .flat_map(|c| c.teams.iter().map(String::as_str))
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut memberships = Vec::new();
        let mut memberships_ends = Vec::with_capacity(candidates.len());
        for candidate in &candidates {
            // Both sorted, so the positions come out ascending; every team
            // is in `distinct`, which was made from them.
            memberships.extend(
                candidate
                    .teams
                    .iter()
                    .filter_map(|t| distinct.binary_search(&t.as_str()).ok())
                    .map(position),
            );
            memberships_ends.push(position(memberships.len()));
        }
        let teams = distinct.into_iter().map(str::to_owned).collect();
        Self {
            conversation,
            candidates,
            teams,
            memberships,
            memberships_ends,
        }
    }

    /// The candidates, in id order.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// Every team any candidate is in, in id order, once each.
    pub fn teams(&self) -> &[String] {
        &self.teams
    }

    /// Every candidate's teams as positions in [`Self::teams`], candidate
    /// after candidate, and where each candidate's run ends (one per
    /// candidate): the 0.4.0 contract's `memberships` and
    /// `memberships-end`s.
    pub fn memberships(&self) -> (&[u32], &[u32]) {
        (&self.memberships, &self.memberships_ends)
    }
}

/// A position or count as the contract's `u32`. A request holds far fewer
/// than 2^32 of anything (guest memory is 4 GiB at most).
fn position(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The serialised form, whose candidates may come in any order.
#[derive(Deserialize)]
struct Unordered {
    conversation: types::Conversation,
    candidates: Vec<Candidate>,
}

impl From<Unordered> for AssignmentRequest {
    fn from(request: Unordered) -> Self {
        Self::new(request.conversation, request.candidates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str) -> Candidate {
        let none = types::ChannelLoad {
            open: 0,
            capacity: 0,
        };
        Candidate {
            id: id.into(),
            teams: Vec::new(),
            agent: AgentState {
                presence: types::Presence::Available,
                load: types::ChannelLoads {
                    chat: types::ChannelLoad {
                        open: 1,
                        capacity: 3,
                    },
                    email: none,
                    call: none,
                    form: none,
                },
                available_since_ms: Some(5),
                idle_since_ms: None,
                last_assigned_at_ms: None,
                handled: 2,
            },
        }
    }

    fn conversation() -> types::Conversation {
        types::Conversation {
            id: "cnv_1".into(),
            channel: types::Channel::Chat,
            subject: None,
            status: types::ConversationStatus::Open,
            contact: types::Contact {
                name: None,
                email: None,
            },
            attributes_json: "{}".into(),
            assignee: None,
            team: None,
            created_at_ms: 1,
            recent_messages: Vec::new(),
        }
    }

    #[test]
    fn candidates_are_kept_in_id_order_however_they_come() {
        let built = AssignmentRequest::new(
            conversation(),
            vec![candidate("agt_c"), candidate("agt_a"), candidate("agt_b")],
        );
        let ids: Vec<&str> = built.candidates().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["agt_a", "agt_b", "agt_c"]);

        // A case file written by hand, in any order, reads sorted too.
        let mut json = serde_json::to_value(&built).expect("json");
        json["candidates"].as_array_mut().expect("list").reverse();
        let read: AssignmentRequest = serde_json::from_value(json).expect("reads");
        let ids: Vec<&str> = read.candidates().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["agt_a", "agt_b", "agt_c"]);
    }

    #[test]
    fn the_json_keeps_the_id_among_the_candidates_fields() {
        let built = AssignmentRequest::new(conversation(), vec![candidate("agt_a")]);
        let json = serde_json::to_value(&built).expect("json");
        let first = &json["candidates"][0];
        assert_eq!(first["id"], "agt_a");
        assert_eq!(first["presence"], "Available");
        assert_eq!(first["load"]["chat"]["capacity"], 3);
        assert_eq!(first["handled"], 2);
        // So a request converts straight to the 0.2.0 contract's shape.
        let old: crate::plugin::bindings::v0_2::types::AssignmentRequest =
            serde_json::from_value(json).expect("0.2.0 reads it");
        assert_eq!(old.candidates[0].id, "agt_a");
        assert_eq!(old.candidates[0].handled, 2);
    }

    #[test]
    fn teams_are_listed_once_in_id_order_and_old_case_files_have_none() {
        let mut a = candidate("agt_a");
        a.teams = vec!["team_b".into(), "team_a".into(), "team_b".into()];
        let mut b = candidate("agt_b");
        b.teams = vec!["team_c".into(), "team_a".into()];
        let built = AssignmentRequest::new(conversation(), vec![b, a, candidate("agt_c")]);
        assert_eq!(built.teams(), ["team_a", "team_b", "team_c"]);
        assert_eq!(built.candidates()[0].teams, ["team_a", "team_b"]);
        assert_eq!(built.candidates()[1].teams, ["team_a", "team_c"]);
        // agt_a: team_a, team_b; agt_b: team_a, team_c; agt_c: none.
        assert_eq!(built.memberships(), (&[0, 1, 0, 2][..], &[2, 4, 4][..]));

        // Read back from JSON, the team list is rebuilt; without `teams`
        // (a case recorded before 0.4.0) a candidate is in none.
        let mut json = serde_json::to_value(&built).expect("json");
        assert_eq!(
            json["candidates"][1]["teams"],
            serde_json::json!(["team_a", "team_c"])
        );
        let read: AssignmentRequest = serde_json::from_value(json.clone()).expect("reads");
        assert_eq!(read.teams(), built.teams());
        for candidate in json["candidates"].as_array_mut().expect("list") {
            candidate.as_object_mut().expect("object").remove("teams");
        }
        let old: AssignmentRequest = serde_json::from_value(json).expect("reads");
        assert!(old.teams().is_empty());
        assert!(old.candidates().iter().all(|c| c.teams.is_empty()));
    }
}
