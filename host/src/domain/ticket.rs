//! Help-desk tickets: who may see them, the statuses of a pipeline (some
//! closed, some conditional on properties) and a ticket's free properties.

use serde_json::{Map, Value};

use super::{
    Channel, ConversationStatus, EventKind, Invalid, Millis, PipelineId, Role, StageId,
    StatusChange, parse_line, status_events,
};

text_enum!(
    /// Which tickets a member sees (HubSpot's "ticket access").
    TicketAccess {
        /// Every ticket of the tenant.
        All = "all",
        /// Tickets of their teams, their own and those they follow.
        Team = "team",
        /// Tickets assigned to them or that they follow.
        Own = "own",
    }
);

impl TicketAccess {
    /// Admins see everything; other members their teams' tickets.
    pub fn default_for(role: Role) -> Self {
        match role {
            Role::Admin => TicketAccess::All,
            Role::Supervisor | Role::Agent => TicketAccess::Team,
        }
    }
}

text_enum!(
    /// How a bot answers. A rule-based bot makes its own tickets, so its
    /// conversations on help-desk channels get none automatically (no
    /// duplicates); an AI bot's conversations do.
    BotKind {
        RuleBased = "rule-based",
        Ai = "ai",
    }
);

/// Which channels the help desk is connected to.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct HelpDesk {
    /// Each new conversation on one of these becomes a ticket.
    pub channels: Vec<Channel>,
    /// Where automatic tickets go; the default pipeline when absent.
    pub pipeline: Option<PipelineId>,
}

impl Default for HelpDesk {
    /// Forms and e-mail, as a help desk is usually set up.
    fn default() -> Self {
        Self {
            channels: vec![Channel::Email, Channel::Form],
            pipeline: None,
        }
    }
}

impl HelpDesk {
    /// Whether a new conversation on `channel` (an inbound e-mail, a form,
    /// a chat) is filed as a ticket automatically: its channel is connected
    /// and no rule-based bot owns it, since such a bot makes its own tickets.
    /// `owner` is the kind of the bot owning it, if a known bot does.
    pub fn files(&self, channel: Channel, owner: Option<BotKind>) -> bool {
        self.channels.contains(&channel) && owner != Some(BotKind::RuleBased)
    }
}

/// The pipeline every tenant gets when it first needs one.
pub const DEFAULT_PIPELINE: &str = "Support pipeline";
/// Most statuses in one pipeline: a board, not a database.
const MAX_STATUSES: usize = 50;
/// Properties are a small JSON object; a guard against unbounded documents.
const MAX_PROPERTIES_BYTES: usize = 16 << 10;
const MAX_PROPERTY_NAME: usize = 64;

/// A property name: 1 to 64 letters, digits, `_`, `-` or `.`, so it can be
/// named in an error field (`properties.order_number`).
pub fn property_name(value: &str) -> Result<String, Invalid> {
    let valid = (1..=MAX_PROPERTY_NAME).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(Invalid::new(format!(
            "a property name has 1 to {MAX_PROPERTY_NAME} letters, digits, '_', '-' or '.'"
        )))
    }
}

/// A ticket's free properties: a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties(Map<String, Value>);

impl Properties {
    /// Parse an object given to the API. A `null` value is kept: in a patch
    /// it removes the property. Errors name the offending key.
    pub fn parse(value: Map<String, Value>) -> Result<Self, (String, Invalid)> {
        for key in value.keys() {
            property_name(key).map_err(|e| (key.clone(), e))?;
        }
        let properties = Self(value);
        properties.bounded().map_err(|e| (String::new(), e))?;
        Ok(properties)
    }

    /// Read back the stored form.
    pub fn from_stored(text: &str) -> Self {
        Self(serde_json::from_str(text).unwrap_or_default())
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    fn bounded(&self) -> Result<(), Invalid> {
        if self.to_json().len() > MAX_PROPERTIES_BYTES {
            return Err(Invalid::new(format!(
                "must be at most {} KiB of JSON",
                MAX_PROPERTIES_BYTES >> 10
            )));
        }
        Ok(())
    }

    /// These properties with `patch` applied: a key set to `null` is removed.
    pub fn merged(&self, patch: &Properties) -> Result<Properties, Invalid> {
        let mut out = self.0.clone();
        for (key, value) in &patch.0 {
            if value.is_null() {
                out.remove(key);
            } else {
                out.insert(key.clone(), value.clone());
            }
        }
        let out = Properties(out);
        out.bounded()?;
        Ok(out)
    }

    /// Whether a property holds a value: present, not null, not blank.
    pub fn is_set(&self, name: &str) -> bool {
        match self.0.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        }
    }

