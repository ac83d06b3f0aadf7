//! Testing plugins natively, with plain `cargo test`.
//!
//! - Builders for what the host passes in: [`agent`], [`conversation`],
//!   [`assignment`], [`event`], [`message`].
//! - [`TestHost`]: the config, clock and key-value store the plugin's
//!   [`host`](crate::host) calls see when the code runs outside the sandbox.
//! - [`Case`] files: the same inputs and expected answers that
//!   `baton plugin test <component> --events <file>` runs against the built
//!   component, so one file shows the native logic and the component agree
//!   ([`assert_cases`]).
//!
//! # Case files
//!
//! A case file is a JSON list of cases. Each has a `name`, the plugin's
//! `config` (`{}` when absent), `now_ms` (the event time, 0 when absent),
//! the `kind` of plugin it is for (`assignment`, `handoff`, `workflow` or
//! `condition`) with its `input`, and optionally the answer it should
//! `expect` (an answer, or `{"error": "..."}`). Values are spelled as the
//! HTTP API spells them ([`spelling`](crate::spelling)): `"chat"`,
//! `"available"`, `"customer"`, `{"assign": {...}}`, a conversation's
//! `attributes` as an object and its `assignee` as `{"kind", "id"}`; times
//! are milliseconds, in the fields ending in `_ms`. `GET
//! /v1/conversations/{id}/cases` records a conversation as such a file.
//!
//! ```
//! use baton_sdk::testing::{Input, parse_cases};
//!
//! let cases = parse_cases(r#"[{
//!     "name": "the free agent gets it",
//!     "config": {"max_open": 2},
//!     "kind": "assignment",
//!     "input": {
//!         "conversation": {
//!             "id": "cnv_1", "channel": "chat", "subject": null, "status": "open",
//!             "contact": {"name": "Kim", "email": "kim@example.com"},
//!             "attributes": {"tier": "gold"}, "assignee": null, "team": null,
//!             "created_at_ms": 0,
//!             "recent_messages": [
//!                 {"author": "customer", "body": "Where is my order?", "internal": false, "at_ms": 0}
//!             ]
//!         },
//!         "candidates": [{
//!             "id": "agt_a", "teams": ["tm_sales"], "presence": "available", "handled": 0,
//!             "available_since_ms": 0, "idle_since_ms": 0, "last_assigned_at_ms": null,
//!             "load": {
//!                 "chat": {"open": 0, "capacity": 3}, "email": {"open": 0, "capacity": 10},
//!                 "call": {"open": 0, "capacity": 1}, "form": {"open": 0, "capacity": 10}
//!             }
//!         }]
//!     },
//!     "expect": {"assign": {"agent": "agt_a", "reason": "agt_a has room"}}
//! }]"#).unwrap();
//! let Input::Assignment(request) = &cases[0].input else { unreachable!() };
//! assert_eq!(request.conversation.attributes()["tier"], "gold");
//! assert!(request.candidates.first().unwrap().in_team("tm_sales"));
//! ```
//!
//! ```
//! use baton_sdk::testing::{TestHost, agent, assignment, conversation};
//! use baton_sdk::{AssignmentDecision, Channel};
//!
//! let request = assignment(conversation("cnv_1").channel(Channel::Email))
//!     .candidate(agent("agt_1").load(Channel::Email, 2, 10).in_team("tm_billing"))
//!     .candidate(agent("agt_2").load(Channel::Email, 0, 10))
//!     .build();
//! let (least, _) = TestHost::new().run(|| request.least_loaded().map(|c| c.id.to_owned()));
//! assert_eq!(least.as_deref(), Some("agt_2"));
//! let billing: Vec<&str> = request.candidates.iter()
//!     .filter(|c| c.in_team("tm_billing"))
//!     .map(|c| c.id)
//!     .collect();
//! assert_eq!(billing, ["agt_1"]);
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::host::LogLevel;
use crate::request::{CandidateState, Entry};
use crate::{
    Action, Assignee, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Author,
    Candidates, Channel, ChannelLoad, ChannelLoads, Contact, Conversation, ConversationStatus,
    Event, EventKind, HandoffDecision, HandoffTrigger, Message, PluginError, Presence,
    RuleCondition, Ticket, Workflow,
};

