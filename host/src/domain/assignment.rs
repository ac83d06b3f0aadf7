//! Whether a conversation goes to the strategy now or waits for a person:
//! the tenant's assignment mode, applied to a conversation that arrives.
//!
//! LiveAgent's model: with several agents, new tickets stay unassigned in
//! their team unless a rule assigns them, and a member takes one (or someone
//! assigns it). Baton's default stays automatic; `manual` is that model.

use serde::{Deserialize, Serialize};

use super::Routing;

text_enum!(
    /// How new conversations find an owner.
    AssignmentMode {
        /// The strategy (or a matching rule's method) picks an agent as
        /// soon as one has room; the default.
        Automatic = "automatic",
        /// New conversations wait unclaimed in their team (or the inbox)
        /// for an agent to take them; rules that assign still apply.
        Manual = "manual",
    }
);

/// The tenant's assignment settings (`/v1/settings/assignment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSettings {
    pub mode: AssignmentMode,
}

impl Default for AssignmentSettings {
    fn default() -> Self {
        Self {
            mode: AssignmentMode::Automatic,
        }
    }
}

/// What the tenant's assignment rules said about a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleVerdict {
    /// No enabled rule matched.
    NoMatch,
    /// A rule matched and names who may get it (and maybe the method).
    Assigns,
    /// A rule matched but its target names nobody this time (the contact
    /// has no owner, no agent handled the contact before).
    Unresolved,
    /// A rule sends it to nobody: it ends unhandled.
    Nobody,
}

/// Where an arriving conversation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Assigned automatically: the sole admin in solo mode, otherwise the
    /// rule's method or the bound strategy (the queue while nobody in
    /// scope has room).
    Strategy,
    /// The queue, for an agent with room (a rule's target did not resolve).
    Queue,
    /// Unclaimed in its team, for a person to take or assign
    /// ([`Routing::Unclaimed`]).
    WaitForPerson,
    /// Closed unhandled (a rule said nobody).
    Close,
}

/// Where a conversation goes when it arrives: created, or written to again
/// by the customer while nobody owns it. Rules decide first; in manual mode
/// only a rule that assigns sends it to the strategy, except on a desk run
/// by a sole admin, who gets everything in either mode.
pub fn arrival(mode: AssignmentMode, rules: RuleVerdict, sole_admin: bool) -> Arrival {
    match (rules, mode) {
        (RuleVerdict::Nobody, _) => Arrival::Close,
        (RuleVerdict::Assigns, _) | (RuleVerdict::NoMatch, AssignmentMode::Automatic) => {
            Arrival::Strategy
        }
        (RuleVerdict::Unresolved, AssignmentMode::Automatic) => Arrival::Queue,
        (_, AssignmentMode::Manual) if sole_admin => Arrival::Strategy,
        (_, AssignmentMode::Manual) => Arrival::WaitForPerson,
    }
}

impl Routing {
    /// Whether an agent may take it from the waiting list by hand
    /// (`POST /v1/queue/{id}/answer`), and whether `GET /v1/queue` shows it:
    /// queued, offered or unclaimed.
    pub fn takeable(self) -> bool {
        matches!(
            self,
            Routing::Queued | Routing::Offered | Routing::Unclaimed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_mode_sends_new_conversations_to_the_strategy_unless_a_rule_says_otherwise() {
        let auto = AssignmentMode::Automatic;
        for sole_admin in [false, true] {
            assert_eq!(
                arrival(auto, RuleVerdict::NoMatch, sole_admin),
                Arrival::Strategy
            );
            assert_eq!(
                arrival(auto, RuleVerdict::Assigns, sole_admin),
                Arrival::Strategy
            );
            assert_eq!(
                arrival(auto, RuleVerdict::Unresolved, sole_admin),
                Arrival::Queue
            );
            assert_eq!(
                arrival(auto, RuleVerdict::Nobody, sole_admin),
                Arrival::Close
            );
        }
    }

    #[test]
    fn manual_mode_waits_for_a_person_unless_a_rule_assigns_or_one_admin_runs_the_desk() {
        let manual = AssignmentMode::Manual;
        assert_eq!(
            arrival(manual, RuleVerdict::NoMatch, false),
            Arrival::WaitForPerson
        );
        assert_eq!(
            arrival(manual, RuleVerdict::Unresolved, false),
            Arrival::WaitForPerson
        );
        assert_eq!(
            arrival(manual, RuleVerdict::Assigns, false),
            Arrival::Strategy
        );
        assert_eq!(arrival(manual, RuleVerdict::Nobody, false), Arrival::Close);
        assert_eq!(
            arrival(manual, RuleVerdict::NoMatch, true),
            Arrival::Strategy
        );
        assert_eq!(arrival(manual, RuleVerdict::Nobody, true), Arrival::Close);
    }

    #[test]
    fn queued_offered_and_unclaimed_conversations_can_be_taken_by_hand() {
        let takeable: Vec<Routing> = Routing::ALL
            .iter()
            .copied()
            .filter(|r| r.takeable())
            .collect();
        assert_eq!(
            takeable,
            vec![Routing::Queued, Routing::Offered, Routing::Unclaimed]
        );
    }

    #[test]
    fn the_settings_default_to_automatic_and_refuse_unknown_modes() {
        assert_eq!(
            AssignmentSettings::default().mode,
            AssignmentMode::Automatic
        );
        let manual: AssignmentSettings =
            serde_json::from_value(serde_json::json!({"mode": "manual"})).expect("manual");
        assert_eq!(manual.mode, AssignmentMode::Manual);
        assert!(
            serde_json::from_value::<AssignmentSettings>(serde_json::json!({"mode": "random"}))
                .is_err()
        );
    }
}
