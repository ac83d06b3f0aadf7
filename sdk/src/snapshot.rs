//! Typed helpers over the snapshot the host passes in: who can take a
//! conversation, per-channel load, recency, and the text a customer wrote.

use crate::{
    Assignee, AssignmentRequest, Author, Candidate, Channel, ChannelLoad, ChannelLoads,
    Conversation, Event, EventKind, Presence,
};

impl Channel {
    /// The channel's name as the host's API writes it: `chat`, `email`,
    /// `call` or `form`.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Call => "call",
            Channel::Form => "form",
        }
    }
}

impl ChannelLoads {
    /// The load on one channel.
    pub fn on(&self, channel: Channel) -> ChannelLoad {
        match channel {
            Channel::Chat => self.chat,
            Channel::Email => self.email,
            Channel::Call => self.call,
            Channel::Form => self.form,
        }
    }

    /// Every channel with its load.
    pub fn iter(&self) -> impl Iterator<Item = (Channel, ChannelLoad)> {
        [
            (Channel::Chat, self.chat),
            (Channel::Email, self.email),
            (Channel::Call, self.call),
            (Channel::Form, self.form),
        ]
        .into_iter()
    }
}

impl Candidate<'_> {
    /// Whether the agent can take a new conversation on `channel` now: they
    /// are available and work that channel with room below capacity.
    pub fn can_take(&self, channel: Channel) -> bool {
        let load = self.load.on(channel);
        self.presence == Presence::Available && load.open < load.capacity
    }

    /// Open conversations on `channel` (0 when the agent does not work it).
    pub fn open_on(&self, channel: Channel) -> u32 {
        self.load.on(channel).open
    }

    /// Open conversations over every channel.
    pub fn total_open(&self) -> u32 {
        self.load
            .iter()
            .fold(0, |sum, (_, l)| sum.saturating_add(l.open))
    }

    /// How full the agent is on `channel`, from 0.0 (idle) to 1.0 (at
    /// capacity); 1.0 when they do not work the channel.
    pub fn utilisation(&self, channel: Channel) -> f64 {
        let load = self.load.on(channel);
        if load.capacity == 0 {
            return 1.0;
        }
        f64::from(load.open) / f64::from(load.capacity)
    }

    /// How long the agent has been waiting for work at `now_ms`, if they
    /// are available (see `idle-since-ms` in the contract).
    pub fn idle_for_ms(&self, now_ms: i64) -> Option<i64> {
        self.idle_since_ms.map(|since| (now_ms - since).max(0))
    }
}

impl AssignmentRequest {
    /// The candidates who can take this conversation now, in id order.
    ///
    /// ```
    /// use baton_sdk::Channel;
    /// use baton_sdk::testing::{agent, assignment, conversation};
    ///
    /// let request = assignment(conversation("cnv_1").channel(Channel::Chat))
    ///     .candidate(agent("agt_away").away())
    ///     .candidate(agent("agt_full").load(Channel::Chat, 3, 3))
    ///     .candidate(agent("agt_free").load(Channel::Chat, 1, 3))
    ///     .build();
    /// let ids: Vec<&str> = request.available().map(|c| c.id).collect();
    /// assert_eq!(ids, ["agt_free"]);
    /// ```
    pub fn available(&self) -> impl DoubleEndedIterator<Item = Candidate<'_>> {
        let channel = self.conversation.channel;
        self.candidates.iter().filter(move |c| c.can_take(channel))
    }

    /// The available candidate with the fewest open conversations on this
    /// channel (ties: the smallest id).
    pub fn least_loaded(&self) -> Option<Candidate<'_>> {
        let channel = self.conversation.channel;
        self.available().min_by_key(|c| c.open_on(channel))
    }

    /// The available candidate who has waited longest for work (ties and
    /// unknown idle times: the smallest id).
    pub fn longest_idle(&self) -> Option<Candidate<'_>> {
        self.available()
            .min_by_key(|c| c.idle_since_ms.unwrap_or(i64::MAX))
    }
}

impl Conversation {
    /// The conversation's free attributes. Empty when `attributes_json` is
    /// not a JSON object, so a plugin never fails on odd attributes.
    pub fn attributes(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&self.attributes_json).unwrap_or_default()
    }

    /// The agent who has the conversation, if an agent (not a bot) has it.
    pub fn agent(&self) -> Option<&str> {
        match &self.assignee {
            Some(Assignee::Agent(id)) => Some(id),
            _ => None,
        }
    }

    /// Everything the customer wrote in the recent messages, and the
    /// subject, one per line: what content rules look at.
    pub fn customer_text(&self) -> String {
        let mut text = self.subject.clone().unwrap_or_default();
        for message in &self.recent_messages {
            if message.author == Author::Customer && !message.internal {
                text.push('\n');
                text.push_str(&message.body);
            }
        }
        text
    }
}

impl Event {
    /// Whether this is the firing of the plugin's timer called `name`.
    pub fn is_timer(&self, name: &str) -> bool {
        self.kind == EventKind::TimerFired && self.timer.as_deref() == Some(name)
    }
}
