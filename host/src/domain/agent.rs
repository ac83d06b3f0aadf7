//! Agents: roles, presence and per-channel capacity.

use std::collections::{BTreeMap, HashMap};

use super::{AgentId, Channel, Invalid, Millis, TeamId, TicketAccess, parse_line};

text_enum!(
    /// What an agent may do in the tenant.
    Role {
        Admin = "admin",
        Supervisor = "supervisor",
        Agent = "agent",
    }
);

text_enum!(
    /// Whether an agent takes new work.
    Presence {
        Available = "available",
        Away = "away",
        Offline = "offline",
    }
);

/// An agent's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentName(String);

impl AgentName {
    /// Longest accepted name, in characters.
    pub const MAX: usize = 200;

    pub fn parse(value: &str) -> Result<Self, Invalid> {
        parse_line(value, Self::MAX).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address: one `@` with text on both sides and a dot in the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = parse_line(value, 320)?;
        let valid = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !value.contains(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Self(value))
        } else {
            Err(Invalid::new(
                "must be an e-mail address such as ana@example.com",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many open conversations an agent takes at once, per channel. A
/// channel that is absent takes none: an agent only gets work on the
/// channels they were set up for.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Capacity(BTreeMap<Channel, u32>);

impl Capacity {
    /// Highest capacity accepted on one channel; a guard against typos.
    pub const MAX_PER_CHANNEL: u32 = 1_000;

    /// Parse `{"chat":3,"email":10,"call":1}`.
    pub fn parse(value: &serde_json::Value) -> Result<Self, (String, Invalid)> {
        let object = value.as_object().ok_or_else(|| {
            (
                String::new(),
                Invalid::new("must be an object of channel to number"),
            )
        })?;
        let mut out = BTreeMap::new();
        for (key, limit) in object {
            let channel = Channel::parse(key).map_err(|e| (key.clone(), e))?;
            let limit = limit
                .as_u64()
                .filter(|n| *n <= u64::from(Self::MAX_PER_CHANNEL))
                .ok_or_else(|| {
                    (
                        key.clone(),
                        Invalid::new(format!(
                            "must be a whole number from 0 to {}",
                            Self::MAX_PER_CHANNEL
                        )),
                    )
                })?;
            // A call line holds one call at a time (answering another ends it).
            if channel == Channel::Call && limit > 1 {
                return Err((
                    key.clone(),
                    Invalid::new("a call line takes one call at a time: use 0 or 1"),
                ));
            }
            out.insert(channel, u32::try_from(limit).unwrap_or(0));
        }
        Ok(Self(out))
    }

    /// The limit on one channel (zero if the agent does not work it).
    pub fn on(&self, channel: Channel) -> u32 {
        self.0.get(&channel).copied().unwrap_or(0)
    }

    /// The channels with their limits.
    pub fn iter(&self) -> impl Iterator<Item = (Channel, u32)> + '_ {
        self.0.iter().map(|(c, n)| (*c, *n))
    }

    /// Whether this capacity has room for more than `before` on some
    /// channel: raising a limit may let a queued conversation through.
    pub fn raised_from(&self, before: &Capacity) -> bool {
        self.iter()
            .any(|(channel, limit)| limit > before.on(channel))
    }

    /// Stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }

    /// Read back the stored form; unknown channels are ignored.
    pub fn from_json(text: &str) -> Self {
        let raw: BTreeMap<String, u32> = serde_json::from_str(text).unwrap_or_default();
        Self(
            raw.into_iter()
                .filter_map(|(k, v)| Channel::parse(&k).ok().map(|c| (c, v)))
                .collect(),
        )
    }
}

/// A team as stored.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TeamRecord {
    pub id: TeamId,
    pub name: String,
    /// Weekly business hours; `None`: always open.
    pub hours: Option<serde_json::Value>,
    pub created_at: Millis,
}

/// A new agent, already validated.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub teams: Vec<TeamId>,
    pub capacity: Capacity,
    /// Which help-desk tickets the agent sees.
    pub ticket_access: TicketAccess,
}

/// An agent as stored, with their open load per channel.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct AgentRecord {
    pub id: AgentId,
    pub name: String,
    pub email: String,
    pub role: Role,
    #[serde(rename = "status")]
    pub presence: Presence,
    pub teams: Vec<TeamId>,
    pub capacity: Capacity,
    /// Which help-desk tickets the agent sees.
    pub ticket_access: TicketAccess,
    /// Open conversations per channel right now.
    pub load: HashMap<Channel, u32>,
    pub available_since: Option<Millis>,
    /// When the agent last finished (closed) a conversation.
    pub freed_at: Option<Millis>,
    pub last_assigned_at: Option<Millis>,
    /// Conversations given to this agent in all.
    pub handled: u32,
    pub created_at: Millis,
}

