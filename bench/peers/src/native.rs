//! The decision as a plain Rust function over the host's own data: the
//! floor every other way is compared with.

use baton_host::plugin::bindings::types;
use baton_host::plugin::{AgentState, AssignmentRequest};

/// least-loaded: among the available agents with room on the
/// conversation's channel, the fewest open conversations over all
/// channels; ties to the least recently assigned (never assigned first),
/// then the smallest id. `None` when nobody can take it.
pub(crate) fn least_loaded(request: &AssignmentRequest) -> Option<String> {
    let channel = request.conversation.channel;
    request
        .candidates()
        .iter()
        .filter(|c| can_take(&c.agent, channel))
        // `Option`'s order puts `None` (never assigned) first, as the rule wants.
        .min_by(|a, b| {
            (total_open(&a.agent), a.agent.last_assigned_at_ms, &a.id).cmp(&(
                total_open(&b.agent),
                b.agent.last_assigned_at_ms,
                &b.id,
            ))
        })
        .map(|c| c.id.clone())
}

/// Which part of the rule chose the agent: the agreement check uses this
/// to show that the snapshots it compares on exercise every tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DecidedBy {
    /// Nobody could take the conversation.
    Nobody,
    /// One agent had the fewest open conversations.
    Load,
    /// Several did; the least recently assigned won.
    LastAssigned,
    /// Several were also assigned at the same time (or never); the smallest id won.
    Id,
}

pub(crate) fn decided_by(request: &AssignmentRequest) -> DecidedBy {
    let channel = request.conversation.channel;
    let eligible: Vec<_> = request
        .candidates()
        .iter()
        .map(|c| &c.agent)
        .filter(|c| can_take(c, channel))
        .collect();
    let Some(fewest) = eligible.iter().map(|c| total_open(c)).min() else {
        return DecidedBy::Nobody;
    };
    let tied: Vec<_> = eligible
        .into_iter()
        .filter(|c| total_open(c) == fewest)
        .collect();
    if tied.len() == 1 {
        return DecidedBy::Load;
    }
    let earliest = tied.iter().map(|c| c.last_assigned_at_ms).min();
    let still_tied = tied
        .iter()
        .filter(|c| Some(c.last_assigned_at_ms) == earliest)
        .count();
    if still_tied == 1 {
        DecidedBy::LastAssigned
    } else {
        DecidedBy::Id
    }
}

fn can_take(candidate: &AgentState, channel: types::Channel) -> bool {
    let load = match channel {
        types::Channel::Chat => candidate.load.chat,
        types::Channel::Email => candidate.load.email,
        types::Channel::Call => candidate.load.call,
        types::Channel::Form => candidate.load.form,
    };
    candidate.presence == types::Presence::Available && load.open < load.capacity
}

fn total_open(candidate: &AgentState) -> u32 {
    let l = &candidate.load;
    [l.chat, l.email, l.call, l.form]
        .iter()
        .fold(0u32, |sum, load| sum.saturating_add(load.open))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot;

    fn team(members: &[(&str, u32, Option<i64>)]) -> AssignmentRequest {
        let generated = snapshot::generate(0);
        let mut conversation = generated.conversation.clone();
        conversation.channel = types::Channel::Chat;
        let first = generated.candidates()[0].agent;
        let candidates = members
            .iter()
            .map(|&(id, chat_open, last)| {
                let mut agent = first;
                agent.presence = types::Presence::Available;
                agent.load.chat = types::ChannelLoad {
                    open: chat_open,
                    capacity: 3,
                };
                agent.load.email.open = 0;
                agent.load.call.open = 0;
                agent.load.form.open = 0;
                agent.last_assigned_at_ms = last;
                baton_host::plugin::Candidate {
                    id: id.into(),
                    teams: Vec::new(),
                    agent,
                }
            })
            .collect();
        AssignmentRequest::new(conversation, candidates)
    }

    #[test]
    fn fewest_open_then_least_recent_then_smallest_id() {
        let pick = |members: &[(&str, u32, Option<i64>)]| least_loaded(&team(members));
        assert_eq!(
            pick(&[("agt_b", 1, None), ("agt_a", 2, None)]).as_deref(),
            Some("agt_b")
        );
        assert_eq!(
            pick(&[("agt_a", 1, Some(20)), ("agt_b", 1, Some(10))]).as_deref(),
            Some("agt_b")
        );
        assert_eq!(
            pick(&[("agt_a", 1, Some(10)), ("agt_b", 1, None)]).as_deref(),
            Some("agt_b"),
            "never assigned counts as least recent"
        );
        assert_eq!(
            pick(&[("agt_b", 1, Some(10)), ("agt_a", 1, Some(10))]).as_deref(),
            Some("agt_a")
        );
        assert_eq!(pick(&[("agt_a", 3, None)]), None, "a full channel");
    }
}
