//! least-loaded as an Extism plugin, written the way Extism plugins
//! usually are: the host passes the request as JSON, the plugin answers
//! JSON. Only the fields the rule reads are declared; serde skips the rest
//! of the request (the conversation's messages, contact, attributes).
//!
//! The request is the JSON form of Baton's `AssignmentRequest` (serde's
//! default for its generated types: enum values are `"Available"`,
//! `"Chat"`, ...).

use extism_pdk::{FnResult, Json, plugin_fn};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Request {
    conversation: Conversation,
    candidates: Vec<Candidate>,
}

#[derive(Deserialize)]
struct Conversation {
    channel: Channel,
}

#[derive(Clone, Copy, Deserialize)]
enum Channel {
    Chat,
    Email,
    Call,
    Form,
}

#[derive(Deserialize)]
struct Candidate {
    id: String,
    presence: Presence,
    load: Loads,
    last_assigned_at_ms: Option<i64>,
}

#[derive(PartialEq, Eq, Deserialize)]
enum Presence {
    Available,
    Away,
    Offline,
}

#[derive(Deserialize)]
struct Loads {
    chat: Load,
    email: Load,
    call: Load,
    form: Load,
}

#[derive(Clone, Copy, Deserialize)]
struct Load {
    open: u32,
    capacity: u32,
}

/// The answer: the chosen agent, or `null` to leave it queued.
#[derive(Serialize)]
struct Decision {
    agent: Option<String>,
}

impl Candidate {
    fn can_take(&self, channel: Channel) -> bool {
        let load = match channel {
            Channel::Chat => self.load.chat,
            Channel::Email => self.load.email,
            Channel::Call => self.load.call,
            Channel::Form => self.load.form,
        };
        self.presence == Presence::Available && load.open < load.capacity
    }

    fn total_open(&self) -> u32 {
        let l = &self.load;
        [l.chat, l.email, l.call, l.form]
            .iter()
            .fold(0u32, |sum, load| sum.saturating_add(load.open))
    }
}

/// Fewest open conversations over all channels among the agents who can
/// take one on the conversation's channel; ties to the least recently
/// assigned (never assigned first: `None` orders before any time), then
/// the smallest id.
#[plugin_fn]
pub fn decide(Json(request): Json<Request>) -> FnResult<Json<Decision>> {
    let channel = request.conversation.channel;
    let agent = request
        .candidates
        .into_iter()
        .filter(|c| c.can_take(channel))
        .min_by(|a, b| {
            (a.total_open(), a.last_assigned_at_ms, &a.id).cmp(&(
                b.total_open(),
                b.last_assigned_at_ms,
                &b.id,
            ))
        })
        .map(|c| c.id);
    Ok(Json(Decision { agent }))
}