impl AgentRecord {
    /// Since when an available agent has been waiting for work: the later of
    /// becoming available and finishing their last conversation.
    pub fn idle_since(&self) -> Option<Millis> {
        if self.presence != Presence::Available {
            return None;
        }
        match (self.available_since, self.freed_at) {
            (Some(a), Some(f)) => Some(a.max(f)),
            (a, f) => a.or(f),
        }
    }

    /// Whether the agent can take one more conversation on `channel` now.
    pub fn can_take(&self, channel: Channel) -> bool {
        self.presence == Presence::Available
            && self.load.get(&channel).copied().unwrap_or(0) < self.capacity.on(channel)
    }
}

/// What an agent is doing, apart from who they are: the part of an
/// [`AgentRecord`] that routing changes on nearly every decision, read on
/// its own when only it moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentWork {
    pub id: AgentId,
    /// Open conversations per channel; a channel missing has none.
    pub load: HashMap<Channel, u32>,
    pub freed_at: Option<Millis>,
    pub last_assigned_at: Option<Millis>,
    pub handled: u32,
}

/// Bring `agents` up to date with `work`: each agent named takes the work
/// given, whole; an agent the list does not hold (added since it was read)
/// is left for the next full read. Work for one agent given twice: the
/// later wins.
pub fn apply_work(agents: &mut [AgentRecord], work: Vec<AgentWork>) {
    for work in work {
        // A few agents' work moves between two decisions: a look along
        // the list costs less than indexing it.
        if let Some(agent) = agents.iter_mut().find(|a| a.id == work.id) {
            agent.load = work.load;
            agent.freed_at = work.freed_at;
            agent.last_assigned_at = work.last_assigned_at;
            agent.handled = work.handled;
        }
    }
}

/// What an assignment not yet committed does to its agent's work, so that
/// a decision made after it in the same group of events (see
/// `routing::group`) sees the agent as the commit will leave them: one more
/// open conversation on the channel, one more handled, assigned at `now`.
/// The database counts the same on commit, and the next read of the work
/// that moved replaces this whole. An agent the list does not hold is left
/// alone.
pub fn assume_assigned(agents: &mut [AgentRecord], agent: &AgentId, channel: Channel, now: Millis) {
    if let Some(agent) = agents.iter_mut().find(|a| &a.id == agent) {
        *agent.load.entry(channel).or_insert(0) += 1;
        agent.handled = agent.handled.saturating_add(1);
        agent.last_assigned_at = Some(now);
    }
}

/// What an admin changes of an agent (`PATCH /v1/agents/{id}`); each
/// `None` leaves that part as it is. `teams` replaces the whole set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub teams: Option<Vec<TeamId>>,
    pub capacity: Option<Capacity>,
    pub ticket_access: Option<TicketAccess>,
}

impl AgentPatch {
    /// The agent as the patch leaves them.
    pub fn applied_to(&self, agent: &AgentRecord) -> AgentRecord {
        let mut changed = agent.clone();
        if let Some(name) = &self.name {
            changed.name.clone_from(name);
        }
        if let Some(role) = self.role {
            changed.role = role;
        }
        if let Some(teams) = &self.teams {
            changed.teams.clone_from(teams);
        }
        if let Some(capacity) = &self.capacity {
            changed.capacity = capacity.clone();
        }
        if let Some(access) = self.ticket_access {
            changed.ticket_access = access;
        }
        changed
    }

    /// Whether the change may let `before` take work waiting now: more room
    /// on a channel, or a team they were not in (its queue is theirs now).
    /// The queue is tried again when it does.
    pub fn opens_work(&self, before: &AgentRecord) -> bool {
        let more_room = self
            .capacity
            .as_ref()
            .is_some_and(|capacity| capacity.raised_from(&before.capacity));
        let new_team = self
            .teams
            .as_ref()
            .is_some_and(|teams| teams.iter().any(|team| !before.teams.contains(team)));
        more_room || new_team
    }
}

/// What refers to a team. A team goes only when nothing does: its
/// members, the conversations still open in it and the rules that send
/// work to it would otherwise point at nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TeamUses {
    pub members: u64,
    pub open_conversations: u64,
    pub rules: u64,
}

