//! The default plugin set, built from `plugins/` by the build script and
//! embedded in the binary so a new tenant routes without uploading anything.

/// The default assignment strategy: agents take turns.
pub const ROUND_ROBIN: &str = "round-robin";
/// Fewest open conversations first.
pub const LEAST_LOADED: &str = "least-loaded";
/// The agent who has waited longest for work first.
pub const LONGEST_WAITING: &str = "longest-waiting";
/// Fewest conversations handled in all first.
pub const FEWEST_HANDLED: &str = "fewest-handled";
/// Turns in a fixed order; a skipped agent is served first when back.
pub const FIXED_ORDER: &str = "fixed-order";
/// Offered to every agent at once; the first to accept owns it.
pub const SIMULTANEOUS_OFFER: &str = "simultaneous-offer";
/// The default handoff trigger.
pub const KEYWORD_HANDOFF: &str = "keyword-handoff";
/// Workflow template: handed-over conversations to owners in rotation per channel.
pub const HANDOFF_ROTATION: &str = "handoff-rotation";
/// Workflow template: conversations about a topic to a named agent.
pub const ASSIGN_BY_CONTENT: &str = "assign-by-content";
/// Workflow template: tickets from a source to a named agent.
pub const ASSIGN_BY_SOURCE: &str = "assign-by-source";
/// Workflow template: close after a period without messages.
pub const INACTIVITY_CLOSE: &str = "inactivity-close";
/// Workflow template: reassign when the assignee does not reply in time.
pub const REPLY_DEADLINE: &str = "reply-deadline";
/// Workflow template: escalate conversations waiting too long.
pub const ESCALATE_WAITING: &str = "escalate-waiting";

macro_rules! builtin {
    ($name:expr, $file:literal) => {
        ($name, include_bytes!(concat!(env!("OUT_DIR"), "/", $file)))
    };
}

/// Every built-in plugin: its name and component bytes.
pub const BUILTINS: [(&str, &[u8]); 13] = [
    builtin!(ROUND_ROBIN, "round-robin.wasm"),
    builtin!(LEAST_LOADED, "least-loaded.wasm"),
    builtin!(LONGEST_WAITING, "longest-waiting.wasm"),
    builtin!(FEWEST_HANDLED, "fewest-handled.wasm"),
    builtin!(FIXED_ORDER, "fixed-order.wasm"),
    builtin!(SIMULTANEOUS_OFFER, "simultaneous-offer.wasm"),
    builtin!(KEYWORD_HANDOFF, "keyword-handoff.wasm"),
    builtin!(HANDOFF_ROTATION, "handoff-rotation.wasm"),
    builtin!(ASSIGN_BY_CONTENT, "assign-by-content.wasm"),
    builtin!(ASSIGN_BY_SOURCE, "assign-by-source.wasm"),
    builtin!(INACTIVITY_CLOSE, "inactivity-close.wasm"),
    builtin!(REPLY_DEADLINE, "reply-deadline.wasm"),
    builtin!(ESCALATE_WAITING, "escalate-waiting.wasm"),
];
