//! Write Baton routing plugins in Rust.
//!
//! A plugin is a WebAssembly component. Pick the kind of plugin you are
//! writing, implement its trait on a type of yours, and hand that type to the
//! matching export macro:
//!
//! | kind | trait | macro |
//! | --- | --- | --- |
//! | assignment strategy | [`AssignmentStrategy`] | [`export_assignment_strategy!`] |
//! | handoff trigger | [`HandoffTrigger`] | [`export_handoff_trigger!`] |
//! | workflow | [`Workflow`] | [`export_workflow!`] |
//! | rule condition | [`RuleCondition`] | [`export_rule_condition!`] |
//!
//! The host's capabilities (logging, the event time, the plugin's config and
//! a small key-value store) are plain functions in [`host`]. Helpers over
//! the snapshot ([`AssignmentRequest::available`],
//! [`AssignmentRequest::least_loaded`], [`Candidate::utilisation`],
//! [`Conversation::customer_text`], ...) save re-deriving the obvious, and
//! [`testing`] has builders, a native stand-in for the host, and case files
//! shared with `baton plugin test`.
//!
//! A complete assignment strategy, and a native test of it (the same code
//! builds into a component for the sandbox):
//!
//! ```
//! use baton_sdk::{AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy};
//! use baton_sdk::{Manifest, PluginError, PluginKind};
//!
//! struct FirstFree;
//!
//! impl AssignmentStrategy for FirstFree {
//!     fn describe() -> Manifest {
//!         Manifest::new("first-free", "0.1.0", PluginKind::AssignmentStrategy)
//!             .description("Gives the conversation to the first agent with room for it")
//!     }
//!
//!     fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
//!         Ok(match request.available().next() {
//!             Some(agent) => AssignmentDecision::Assign(AssignTo {
//!                 agent: agent.id.to_owned(),
//!                 reason: format!("first-free: {} has room", agent.id),
//!             }),
//!             None => AssignmentDecision::Queue("first-free: nobody has room".into()),
//!         })
//!     }
//! }
//!
//! baton_sdk::export_assignment_strategy!(FirstFree);
//!
//! use baton_sdk::testing::{agent, assignment, conversation};
//! let request = assignment(conversation("cnv_1"))
//!     .candidate(agent("agt_away").away())
//!     .candidate(agent("agt_here"))
//!     .build();
//! match FirstFree::decide(request).unwrap() {
//!     AssignmentDecision::Assign(to) => assert_eq!(to.agent, "agt_here"),
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the plugin
//! crate needs `crate-type = ["cdylib"]`, and must depend on this crate under
//! its own name, `baton-sdk`, because the export macros refer to it by name.

#![deny(missing_docs)]

// The generated bindings name the runtime as `::baton_sdk::...` so that the
// export macros also work when they expand inside a plugin crate, which has
// no direct dependency on wit-bindgen; this makes the same path resolve here.
extern crate self as baton_sdk;

use std::marker::PhantomData;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// Generated bindings. Not part of the API: use the re-exports at the crate
/// root.
///
/// # Why the worlds are split into parts
///
/// wit-bindgen records the world each `generate!` call was given in a
/// `component-type` custom section, and `wasm-component-ld` unions every such
/// section it links. Were this library to carry the three full worlds, every
/// plugin would claim the exports of all three kinds, which it does not
/// define, and could not become a component.
///
/// With `pub_export_macro`, wit-bindgen keeps only a world's *imports* in
/// this library and emits the section describing its exports from the export
/// macro, that is inside the plugin crate. That would be enough if each
/// world were generated here, but all three export `meta`, and the
/// `#[macro_export]` macros wit-bindgen writes per exported interface would
/// then collide at this crate's root. So each exported interface gets a
/// world of its own below (`meta-part`, `strategy-part`, ...), and an export
/// macro of this crate expands the parts of one kind: a strategy plugin links
/// the full sections of `meta-part` and `strategy-part` only, and its
/// component exports exactly the interfaces of the `assignment-strategy`
/// world.
///
/// The shared `types` and `host` interfaces are generated once, in
/// `strategy`, and the other parts point at them with `with:` so that every
/// kind of plugin sees the same Rust types.
#[doc(hidden)]
#[allow(missing_docs, unsafe_code, unreachable_pub, clippy::all)]
pub mod __bindings {
    /// Runs `generate!` for one part. The WIT text must be the same in every
    /// call: the sections of all calls end up in one component and are
    /// merged, which needs one definition of the `baton:sdk-parts` package.
    macro_rules! generate_part {
        ($world:literal $(, $option:ident: $value:tt)*) => {
            wit_bindgen::generate!({
                inline: "
                    package baton:sdk-parts@0.4.0;

                    world meta-part {
                        export baton:plugin/meta@0.4.0;
                    }
                    world strategy-part {
                        import baton:plugin/host@0.4.0;
                        export baton:plugin/strategy@0.4.0;
                    }
                    world trigger-part {
                        import baton:plugin/host@0.4.0;
                        export baton:plugin/trigger@0.4.0;
                    }
                    world automation-part {
                        import baton:plugin/host@0.4.0;
                        export baton:plugin/automation@0.4.0;
                    }
                    world predicate-part {
                        import baton:plugin/host@0.4.0;
                        export baton:plugin/predicate@0.4.0;
                    }
                ",
                path: "wit",
                world: $world,
                // Export macros expand inside plugin crates, which do not
                // depend on wit-bindgen themselves.
                runtime_path: "::baton_sdk::__wit_bindgen::rt",
                pub_export_macro: true,
                $($option: $value,)*
            });
        };
    }