    /// The first property a conditional status requires that is not set.
    pub fn missing<'a>(&self, requires: &'a [String]) -> Option<&'a str> {
        requires
            .iter()
            .map(String::as_str)
            .find(|name| !self.is_set(name))
    }
}

/// One status of a pipeline as given to the API; `id` names an existing
/// status to keep (rename, reorder), none makes a new one.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusSpec {
    #[serde(default)]
    pub id: Option<StageId>,
    pub name: String,
    /// A ticket in a closed status has its conversation closed.
    #[serde(default)]
    pub closed: bool,
    /// Properties a ticket must have to move into this status.
    #[serde(default)]
    pub requires: Vec<String>,
}

impl StatusSpec {
    fn new(name: &str, closed: bool) -> Self {
        Self {
            id: None,
            name: name.to_owned(),
            closed,
            requires: Vec::new(),
        }
    }
}

/// The default pipeline's statuses.
pub fn default_statuses() -> Vec<StatusSpec> {
    vec![
        StatusSpec::new("New", false),
        StatusSpec::new("Waiting on contact", false),
        StatusSpec::new("Waiting on us", false),
        StatusSpec::new("Closed", true),
    ]
}

/// Check and tidy a pipeline's statuses. New tickets start in the first
/// status and a reopened ticket goes back to the first open one, so the
/// first must be open. Errors name the field, e.g. `statuses[2].name`.
pub fn check_statuses(statuses: &mut [StatusSpec]) -> Result<(), (String, Invalid)> {
    if statuses.is_empty() {
        return Err(("statuses".into(), Invalid::new("needs at least one status")));
    }
    if statuses.len() > MAX_STATUSES {
        return Err((
            "statuses".into(),
            Invalid::new(format!("at most {MAX_STATUSES} statuses")),
        ));
    }
    for i in 0..statuses.len() {
        let field = |name: &str| format!("statuses[{i}].{name}");
        let name = parse_line(&statuses[i].name, 100).map_err(|e| (field("name"), e))?;
        if statuses[..i]
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(&name))
        {
            return Err((
                field("name"),
                Invalid::new(format!("another status is already called {name:?}")),
            ));
        }
        if let Some(id) = &statuses[i].id
            && statuses[..i].iter().any(|s| s.id.as_ref() == Some(id))
        {
            return Err((field("id"), Invalid::new("appears twice")));
        }
        for (j, required) in statuses[i].requires.iter().enumerate() {
            property_name(required).map_err(|e| (format!("{}[{j}]", field("requires")), e))?;
        }
        statuses[i].name = name;
        let mut seen: Vec<String> = Vec::new();
        statuses[i].requires.retain(|r| {
            let first = !seen.contains(r);
            seen.push(r.clone());
            first
        });
    }
    if statuses[0].closed {
        return Err((
            "statuses[0].closed".into(),
            Invalid::new("new tickets start in the first status, so it must not be closed"),
        ));
    }
    Ok(())
}

/// A name for a ticket made automatically from a conversation.
pub fn ticket_name(subject: Option<&str>, channel: Channel, contact: Option<&str>) -> String {
    if let Some(subject) = subject.map(str::trim).filter(|s| !s.is_empty()) {
        return subject.to_owned();
    }
    let from = contact.unwrap_or("a visitor");
    match channel {
        Channel::Form => format!("Form submission from {from}"),
        Channel::Email => format!("E-mail from {from}"),
        Channel::Chat => format!("Chat with {from}"),
        Channel::Call => format!("Call with {from}"),
    }
}

/// One status of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct StageRecord {
    pub id: StageId,
    pub name: String,
    /// A ticket in a closed status has its conversation closed.
    pub closed: bool,
    /// Properties a ticket needs to move into this status.
    pub requires: Vec<String>,
}