/// The host a plugin sees when its code runs natively: its config, the
/// event's time, its key-value store, and the lines it logged.
#[derive(Debug, Clone, Default)]
pub struct TestHost {
    config: String,
    now_ms: i64,
    kv: BTreeMap<String, Vec<u8>>,
    logs: Vec<(LogLevel, String)>,
}

impl TestHost {
    /// An empty config (`{}`), time zero, an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The config [`host::config`](crate::host::config) returns.
    pub fn config(mut self, config: Value) -> Self {
        self.config = config.to_string();
        self
    }

    /// The event time [`host::now_ms`](crate::host::now_ms) returns.
    pub fn now_ms(mut self, at: i64) -> Self {
        self.now_ms = at;
        self
    }

    /// A value already in the key-value store.
    pub fn kv(mut self, key: &str, value: impl AsRef<[u8]>) -> Self {
        self.kv.insert(key.to_owned(), value.as_ref().to_vec());
        self
    }

    /// A value in the store, after a run.
    pub fn kv_value(&self, key: &str) -> Option<&[u8]> {
        self.kv.get(key).map(Vec::as_slice)
    }

    /// The lines logged during a run, oldest first.
    pub fn logs(&self) -> &[(LogLevel, String)] {
        &self.logs
    }

    /// Run plugin code with this host; returns what it returned and the host
    /// as the code left it (store writes, logs). Not available inside the
    /// sandbox, where the real host answers.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run<R>(self, code: impl FnOnce() -> R) -> (R, TestHost) {
        native::HOST.with(|cell| *cell.borrow_mut() = self);
        let result = code();
        let after = native::HOST.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
        (result, after)
    }
}

/// The host functions outside the sandbox, backed by the thread's [`TestHost`].
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod native {
    use std::cell::RefCell;

    use super::TestHost;
    use crate::host::{KvError, LogLevel};

    /// Longest key the real host accepts.
    const MAX_KEY: usize = 256;

    thread_local! {
        pub(super) static HOST: RefCell<TestHost> = RefCell::new(TestHost::default());
    }

    pub(crate) fn log(level: LogLevel, message: &str) {
        HOST.with(|h| h.borrow_mut().logs.push((level, message.to_owned())));
    }

    pub(crate) fn now_ms() -> i64 {
        HOST.with(|h| h.borrow().now_ms)
    }

    pub(crate) fn config() -> String {
        HOST.with(|h| h.borrow().config.clone())
    }

    pub(crate) fn kv_get(key: &str) -> Option<Vec<u8>> {
        HOST.with(|h| h.borrow().kv.get(key).cloned())
    }

    pub(crate) fn kv_set(key: &str, value: &[u8]) -> Result<(), KvError> {
        if key.len() > MAX_KEY {
            return Err(KvError::KeyTooLong);
        }
        HOST.with(|h| h.borrow_mut().kv.insert(key.to_owned(), value.to_vec()));
        Ok(())
    }

    pub(crate) fn kv_delete(key: &str) {
        HOST.with(|h| h.borrow_mut().kv.remove(key));
    }
}

/// An agent who is available with room for 3 chats, 10 e-mails, 1 call and
/// 10 forms, idle since time zero. Refine it with the builder methods.
pub fn agent(id: &str) -> CandidateBuilder {
    let load = |capacity| ChannelLoad { open: 0, capacity };
    CandidateBuilder(Entry {
        id: id.to_owned(),
        teams: Vec::new(),
        state: CandidateState {
            presence: Presence::Available,
            load: ChannelLoads {
                chat: load(3),
                email: load(10),
                call: load(1),
                form: load(10),
            },
            available_since_ms: Some(0),
            idle_since_ms: Some(0),
            last_assigned_at_ms: None,
            handled: 0,
        },
    })
}

/// Builds a candidate for [`AssignmentRequestBuilder::candidate`]; see
/// [`agent`].
#[derive(Debug, Clone)]
pub struct CandidateBuilder(Entry);

