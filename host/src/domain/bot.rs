//! Bots: a bot answers its channels first, until a handoff trigger fires.

use super::{Assignee, BotId, BotKind, Channel, Millis, Routing};

/// A bot as stored.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct BotRecord {
    pub id: BotId,
    pub name: String,
    pub channels: Vec<Channel>,
    /// A rule-based bot's conversations get no automatic ticket.
    pub kind: BotKind,
    /// Since when the bot is paused; `None` while it answers.
    pub paused_at: Option<Millis>,
    pub created_at: Millis,
}

impl BotRecord {
    /// Whether the bot answers new conversations on `channel`: it works
    /// that channel and is not paused.
    pub fn answers(&self, channel: Channel) -> bool {
        self.paused_at.is_none() && self.channels.contains(&channel)
    }
}

/// The bot answering `channel` first, if any, of the tenant's bots oldest
/// first: the oldest one that [answers](BotRecord::answers) wins.
pub fn answering_bot(bots: &[BotRecord], channel: Channel) -> Option<&BotRecord> {
    bots.iter().find(|bot| bot.answers(channel))
}

/// Where a new conversation starts: owned by the channel's bot if it has
/// one, otherwise unassigned until routing decides.
pub fn first_owner(bot: Option<&BotId>) -> (Routing, Option<Assignee>) {
    match bot {
        Some(bot) => (Routing::Bot, Some(Assignee::Bot(bot.clone()))),
        None => (Routing::Unassigned, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(channels: &[Channel], paused: bool) -> BotRecord {
        BotRecord {
            id: BotId::generate(),
            name: "Helper".into(),
            channels: channels.to_vec(),
            kind: BotKind::Ai,
            paused_at: paused.then_some(Millis(5)),
            created_at: Millis(0),
        }
    }

    #[test]
    fn the_oldest_unpaused_bot_of_the_channel_answers_first() {
        let paused = bot(&[Channel::Chat], true);
        let email = bot(&[Channel::Email], false);
        let older = bot(&[Channel::Chat, Channel::Form], false);
        let newer = bot(&[Channel::Chat], false);
        let bots = [paused, email, older.clone(), newer];
        assert_eq!(
            answering_bot(&bots, Channel::Chat).map(|b| &b.id),
            Some(&older.id)
        );
        assert_eq!(
            answering_bot(&bots, Channel::Email).map(|b| &b.id),
            Some(&bots[1].id)
        );
        assert!(answering_bot(&bots, Channel::Call).is_none());
        assert!(answering_bot(&bots[..1], Channel::Chat).is_none(), "paused");
        assert!(answering_bot(&[], Channel::Chat).is_none());
    }

    #[test]
    fn a_conversation_with_a_bot_starts_owned_by_it() {
        let id = BotId::generate();
        assert_eq!(
            first_owner(Some(&id)),
            (Routing::Bot, Some(Assignee::Bot(id.clone())))
        );
        assert_eq!(first_owner(None), (Routing::Unassigned, None));
    }
}