    /// `strategy` (and the shared `types` and `host`).
    pub mod strategy {
        generate_part!("strategy-part", additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize], with: {
            "baton:plugin/types@0.4.0": generate,
            "baton:plugin/host@0.4.0": generate,
        });
    }

    /// `meta`, exported by every kind.
    pub mod meta {
        generate_part!("meta-part", with: {
            "baton:plugin/types@0.4.0": crate::__bindings::strategy::baton::plugin::types,
        });
    }

    /// `trigger`.
    pub mod trigger {
        generate_part!("trigger-part", with: {
            "baton:plugin/types@0.4.0": crate::__bindings::strategy::baton::plugin::types,
            "baton:plugin/host@0.4.0": crate::__bindings::strategy::baton::plugin::host,
        });
    }

    /// `predicate`.
    pub mod predicate {
        generate_part!("predicate-part", with: {
            "baton:plugin/types@0.4.0": crate::__bindings::strategy::baton::plugin::types,
            "baton:plugin/host@0.4.0": crate::__bindings::strategy::baton::plugin::host,
        });
    }

    /// `automation`.
    pub mod automation {
        generate_part!("automation-part", with: {
            "baton:plugin/types@0.4.0": crate::__bindings::strategy::baton::plugin::types,
            "baton:plugin/host@0.4.0": crate::__bindings::strategy::baton::plugin::host,
        });
    }
}

/// The `baton:plugin` contract version this SDK builds plugins against;
/// it is stamped into every component (in the names of the interfaces it
/// exports) and checked by the host at upload.
pub const CONTRACT_VERSION: &str = "0.4.0";

/// Derive a config type's JSON Schema, for
/// [`Manifest::config_schema_for`]. Plugin crates depend on `schemars`
/// themselves for the derive.
pub use schemars::{self, JsonSchema};

#[doc(inline)]
pub use __bindings::strategy::baton::plugin::types::{
    Action, AssignTo, Assignee, AssignmentDecision, Author, Channel, ChannelLoad, ChannelLoads,
    Contact, Conversation, ConversationStatus, Event, EventKind, Handoff, HandoffDecision,
    HandoffMode, HandoffTarget, Manifest, Message, Notification, OfferTo, PluginError, PluginKind,
    Presence, Recipient, Ticket, TicketRequest, TimerRequest,
};

/// A plugin that chooses who gets a conversation.
///
/// Export it with [`export_assignment_strategy!`].
pub trait AssignmentStrategy {
    /// Name, version, kind and config schema. Called once, at upload.
    fn describe() -> Manifest;

    /// Decide who gets `request.conversation`.
    ///
    /// `request.candidates` includes agents who cannot take work now; use
    /// [`Candidate::can_take`] to find those who can.
    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError>;
}

/// A plugin that decides when a bot hands a conversation to a human.
///
/// Export it with [`export_handoff_trigger!`].
pub trait HandoffTrigger {
    /// Name, version, kind and config schema. Called once, at upload.
    fn describe() -> Manifest;

    /// Called for each new `message` of a bot-owned `conversation`.
    fn evaluate(
        conversation: Conversation,
        message: Message,
    ) -> Result<HandoffDecision, PluginError>;
}