impl CandidateBuilder {
    /// Away: keeps their conversations, takes no new ones.
    pub fn away(self) -> Self {
        self.presence(Presence::Away)
    }

    /// Offline.
    pub fn offline(self) -> Self {
        self.presence(Presence::Offline)
    }

    /// Any presence; leaving `available` also clears the idle times.
    pub fn presence(mut self, presence: Presence) -> Self {
        self.0.state.presence = presence;
        if presence != Presence::Available {
            self.0.state.available_since_ms = None;
            self.0.state.idle_since_ms = None;
        }
        self
    }

    /// Open conversations and capacity on one channel.
    pub fn load(mut self, channel: Channel, open: u32, capacity: u32) -> Self {
        let load = ChannelLoad { open, capacity };
        match channel {
            Channel::Chat => self.0.state.load.chat = load,
            Channel::Email => self.0.state.load.email = load,
            Channel::Call => self.0.state.load.call = load,
            Channel::Form => self.0.state.load.form = load,
        }
        self
    }

    /// Waiting for work since `at_ms`.
    pub fn idle_since(mut self, at_ms: i64) -> Self {
        self.0.state.idle_since_ms = Some(at_ms);
        self
    }

    /// Last given a conversation at `at_ms`.
    pub fn last_assigned_at(mut self, at_ms: i64) -> Self {
        self.0.state.last_assigned_at_ms = Some(at_ms);
        self
    }

    /// Conversations handled in all.
    pub fn handled(mut self, count: u32) -> Self {
        self.0.state.handled = count;
        self
    }

    /// A member of `team` (by id), besides any teams given before.
    pub fn in_team(mut self, team: &str) -> Self {
        self.0.teams.push(team.to_owned());
        self
    }
}

/// An open chat conversation with no subject, contact, attributes or
/// messages, created at time zero. Refine it with the builder methods.
pub fn conversation(id: &str) -> ConversationBuilder {
    ConversationBuilder(Conversation {
        id: id.to_owned(),
        channel: Channel::Chat,
        subject: None,
        status: ConversationStatus::Open,
        contact: Contact {
            name: None,
            email: None,
        },
        attributes_json: "{}".to_owned(),
        assignee: None,
        team: None,
        created_at_ms: 0,
        recent_messages: Vec::new(),
    })
}

/// Builds a [`Conversation`]; see [`conversation`].
#[derive(Debug, Clone)]
pub struct ConversationBuilder(Conversation);

impl ConversationBuilder {
    /// The channel it arrived on.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.0.channel = channel;
        self
    }

    /// Its subject.
    pub fn subject(mut self, subject: &str) -> Self {
        self.0.subject = Some(subject.to_owned());
        self
    }

    /// Its status.
    pub fn status(mut self, status: ConversationStatus) -> Self {
        self.0.status = status;
        self
    }

    /// The customer's name and e-mail.
    pub fn contact(mut self, name: &str, email: &str) -> Self {
        self.0.contact = Contact {
            name: Some(name.to_owned()),
            email: Some(email.to_owned()),
        };
        self
    }

    /// A free attribute (`utm_source`, `crm.tier`, ...).
    pub fn attribute(mut self, key: &str, value: Value) -> Self {
        let mut attributes = self.0.attributes();
        attributes.insert(key.to_owned(), value);
        self.0.attributes_json = Value::Object(attributes).to_string();
        self
    }

    /// Owned by this agent.
    pub fn assigned_to(mut self, agent: &str) -> Self {
        self.0.assignee = Some(Assignee::Agent(agent.to_owned()));
        self
    }

    /// Owned by this bot.
    pub fn with_bot(mut self, bot: &str) -> Self {
        self.0.assignee = Some(Assignee::Bot(bot.to_owned()));
        self
    }

    /// Waiting in this team.
    pub fn team(mut self, team: &str) -> Self {
        self.0.team = Some(team.to_owned());
        self
    }

    /// A message at the end of the recent messages.
    pub fn says(mut self, author: Author, body: &str) -> Self {
        let at_ms = self.0.created_at_ms;
        self.0.recent_messages.push(message(author, body).at(at_ms));
        self
    }

    /// A customer message at the end of the recent messages.
    pub fn customer_says(self, body: &str) -> Self {
        self.says(Author::Customer, body)
    }

    /// The conversation.
    pub fn build(self) -> Conversation {
        self.0
    }
}