/// A pipeline with its statuses in order (never empty; the first is open).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PipelineRecord {
    pub id: PipelineId,
    pub name: String,
    #[serde(rename = "default")]
    pub is_default: bool,
    pub statuses: Vec<StageRecord>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl PipelineRecord {
    pub fn stage(&self, id: &StageId) -> Option<&StageRecord> {
        self.statuses.iter().find(|s| &s.id == id)
    }

    /// Where new tickets start.
    pub fn first(&self) -> Option<&StageRecord> {
        self.statuses.first()
    }

    /// Where a merged ticket goes: the first closed status, if any.
    pub fn first_closed(&self) -> Option<&StageRecord> {
        self.statuses.iter().find(|s| s.closed)
    }
}

/// Where a ticket goes when its conversation is closed (`closed`) or
/// reopened from outside the ticket (the conversation API, a message, the
/// inactivity timer, a workflow), given its pipeline's `statuses` in order
/// and whether the status it is in (`in_closed`) is closed: closing moves
/// it to the first closed status that needs no properties, reopening to the
/// first open one. A ticket already in such a status stays (`None`); so
/// does one whose pipeline has none to offer.
pub fn following_stage(
    statuses: &[StageRecord],
    in_closed: bool,
    closed: bool,
) -> Option<&StageRecord> {
    if in_closed == closed {
        return None;
    }
    statuses
        .iter()
        .find(|s| s.closed == closed && (!closed || s.requires.is_empty()))
}

/// What moving a ticket to another status brings with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMove {
    /// The change of its conversation's status, if the move closes or
    /// reopens it; done after the move.
    pub conversation: Option<StatusChange>,
    /// The events to write, in order.
    pub events: Vec<EventKind>,
}

/// Moving a ticket from status `from` (`from_closed`: a closed one) to
/// `to`, its conversation being in `conversation` (if known). A move to
/// another status is a `ticket.status_changed`. A closed status closes the
/// conversation unless it already is; leaving a closed status for an open
/// one reopens a closed conversation (one reopened meanwhile stays as it
/// is). Either writes the events of that change of status
/// ([`status_events`]: a reopening is also `conversation.reopened`).
pub fn stage_move(
    from: Option<&StageId>,
    from_closed: bool,
    to: &StageRecord,
    conversation: Option<ConversationStatus>,
) -> StageMove {
    let mut events = Vec::new();
    if from != Some(&to.id) {
        events.push(EventKind::TicketStatusChanged);
    }
    let closed = conversation == Some(ConversationStatus::Closed);
    let change = if to.closed && !closed {
        Some(StatusChange::Close)
    } else if !to.closed && from_closed && closed {
        Some(StatusChange::Open)
    } else {
        None
    };
    if let Some(change) = change {
        // The same events as any other change of status: a closed
        // conversation opened again is also `conversation.reopened`, which
        // tells its people.
        let previous = conversation.unwrap_or(ConversationStatus::Open);
        events.extend(status_events(previous, change));
    }
    StageMove {
        conversation: change,
        events,
    }
}

