//! Agents: roles, presence and per-channel capacity.

use std::collections::BTreeMap;

use super::{Channel, Invalid, parse_line};

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
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
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

    #[test]
    fn email_needs_an_at_and_a_domain() {
        assert!(Email::parse("ana@example.com").is_ok());
        for bad in ["", "ana", "ana@", "@x.com", "ana@localhost", "a b@x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