impl From<ConversationBuilder> for Conversation {
    fn from(builder: ConversationBuilder) -> Self {
        builder.0
    }
}

/// A public message at time zero.
pub fn message(author: Author, body: &str) -> Message {
    Message {
        author,
        body: body.to_owned(),
        internal: false,
        at_ms: 0,
    }
}

impl Message {
    /// The same message at another time.
    pub fn at(mut self, at_ms: i64) -> Self {
        self.at_ms = at_ms;
        self
    }

    /// The same message as an internal note.
    pub fn internal(mut self) -> Self {
        self.internal = true;
        self
    }
}

/// An assignment request for `conversation`, with no candidates yet.
pub fn assignment(conversation: impl Into<Conversation>) -> AssignmentRequestBuilder {
    AssignmentRequestBuilder {
        conversation: conversation.into(),
        candidates: Vec::new(),
    }
}

/// Builds an [`AssignmentRequest`]; see [`assignment`].
#[derive(Debug, Clone)]
pub struct AssignmentRequestBuilder {
    conversation: Conversation,
    candidates: Vec<Entry>,
}

impl AssignmentRequestBuilder {
    /// One more candidate.
    pub fn candidate(mut self, candidate: CandidateBuilder) -> Self {
        self.candidates.push(candidate.0);
        self
    }

    /// The request, its candidates in id order as the host passes them.
    pub fn build(self) -> AssignmentRequest {
        AssignmentRequest {
            conversation: self.conversation,
            candidates: Candidates::from_entries(self.candidates),
        }
    }
}

/// An event of `kind` at time zero, with nothing attached.
pub fn event(kind: EventKind) -> EventBuilder {
    EventBuilder(Event {
        kind,
        conversation: None,
        message: None,
        agent: None,
        ticket: None,
        timer: None,
        at_ms: 0,
    })
}

/// Builds an [`Event`]; see [`event`].
#[derive(Debug, Clone)]
pub struct EventBuilder(Event);

impl EventBuilder {
    /// The conversation it concerns.
    pub fn conversation(mut self, conversation: impl Into<Conversation>) -> Self {
        self.0.conversation = Some(conversation.into());
        self
    }

    /// The message, for `message-received`.
    pub fn message(mut self, message: Message) -> Self {
        self.0.message = Some(message);
        self
    }

    /// The agent, for `conversation-assigned` and `agent-status-changed`.
    pub fn agent(mut self, agent: &str) -> Self {
        self.0.agent = Some(agent.to_owned());
        self
    }

    /// The ticket, for `ticket-created`.
    pub fn ticket(mut self, ticket: Ticket) -> Self {
        self.0.ticket = Some(ticket);
        self
    }

    /// The timer's name, for `timer-fired`.
    pub fn timer(mut self, name: &str) -> Self {
        self.0.timer = Some(name.to_owned());
        self
    }

    /// The event's time.
    pub fn at(mut self, at_ms: i64) -> Self {
        self.0.at_ms = at_ms;
        self
    }

    /// The event.
    pub fn build(self) -> Event {
        self.0
    }
}

/// What a case gives the plugin, by kind of plugin. In a case file it is
/// `"kind": "assignment" | "handoff" | "workflow" | "condition"` beside
/// `"input"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "input", rename_all = "kebab-case")]
pub enum Input {
    /// `decide(request)`.
    Assignment(AssignmentRequest),
    /// `evaluate(conversation, message)`.
    Handoff {
        /// The bot-owned conversation.
        conversation: Conversation,
        /// The new message.
        message: Message,
    },
    /// `on-event(event)`.
    Workflow(Event),
    /// `matches(conversation)`.
    Condition(Conversation),
}