impl TeamUses {
    /// Why the team cannot go yet, or `None` when nothing uses it.
    pub fn refusal(&self) -> Option<String> {
        let uses = super::uses_in_words(&[
            (self.members, "member"),
            (self.open_conversations, "open conversation"),
            (self.rules, "assignment rule"),
        ]);
        (!uses.is_empty()).then(|| {
            format!(
                "the team still has {}; move or remove them first",
                uses.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_parses_and_names_the_bad_channel() {
        let ok = Capacity::parse(&serde_json::json!({"chat": 3, "call": 1})).unwrap();
        assert_eq!(ok.on(Channel::Chat), 3);
        assert_eq!(ok.on(Channel::Email), 0);
        let (field, _) = Capacity::parse(&serde_json::json!({"fax": 1})).unwrap_err();
        assert_eq!(field, "fax");
        let (field, _) = Capacity::parse(&serde_json::json!({"chat": -1})).unwrap_err();
        assert_eq!(field, "chat");
        let (field, _) = Capacity::parse(&serde_json::json!({"call": 2})).unwrap_err();
        assert_eq!(field, "call");
        assert_eq!(Capacity::from_json(&ok.to_json()), ok);
    }

    #[test]
    fn a_capacity_is_raised_when_any_channel_gains_room() {
        let cap = |v| Capacity::parse(&v).expect("capacity");
        let before = cap(serde_json::json!({"chat": 2, "email": 10}));
        assert!(cap(serde_json::json!({"chat": 3, "email": 1})).raised_from(&before));
        assert!(cap(serde_json::json!({"chat": 2, "email": 10, "call": 1})).raised_from(&before));
        assert!(!cap(serde_json::json!({"chat": 2, "email": 10})).raised_from(&before));
        assert!(!cap(serde_json::json!({"chat": 1})).raised_from(&before));
    }

    use crate::domain::fixtures::agent;

    #[test]
    fn work_replaces_the_named_agents_work_whole_and_nothing_else() {
        let cap = serde_json::json!({"chat": 2});
        let mut ana = agent(Presence::Available, cap.clone());
        ana.load = HashMap::from([(Channel::Chat, 2), (Channel::Email, 1)]);
        let bo = agent(Presence::Available, cap);
        let mut agents = vec![ana.clone(), bo.clone()];
        let idle = |id: &AgentId, handled| AgentWork {
            id: id.clone(),
            load: HashMap::new(),
            freed_at: None,
            last_assigned_at: None,
            handled,
        };
        let stranger = idle(&AgentId::generate(), 9);
        let first = AgentWork {
            load: HashMap::from([(Channel::Chat, 2)]),
            ..idle(&ana.id, 4)
        };
        let later = AgentWork {
            id: ana.id.clone(),
            // Ana closed her chat: the channel is gone, not kept at 2.
            load: HashMap::from([(Channel::Email, 1)]),
            freed_at: Some(Millis(7)),
            last_assigned_at: Some(Millis(5)),
            handled: 5,
        };
        apply_work(&mut agents, vec![stranger, first, later.clone()]);
        assert_eq!(agents[0].load, later.load);
        assert_eq!(agents[0].freed_at, Some(Millis(7)));
        assert_eq!(agents[0].last_assigned_at, Some(Millis(5)));
        assert_eq!(agents[0].handled, 5);
        assert!(agents[0].can_take(Channel::Chat));
        // Who Ana is did not move, and Bo is as he was.
        assert_eq!(agents[0].name, ana.name);
        assert_eq!(agents[0].presence, ana.presence);
        let json = |a: &AgentRecord| serde_json::to_value(a).expect("json");
        assert_eq!(json(&agents[1]), json(&bo));
        assert_eq!(agents.len(), 2);
    }

    #[test]
    fn an_assumed_assignment_counts_on_its_channel_for_its_agent_only() {
        let ana = agent(Presence::Available, serde_json::json!({"chat": 2}));
        let bo = agent(Presence::Available, serde_json::json!({"chat": 2}));
        let mut agents = vec![ana.clone(), bo.clone()];
        assume_assigned(&mut agents, &ana.id, Channel::Chat, Millis(9));
        assert_eq!(agents[0].load.get(&Channel::Chat), Some(&1));
        assert_eq!(agents[0].handled, ana.handled + 1);
        assert_eq!(agents[0].last_assigned_at, Some(Millis(9)));
        assert!(agents[0].can_take(Channel::Chat));
        assume_assigned(&mut agents, &ana.id, Channel::Chat, Millis(10));
        assert!(!agents[0].can_take(Channel::Chat), "two of two");
        let json = |a: &AgentRecord| serde_json::to_value(a).expect("json");
        assert_eq!(json(&agents[1]), json(&bo));
        // Someone the list does not hold changes nothing.
        let before = json(&agents[0]);
        assume_assigned(&mut agents, &AgentId::generate(), Channel::Chat, Millis(11));
        assert_eq!(json(&agents[0]), before);
    }

    #[test]
    fn an_available_agent_takes_work_while_the_channel_has_room() {
        let mut ana = agent(
            Presence::Available,
            serde_json::json!({"chat": 2, "call": 1}),
        );
        assert!(ana.can_take(Channel::Chat));
        assert!(
            !ana.can_take(Channel::Email),
            "a channel not set up takes none"
        );
        ana.load.insert(Channel::Chat, 1);
        assert!(ana.can_take(Channel::Chat));
        ana.load.insert(Channel::Chat, 2);
        assert!(!ana.can_take(Channel::Chat), "full");
        assert!(ana.can_take(Channel::Call), "load counts per channel");
        ana.load.insert(Channel::Chat, 5);
        assert!(!ana.can_take(Channel::Chat), "over a lowered limit");
    }

    #[test]
    fn an_agent_away_or_offline_takes_nothing() {
        for presence in [Presence::Away, Presence::Offline] {
            let bo = agent(presence, serde_json::json!({"chat": 3}));
            assert!(!bo.can_take(Channel::Chat), "{presence}");
        }
    }

    #[test]
    fn an_agent_is_idle_since_the_later_of_becoming_available_and_finishing() {
        let mut ana = agent(Presence::Available, serde_json::json!({"chat": 1}));
        assert_eq!(ana.idle_since(), None, "never available, never freed");
        ana.available_since = Some(Millis(100));
        assert_eq!(ana.idle_since(), Some(Millis(100)));
        ana.freed_at = Some(Millis(250));
        assert_eq!(ana.idle_since(), Some(Millis(250)));
        ana.available_since = Some(Millis(300));
        assert_eq!(ana.idle_since(), Some(Millis(300)));
        ana.available_since = None;
        assert_eq!(ana.idle_since(), Some(Millis(250)), "freed only");
        for presence in [Presence::Away, Presence::Offline] {
            ana.presence = presence;
            assert_eq!(ana.idle_since(), None, "{presence}");
        }
    }

    #[test]
    fn email_needs_an_at_and_a_domain() {
        assert!(Email::parse("ana@example.com").is_ok());
        for bad in ["", "ana", "ana@", "@x.com", "ana@localhost", "a b@x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_opens_work_when_room_or_a_team_is_gained() {
        let before = AgentRecord {
            teams: vec![TeamId::generate()],
            ..agent(Presence::Available, serde_json::json!({"chat": 2}))
        };
        let renamed = AgentPatch {
            name: Some("Ana B.".into()),
            ..AgentPatch::default()
        };
        let after = renamed.applied_to(&before);
        assert_eq!(after.name, "Ana B.");
        assert_eq!((after.role, &after.teams), (before.role, &before.teams));
        assert!(!renamed.opens_work(&before));

        let cap = |v| Capacity::parse(&v).expect("capacity");
        let lowered = AgentPatch {
            capacity: Some(cap(serde_json::json!({"chat": 1}))),
            ..AgentPatch::default()
        };
        assert!(!lowered.opens_work(&before));
        let raised = AgentPatch {
            capacity: Some(cap(serde_json::json!({"chat": 2, "email": 1}))),
            ..AgentPatch::default()
        };
        assert!(raised.opens_work(&before));

        let left_team = AgentPatch {
            teams: Some(Vec::new()),
            ..AgentPatch::default()
        };
        assert!(!left_team.opens_work(&before));
        assert!(left_team.applied_to(&before).teams.is_empty());
        let joined = AgentPatch {
            teams: Some(vec![before.teams[0].clone(), TeamId::generate()]),
            ..AgentPatch::default()
        };
        assert!(joined.opens_work(&before));
    }

    #[test]
    fn a_team_goes_only_when_nothing_uses_it() {
        assert_eq!(TeamUses::default().refusal(), None);
        let used = TeamUses {
            members: 1,
            open_conversations: 0,
            rules: 2,
        };
        assert_eq!(
            used.refusal().as_deref(),
            Some("the team still has 1 member, 2 assignment rules; move or remove them first")
        );
    }
}