/// A plugin that reacts to events with a list of actions.
///
/// Export it with [`export_workflow!`].
pub trait Workflow {
    /// Name, version, kind, config schema and the events to receive (see
    /// [`Manifest::subscribes`]). Called once, at upload.
    fn describe() -> Manifest;

    /// Called for each event the plugin subscribes to; the actions apply to
    /// the event's conversation, in order.
    fn on_event(event: Event) -> Result<Vec<Action>, PluginError>;
}

/// A plugin that is one condition of an assignment rule, for what the
/// built-in operators cannot say (a CRM lookup table in the config, a
/// pattern over the messages, ...).
///
/// Export it with [`export_rule_condition!`].
pub trait RuleCondition {
    /// Name, version, kind and config schema. Called once, at upload.
    fn describe() -> Manifest;

    /// Whether the condition holds for `conversation`.
    fn matches(conversation: Conversation) -> Result<bool, PluginError>;
}

/// Adapters from the public traits to the generated `Guest` traits, used by
/// the export macros. Not part of the API.
#[doc(hidden)]
pub mod __private {
    use super::*;
    use crate::__bindings::{automation, meta, predicate, strategy, trigger};

    /// Exports an [`AssignmentStrategy`].
    pub struct StrategyExport<T>(PhantomData<T>);

    impl<T: AssignmentStrategy> meta::exports::baton::plugin::meta::Guest for StrategyExport<T> {
        fn describe() -> Manifest {
            T::describe()
        }
    }

    impl<T: AssignmentStrategy> strategy::exports::baton::plugin::strategy::Guest
        for StrategyExport<T>
    {
        fn decide(
            request: strategy::baton::plugin::types::AssignmentRequest,
        ) -> Result<AssignmentDecision, PluginError> {
            T::decide(AssignmentRequest::from_wire(request)?)
        }
    }

    /// Exports a [`HandoffTrigger`].
    pub struct TriggerExport<T>(PhantomData<T>);

    impl<T: HandoffTrigger> meta::exports::baton::plugin::meta::Guest for TriggerExport<T> {
        fn describe() -> Manifest {
            T::describe()
        }
    }

    impl<T: HandoffTrigger> trigger::exports::baton::plugin::trigger::Guest for TriggerExport<T> {
        fn evaluate(
            conversation: Conversation,
            message: Message,
        ) -> Result<HandoffDecision, PluginError> {
            T::evaluate(conversation, message)
        }
    }

    /// Exports a [`Workflow`].
    pub struct WorkflowExport<T>(PhantomData<T>);

    impl<T: Workflow> meta::exports::baton::plugin::meta::Guest for WorkflowExport<T> {
        fn describe() -> Manifest {
            T::describe()
        }
    }

    impl<T: Workflow> automation::exports::baton::plugin::automation::Guest for WorkflowExport<T> {
        fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
            T::on_event(event)
        }
    }

    /// Exports a [`RuleCondition`].
    pub struct ConditionExport<T>(PhantomData<T>);

    impl<T: RuleCondition> meta::exports::baton::plugin::meta::Guest for ConditionExport<T> {
        fn describe() -> Manifest {
            T::describe()
        }
    }

    impl<T: RuleCondition> predicate::exports::baton::plugin::predicate::Guest for ConditionExport<T> {
        fn matches(conversation: Conversation) -> Result<bool, PluginError> {
            T::matches(conversation)
        }
    }
}

/// Makes a type implementing [`RuleCondition`] the plugin's entry point.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_rule_condition {
    ($plugin:ty) => {
        const _: () = {
            type __BatonExport = $crate::__private::ConditionExport<$plugin>;
    $crate::__bindings::meta::export!(__BatonExport with_types_in $crate::__bindings::meta);
            $crate::__bindings::predicate::export!(
                __BatonExport with_types_in $crate::__bindings::predicate
            );
        };
    };
}

/// Makes a type implementing [`AssignmentStrategy`] the plugin's entry point.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_assignment_strategy {
    ($plugin:ty) => {
        const _: () = {
            // wit-bindgen's export macros take a plain identifier, so the
            // generic adapter gets a local name first.
            type __BatonExport = $crate::__private::StrategyExport<$plugin>;
    $crate::__bindings::meta::export!(__BatonExport with_types_in $crate::__bindings::meta);
            $crate::__bindings::strategy::export!(
                __BatonExport with_types_in $crate::__bindings::strategy
            );
        };
    };
}