/// One recorded input with the config it runs under, the event time, and
/// optionally the answer expected (the answer's JSON, or
/// `{"error": "..."}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// What the case shows, printed by `baton plugin test`.
    pub name: String,
    /// The plugin's config for this case.
    #[serde(default = "empty_object")]
    pub config: Value,
    /// What [`host::now_ms`](crate::host::now_ms) returns.
    #[serde(default)]
    pub now_ms: i64,
    /// The input.
    #[serde(flatten)]
    pub input: Input,
    /// The expected answer; absent: print whatever comes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Value>,
}

fn empty_object() -> Value {
    json!({})
}

impl Case {
    /// A case with an empty config at time zero and no expectation.
    pub fn new(name: &str, input: Input) -> Self {
        Case {
            name: name.to_owned(),
            config: empty_object(),
            now_ms: 0,
            input,
            expect: None,
        }
    }

    /// The config the case runs under.
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// The answer expected, as the plugin returns it.
    pub fn expect(mut self, answer: &impl Serialize) -> Self {
        self.expect = serde_json::to_value(answer).ok();
        self
    }
}

/// A plugin type that answers [`Input`]s of its kind, natively: implemented
/// through the wrappers [`Strategy`], [`Trigger`], [`Flow`] and
/// [`Condition`].
pub trait Answers {
    /// The answer to `input` as JSON, or the plugin's error as text.
    fn answer(input: &Input) -> Result<Value, String>;
}

/// Runs an [`AssignmentStrategy`] in [`assert_cases`].
pub struct Strategy<T>(std::marker::PhantomData<T>);
/// Runs a [`HandoffTrigger`] in [`assert_cases`].
pub struct Trigger<T>(std::marker::PhantomData<T>);
/// Runs a [`Workflow`] in [`assert_cases`].
pub struct Flow<T>(std::marker::PhantomData<T>);
/// Runs a [`RuleCondition`] in [`assert_cases`].
pub struct Condition<T>(std::marker::PhantomData<T>);

/// A plugin's error as the host reports it, so native and component runs
/// of a case compare equal.
fn error_text(error: PluginError) -> String {
    match error {
        PluginError::InvalidConfig(m) => format!("invalid config: {m}"),
        PluginError::InvalidInput(m) => format!("invalid input: {m}"),
        PluginError::Other(m) => m,
    }
}

fn answer_json<A: Serialize>(result: Result<A, PluginError>) -> Result<Value, String> {
    result
        .map_err(error_text)
        .and_then(|a| serde_json::to_value(a).map_err(|e| e.to_string()))
}

fn wrong_kind(input: &Input) -> Result<Value, String> {
    Err(format!("a case for another kind of plugin: {input:?}"))
}

impl<T: AssignmentStrategy> Answers for Strategy<T> {
    fn answer(input: &Input) -> Result<Value, String> {
        match input {
            Input::Assignment(request) => {
                answer_json::<AssignmentDecision>(T::decide(request.clone()))
            }
            other => wrong_kind(other),
        }
    }
}

impl<T: HandoffTrigger> Answers for Trigger<T> {
    fn answer(input: &Input) -> Result<Value, String> {
        match input {
            Input::Handoff {
                conversation,
                message,
            } => answer_json::<HandoffDecision>(T::evaluate(conversation.clone(), message.clone())),
            other => wrong_kind(other),
        }
    }
}

impl<T: Workflow> Answers for Flow<T> {
    fn answer(input: &Input) -> Result<Value, String> {
        match input {
            Input::Workflow(event) => answer_json::<Vec<Action>>(T::on_event(event.clone())),
            other => wrong_kind(other),
        }
    }
}

impl<T: RuleCondition> Answers for Condition<T> {
    fn answer(input: &Input) -> Result<Value, String> {
        match input {
            Input::Condition(conversation) => answer_json::<bool>(T::matches(conversation.clone())),
            other => wrong_kind(other),
        }
    }
}