/// A name for a ticket a workflow files: the name it gives, unless blank,
/// else one made from the conversation as for an automatic ticket.
pub fn filed_ticket_name(
    given: &str,
    subject: Option<&str>,
    channel: Channel,
    contact: Option<&str>,
) -> String {
    match given.trim() {
        "" => ticket_name(subject, channel, contact),
        given => given.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(value: Value) -> Properties {
        let Value::Object(map) = value else {
            panic!("an object")
        };
        Properties::parse(map).expect("valid")
    }

    #[test]
    fn a_conditional_status_names_the_first_missing_property() {
        let requires = vec!["resolution".to_owned(), "root_cause".to_owned()];
        let empty = Properties::default();
        assert_eq!(empty.missing(&requires), Some("resolution"));
        let blank = props(json!({"resolution": "  ", "root_cause": "disk"}));
        assert_eq!(blank.missing(&requires), Some("resolution"));
        let half = props(json!({"resolution": "replaced", "root_cause": null}));
        assert_eq!(half.missing(&requires), Some("root_cause"));
        let full = props(json!({"resolution": "replaced", "root_cause": ["disk"]}));
        assert_eq!(full.missing(&requires), None);
        assert_eq!(full.missing(&[]), None);
    }

    #[test]
    fn a_patch_sets_and_removes_properties() {
        let base = props(json!({"a": 1, "b": "x"}));
        let merged = base
            .merged(&props(json!({"b": null, "c": true})))
            .expect("small");
        assert_eq!(
            Value::Object(merged.as_map().clone()),
            json!({"a": 1, "c": true})
        );
        let (field, _) =
            Properties::parse(json!({"bad key": 1}).as_object().cloned().expect("object"))
                .unwrap_err();
        assert_eq!(field, "bad key");
        let huge = json!({"x": "y".repeat(MAX_PROPERTIES_BYTES)});
        assert!(Properties::parse(huge.as_object().cloned().expect("object")).is_err());
    }

    #[test]
    fn statuses_need_an_open_first_status_and_distinct_names() {
        let mut ok = default_statuses();
        assert_eq!(check_statuses(&mut ok), Ok(()));
        let mut none: Vec<StatusSpec> = Vec::new();
        assert_eq!(check_statuses(&mut none).unwrap_err().0, "statuses");
        let mut closed_first = vec![StatusSpec::new("Done", true)];
        assert_eq!(
            check_statuses(&mut closed_first).unwrap_err().0,
            "statuses[0].closed"
        );
        let mut twice = vec![StatusSpec::new("New", false), StatusSpec::new("new", false)];
        assert_eq!(
            check_statuses(&mut twice).unwrap_err().0,
            "statuses[1].name"
        );
        let mut bad_requires = default_statuses();
        bad_requires[3].requires = vec!["ok".into(), "not ok".into()];
        assert_eq!(
            check_statuses(&mut bad_requires).unwrap_err().0,
            "statuses[3].requires[1]"
        );
        let mut trimmed = vec![StatusSpec::new("  Open  ", false)];
        check_statuses(&mut trimmed).expect("valid");
        assert_eq!(trimmed[0].name, "Open");
    }

    #[test]
    fn automatic_tickets_are_named_after_the_subject_or_the_channel() {
        assert_eq!(
            ticket_name(Some(" Refund "), Channel::Email, None),
            "Refund"
        );
        assert_eq!(
            ticket_name(None, Channel::Form, Some("kim@example.com")),
            "Form submission from kim@example.com"
        );
        assert_eq!(
            ticket_name(Some(""), Channel::Chat, None),
            "Chat with a visitor"
        );
    }

    #[test]
    fn a_workflow_names_its_ticket_or_leaves_it_to_the_conversation() {
        assert_eq!(
            filed_ticket_name(" Escalated ", Some("Help"), Channel::Chat, None),
            "Escalated"
        );
        assert_eq!(
            filed_ticket_name("  ", Some("Help"), Channel::Chat, None),
            "Help"
        );
        assert_eq!(
            filed_ticket_name("", None, Channel::Email, Some("kim@example.com")),
            "E-mail from kim@example.com"
        );
    }

    #[test]
    fn connected_channels_file_tickets_unless_a_rule_based_bot_owns_them() {
        let desk = HelpDesk::default();
        assert!(desk.files(Channel::Email, None));
        assert!(desk.files(Channel::Form, None));
        assert!(!desk.files(Channel::Chat, None), "not connected by default");
        assert!(desk.files(Channel::Email, Some(BotKind::Ai)));
        assert!(!desk.files(Channel::Email, Some(BotKind::RuleBased)));
        let chat = HelpDesk {
            channels: vec![Channel::Chat],
            pipeline: None,
        };
        assert!(chat.files(Channel::Chat, None));
        assert!(!chat.files(Channel::Email, None));
        assert!(!chat.files(Channel::Chat, Some(BotKind::RuleBased)));
    }

    fn stage(name: &str, closed: bool, requires: &[&str]) -> StageRecord {
        StageRecord {
            id: StageId::generate(),
            name: name.into(),
            closed,
            requires: requires.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    fn board() -> Vec<StageRecord> {
        vec![
            stage("New", false, &[]),
            stage("Waiting", false, &[]),
            stage("Resolved", true, &["resolution"]),
            stage("Closed", true, &[]),
            stage("Spam", true, &[]),
        ]
    }

    #[test]
    fn closing_the_conversation_moves_its_ticket_to_the_first_closed_status_needing_nothing() {
        let statuses = board();
        let to = following_stage(&statuses, false, true).map(|s| s.name.as_str());
        assert_eq!(to, Some("Closed"), "Resolved needs a property");
        assert_eq!(
            following_stage(&statuses, true, true),
            None,
            "already closed"
        );
    }

    #[test]
    fn reopening_the_conversation_moves_its_ticket_to_the_first_open_status() {
        let statuses = board();
        let to = following_stage(&statuses, true, false).map(|s| s.name.as_str());
        assert_eq!(to, Some("New"));
        assert_eq!(
            following_stage(&statuses, false, false),
            None,
            "already open"
        );
    }

    #[test]
    fn a_ticket_stays_when_its_pipeline_has_no_status_to_follow_into() {
        let only_conditional = vec![stage("New", false, &[]), stage("Done", true, &["why"])];
        assert_eq!(following_stage(&only_conditional, false, true), None);
        let only_closed = vec![stage("Done", true, &[])];
        assert_eq!(following_stage(&only_closed, true, false), None);
        assert_eq!(following_stage(&[], false, true), None);
    }

    #[test]
    fn moving_a_ticket_into_a_closed_status_closes_its_conversation() {
        let statuses = board();
        let (new, closed) = (&statuses[0], &statuses[3]);
        let moved = stage_move(Some(&new.id), false, closed, Some(ConversationStatus::Open));
        assert_eq!(moved.conversation, Some(StatusChange::Close));
        assert_eq!(
            moved.events,
            vec![
                EventKind::TicketStatusChanged,
                EventKind::ConversationStatusChanged
            ]
        );
        let snoozed = stage_move(
            Some(&new.id),
            false,
            closed,
            Some(ConversationStatus::Snoozed),
        );
        assert_eq!(snoozed.conversation, Some(StatusChange::Close));
        let already = stage_move(
            Some(&new.id),
            false,
            closed,
            Some(ConversationStatus::Closed),
        );
        assert_eq!(already.conversation, None);
        assert_eq!(already.events, vec![EventKind::TicketStatusChanged]);
    }

    #[test]
    fn leaving_a_closed_status_reopens_a_closed_conversation() {
        let statuses = board();
        let (new, closed, spam) = (&statuses[0], &statuses[3], &statuses[4]);
        let reopened = stage_move(
            Some(&closed.id),
            true,
            new,
            Some(ConversationStatus::Closed),
        );
        assert_eq!(reopened.conversation, Some(StatusChange::Open));
        assert_eq!(
            reopened.events,
            vec![
                EventKind::TicketStatusChanged,
                EventKind::ConversationStatusChanged,
                EventKind::ConversationReopened
            ]
        );
        // Reopened meanwhile: nothing to do to the conversation.
        let open = stage_move(Some(&closed.id), true, new, Some(ConversationStatus::Open));
        assert_eq!(open.conversation, None);
        // Between two closed statuses the conversation stays closed.
        let sideways = stage_move(
            Some(&closed.id),
            true,
            spam,
            Some(ConversationStatus::Closed),
        );
        assert_eq!(sideways.conversation, None);
        assert_eq!(sideways.events, vec![EventKind::TicketStatusChanged]);
        // From an open status, an open one never reopens anything.
        let open_to_open = stage_move(
            Some(&new.id),
            false,
            &statuses[1],
            Some(ConversationStatus::Closed),
        );
        assert_eq!(open_to_open.conversation, None);
    }

    #[test]
    fn staying_in_the_same_status_writes_no_ticket_event() {
        let statuses = board();
        let new = &statuses[0];
        let same = stage_move(Some(&new.id), false, new, Some(ConversationStatus::Open));
        assert_eq!(same.conversation, None);
        assert!(same.events.is_empty());
        let closed = &statuses[3];
        let reclose = stage_move(
            Some(&closed.id),
            true,
            closed,
            Some(ConversationStatus::Open),
        );
        assert_eq!(reclose.conversation, Some(StatusChange::Close));
        assert_eq!(reclose.events, vec![EventKind::ConversationStatusChanged]);
        let unknown = stage_move(None, false, new, None);
        assert_eq!(unknown.events, vec![EventKind::TicketStatusChanged]);
        assert_eq!(unknown.conversation, None);
    }

    #[test]
    fn admins_see_every_ticket_by_default() {
        assert_eq!(TicketAccess::default_for(Role::Admin), TicketAccess::All);
        assert_eq!(TicketAccess::default_for(Role::Agent), TicketAccess::Team);
    }
}