/// Makes a type implementing [`HandoffTrigger`] the plugin's entry point.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_handoff_trigger {
    ($plugin:ty) => {
        const _: () = {
            type __BatonExport = $crate::__private::TriggerExport<$plugin>;
    $crate::__bindings::meta::export!(__BatonExport with_types_in $crate::__bindings::meta);
            $crate::__bindings::trigger::export!(
                __BatonExport with_types_in $crate::__bindings::trigger
            );
        };
    };
}

/// Makes a type implementing [`Workflow`] the plugin's entry point.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_workflow {
    ($plugin:ty) => {
        const _: () = {
            type __BatonExport = $crate::__private::WorkflowExport<$plugin>;
    $crate::__bindings::meta::export!(__BatonExport with_types_in $crate::__bindings::meta);
            $crate::__bindings::automation::export!(
                __BatonExport with_types_in $crate::__bindings::automation
            );
        };
    };
}

pub mod host;
mod manifest;
mod request;
mod snapshot;
pub mod spelling;

pub use request::{AssignmentRequest, Candidate, Candidates, Iter, Teams};
pub mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    fn load(chat: (u32, u32), email: (u32, u32)) -> ChannelLoads {
        let idle = ChannelLoad {
            open: 0,
            capacity: 0,
        };
        ChannelLoads {
            chat: ChannelLoad {
                open: chat.0,
                capacity: chat.1,
            },
            email: ChannelLoad {
                open: email.0,
                capacity: email.1,
            },
            call: idle,
            form: idle,
        }
    }

    fn agent(presence: Presence, load: ChannelLoads) -> Candidate<'static> {
        Candidate {
            id: "agt_1",
            presence,
            load,
            available_since_ms: None,
            idle_since_ms: None,
            last_assigned_at_ms: None,
            handled: 0,
            teams: Teams::default(),
        }
    }

    #[test]
    fn can_take_needs_presence_and_room_on_the_channel() {
        let loads = || load((1, 2), (3, 3));
        let ann = agent(Presence::Available, loads());
        assert!(ann.can_take(Channel::Chat));
        assert!(!ann.can_take(Channel::Email), "full");
        assert!(!ann.can_take(Channel::Call), "does not work the channel");
        assert!(!agent(Presence::Away, loads()).can_take(Channel::Chat));
        assert!(!agent(Presence::Offline, loads()).can_take(Channel::Chat));
    }

    #[test]
    fn counts_open_conversations() {
        let ann = agent(Presence::Available, load((1, 2), (3, 5)));
        assert_eq!(ann.open_on(Channel::Chat), 1);
        assert_eq!(ann.open_on(Channel::Call), 0);
        assert_eq!(ann.total_open(), 4);
    }

    #[test]
    fn attributes_are_empty_unless_an_object() {
        let mut conversation = Conversation {
            id: "cnv_1".into(),
            channel: Channel::Chat,
            subject: None,
            status: ConversationStatus::Open,
            contact: Contact {
                name: None,
                email: None,
            },
            attributes_json: r#"{"website":"shop.example"}"#.into(),
            assignee: None,
            team: None,
            created_at_ms: 0,
            recent_messages: vec![],
        };
        assert_eq!(conversation.attributes()["website"], "shop.example");
        for odd in ["", "[1]", "not json", "null"] {
            conversation.attributes_json = odd.into();
            assert!(conversation.attributes().is_empty(), "{odd:?}");
        }
    }

    #[test]
    fn manifest_builder_fills_every_field() {
        let manifest = Manifest::new("tagger", "1.0.0", PluginKind::Workflow)
            .description("tags")
            .config_schema(serde_json::json!({"type": "object"}))
            .subscribes([EventKind::ConversationCreated]);
        assert_eq!(manifest.name, "tagger");
        assert_eq!(manifest.config_schema, r#"{"type":"object"}"#);
        assert_eq!(manifest.subscribes, vec![EventKind::ConversationCreated]);
        let bare = Manifest::new("x", "0.1.0", PluginKind::AssignmentStrategy);
        assert_eq!(bare.config_schema, "{}");
    }

    #[test]
    fn config_errors_are_invalid_config() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Config {
            #[serde(default)]
            n: u32,
        }
        assert_eq!(host::parse_config::<Config>("").unwrap().n, 0);
        assert_eq!(host::parse_config::<Config>(r#"{"n":2}"#).unwrap().n, 2);
        let err = host::parse_config::<Config>(r#"{"m":2}"#).unwrap_err();
        assert!(matches!(err, PluginError::InvalidConfig(_)), "{err:?}");
    }
}
