//! The input every way decides on: a conversation and 50 candidate agents,
//! in Baton's own types (`types::AssignmentRequest`), which is what the
//! server holds when it routes. The other ways start from this same value
//! and pay for turning it into their own input (JSON, Rhai values), since a
//! help desk using them would have to do the same.
//!
//! Snapshots come from a seeded generator rather than one hand-made team so
//! that the agreement check before timing meets every tie-break: equal load,
//! equal or missing last-assignment times, full channels, absent agents.

use baton_host::plugin::bindings::types;
use baton_host::plugin::{AgentState, AssignmentRequest, Candidate};

/// Candidates per decision, as in `host/benches/decision.rs`.
pub(crate) const CANDIDATES: usize = 50;

/// The snapshot that is timed.
pub(crate) const TIMED_SEED: u64 = 7;

/// A small deterministic generator (xorshift64*): the benchmark must not
/// depend on a random crate's algorithm changing between versions.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Never zero, or xorshift stays at zero forever.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The snapshot for `seed`: deterministic, so every way sees the same one.
pub(crate) fn generate(seed: u64) -> AssignmentRequest {
    let mut rng = Rng::new(seed);
    let channel = match rng.below(3) {
        0 => types::Channel::Chat,
        1 => types::Channel::Email,
        _ => types::Channel::Call,
    };
    let mut candidates: Vec<_> = (0..CANDIDATES).map(|_| candidate(&mut rng)).collect();
    // Now and then a rush hour: every agent is full on the channel, so the
    // conversation must queue. The check needs that answer too.
    if seed % 20 == 19 {
        for c in &mut candidates {
            let load = match channel {
                types::Channel::Chat => &mut c.agent.load.chat,
                types::Channel::Email => &mut c.agent.load.email,
                types::Channel::Call => &mut c.agent.load.call,
                types::Channel::Form => &mut c.agent.load.form,
            };
            load.open = load.capacity;
        }
    }
    AssignmentRequest::new(conversation(seed, channel), candidates)
}

fn candidate(rng: &mut Rng) -> Candidate {
    let presence = match rng.below(8) {
        0 => types::Presence::Away,
        1 => types::Presence::Offline,
        _ => types::Presence::Available,
    };
    // Few distinct values, so that loads and times often tie.
    let mut on_channel = |open_below: u64, capacity: u32| types::ChannelLoad {
        open: rng.below(open_below) as u32,
        capacity,
    };
    // Form capacity 0: nobody works that channel, as on many help desks.
    let load = types::ChannelLoads {
        chat: on_channel(4, 3),
        email: on_channel(4, 6),
        call: on_channel(2, 1),
        form: on_channel(1, 0),
    };
    let last_assigned_at_ms = match rng.below(6) {
        0 => None,
        n => Some(1_700_000_000_000 + (n as i64) * 60_000),
    };
    Candidate {
        // Ids are not in generation order, so "smallest id" is a real rule
        // (the request puts them in id order, as the host does).
        id: format!("agt_{:032x}", rng.below(1 << 20)),
        // The peers decide on load alone; teams would only be carried.
        teams: Vec::new(),
        agent: AgentState {
            presence,
            load,
            available_since_ms: Some(1_699_999_000_000),
            idle_since_ms: Some(1_699_999_500_000),
            last_assigned_at_ms,
            handled: rng.below(200) as u32,
        },
    }
}

/// A realistic conversation: the plugin and the webhook both receive it,
/// even though least-loaded reads only its channel.
fn conversation(seed: u64, channel: types::Channel) -> types::Conversation {
    types::Conversation {
        id: format!("cnv_{seed:032x}"),
        channel,
        subject: Some("Where is my order?".into()),
        status: types::ConversationStatus::Open,
        contact: types::Contact {
            name: Some("Kim".into()),
            email: Some("kim@example.com".into()),
        },
        attributes_json: r#"{"website":"shop.example.com","browser":"Firefox"}"#.into(),
        assignee: None,
        team: None,
        created_at_ms: 1_700_000_200_000,
        recent_messages: vec![types::Message {
            author: types::Author::Customer,
            body: "Hi, my order has not arrived.".into(),
            internal: false,
            at_ms: 1_700_000_200_000,
        }],
    }
}

/// The conversation's channel as the lower-case name the JSON and Rhai
/// peers use for the per-channel loads.
pub(crate) fn channel_key(channel: types::Channel) -> &'static str {
    match channel {
        types::Channel::Chat => "chat",
        types::Channel::Email => "email",
        types::Channel::Call => "call",
        types::Channel::Form => "form",
    }
}