/// Read a case file (a JSON list of [`Case`]).
///
/// # Errors
///
/// When the file cannot be read or is not a list of cases.
pub fn read_cases(path: impl AsRef<Path>) -> Result<Vec<Case>, String> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_cases(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parse the text of a case file (see [the format](self#case-files)).
///
/// # Errors
///
/// When the text is not a list of cases.
pub fn parse_cases(text: &str) -> Result<Vec<Case>, String> {
    crate::spelling::parse_list(text)
}

/// The text of a case file holding `cases` (see [the format](self#case-files)).
pub fn cases_text(cases: &[Case]) -> String {
    let list: Vec<Value> = cases
        .iter()
        .map(|case| crate::spelling::case_out(serde_json::to_value(case).unwrap_or(Value::Null)))
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
}

/// Write a case file, e.g. from cases built with the builders.
///
/// # Errors
///
/// When the file cannot be written.
pub fn write_cases(path: impl AsRef<Path>, cases: &[Case]) -> Result<(), String> {
    let path = path.as_ref();
    std::fs::write(path, cases_text(cases)).map_err(|e| format!("{}: {e}", path.display()))
}

/// Run every case of a file natively and panic on the first answer that is
/// not the expected one. `baton plugin test <component> --events <file>`
/// runs the same file against the built component: when both pass, the
/// native logic and the component agree.
///
/// ```no_run
/// # use baton_sdk::{AssignmentDecision, AssignmentRequest, Manifest, PluginError, PluginKind};
/// # struct MyStrategy;
/// # impl baton_sdk::AssignmentStrategy for MyStrategy {
/// #     fn describe() -> Manifest {
/// #         Manifest::new("queue-all", "0.1.0", PluginKind::AssignmentStrategy)
/// #     }
/// #     fn decide(_: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
/// #         Ok(AssignmentDecision::Queue("queue-all: everything waits".into()))
/// #     }
/// # }
/// use baton_sdk::testing::{Strategy, assert_cases};
/// assert_cases::<Strategy<MyStrategy>>("events.json");
/// ```
#[cfg(not(target_arch = "wasm32"))]
pub fn assert_cases<P: Answers>(path: impl AsRef<Path>) {
    let cases = read_cases(&path).unwrap_or_else(|e| panic!("reading cases: {e}"));
    assert!(
        !cases.is_empty(),
        "{} holds no cases",
        path.as_ref().display()
    );
    for case in cases {
        let host = TestHost::new()
            .config(case.config.clone())
            .now_ms(case.now_ms);
        let (answer, _) = host.run(|| P::answer(&case.input));
        let got = answer.unwrap_or_else(|error| json!({ "error": error }));
        if let Some(expected) = &case.expect {
            assert_eq!(&got, expected, "case {:?}", case.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_round_trip_through_json_in_the_documented_shape() {
        let case = Case::new(
            "one",
            Input::Assignment(
                assignment(conversation("cnv_1").customer_says("hello"))
                    .candidate(agent("agt_1").away())
                    .build(),
            ),
        )
        .config(json!({"prefer": "first"}))
        .expect(&AssignmentDecision::Queue("nobody".into()));
        let text = cases_text(std::slice::from_ref(&case));
        let file: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(file[0]["kind"], "assignment");
        assert_eq!(file[0]["input"]["candidates"][0]["presence"], "away");
        assert_eq!(file[0]["input"]["conversation"]["channel"], "chat");
        assert_eq!(file[0]["input"]["conversation"]["attributes"], json!({}));
        assert_eq!(file[0]["expect"], json!({"queue": "nobody"}));
        let back = parse_cases(&text).expect("parses");
        assert_eq!(back, [case]);
    }

    #[test]
    fn the_test_host_backs_the_host_functions() {
        let host = TestHost::new()
            .config(json!({"n": 1}))
            .now_ms(42)
            .kv("seen", "1");
        let ((), after) = host.run(|| {
            assert_eq!(crate::host::now_ms(), 42);
            assert_eq!(crate::host::config_json(), r#"{"n":1}"#);
            assert_eq!(crate::host::kv::get("seen"), Some(b"1".to_vec()));
            crate::host::kv::set("next", "2").expect("set");
            crate::host::kv::delete("seen");
            crate::host::info("hello");
        });
        assert_eq!(after.kv_value("next"), Some(&b"2"[..]));
        assert_eq!(after.kv_value("seen"), None);
        assert_eq!(after.logs().len(), 1);
    }
}
