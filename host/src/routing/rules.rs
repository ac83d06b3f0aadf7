//! Applying the tenant's assignment rules to a conversation: the first
//! enabled match sets who may get it and which method picks.

use super::assign::Scope;
use super::hot::TenantState;
use super::spec::BindError;
use super::{Router, snapshot};
use crate::domain::{
    Author, Change, ConversationRecord, Match, MessageRecord, PluginUse, Rule, RuleVerdict, Target,
    TenantId,
};
use crate::rules::{Facts, Verdict};

/// What the rules say about one conversation.
pub(super) enum RuleDecision {
    /// No rule matched: every agent, the bound strategy.
    NoMatch,
    /// A rule matched: its agents and, if it names one, its method.
    Route {
        rule: String,
        scope: Scope,
        method: Option<PluginUse>,
    },
    /// A rule sends the conversation to nobody: it ends unhandled.
    Nobody { rule: String },
    /// A rule's target does not resolve (no owner, no earlier agent).
    Unresolved { rule: String, reason: String },
}

impl RuleDecision {
    /// The name of the rule that matched, if one did.
    pub(super) fn rule(&self) -> Option<&str> {
        match self {
            RuleDecision::NoMatch => None,
            RuleDecision::Route { rule, .. }
            | RuleDecision::Nobody { rule }
            | RuleDecision::Unresolved { rule, .. } => Some(rule),
        }
    }

    /// What the decision amounts to, for [`crate::domain::arrival`].
    pub(super) fn verdict(&self) -> RuleVerdict {
        match self {
            RuleDecision::NoMatch => RuleVerdict::NoMatch,
            RuleDecision::Route { .. } => RuleVerdict::Assigns,
            RuleDecision::Nobody { .. } => RuleVerdict::Nobody,
            RuleDecision::Unresolved { .. } => RuleVerdict::Unresolved,
        }
    }
}

/// The facts conditions test, from a conversation and its recent messages.
pub(super) fn facts(
    conversation: &ConversationRecord,
    messages: &[MessageRecord],
    past: u64,
) -> Facts {
    let message = messages
        .iter()
        .filter(|m| m.author == Author::Customer && !m.internal)
        .map(|m| m.body.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    Facts {
        channel: conversation.channel.as_str().to_owned(),
        subject: conversation.subject.clone(),
        message,
        contact_name: conversation.contact_name.clone(),
        contact_email: conversation.contact_email.clone(),
        team: conversation.team.as_ref().map(ToString::to_string),
        past_conversations: past,
        attributes: conversation
            .attributes
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}

impl Router {
    /// Evaluate the rules, top to bottom, for `conversation`.
    pub(super) async fn match_rule(
        &self,
        tenant: &TenantId,
        hot: &TenantState,
        conversation: &ConversationRecord,
        messages: &[MessageRecord],
        failures: &mut Vec<Change>,
    ) -> Result<RuleDecision, BindError> {
        let rules = hot.rules().await?;
        if rules.iter().all(|r| !r.enabled) {
            return Ok(RuleDecision::NoMatch);
        }
        let past = match &conversation.contact_email {
            Some(email) => {
                self.store
                    .past_conversations(tenant, email, conversation.created_at)
                    .await?
            }
            None => 0,
        };
        let facts = facts(conversation, messages, past);
        let mut chosen = None;
        for rule in rules.iter().filter(|r| r.enabled) {
            let holds = match rule.conditions.verdict(&facts) {
                Verdict::Holds => true,
                Verdict::Fails => false,
                Verdict::AskPlugins => {
                    self.ask_condition_plugins(tenant, rule, conversation, messages, failures)
                        .await?
                }
            };
            if holds {
                chosen = Some(rule);
                break;
            }
        }
        let Some(rule) = chosen else {
            return Ok(RuleDecision::NoMatch);
        };
        let name = rule.name.clone();
        let scope = match &rule.target {
            Target::All => Scope::Any,
            Target::Members { agents, teams } => Scope::Members {
                agents: agents.clone(),
                teams: teams.clone(),
            },
            Target::ContactOwner => match &conversation.contact_owner {
                Some(owner) => Scope::Agent(owner.clone()),
                None => {
                    return Ok(RuleDecision::Unresolved {
                        rule: name,
                        reason: "the contact has no owner".into(),
                    });
                }
            },
            Target::LastAgent => {
                let last = match &conversation.contact_email {
                    Some(email) => {
                        self.store
                            .last_agent_for_contact(tenant, email, &conversation.id)
                            .await?
                    }
                    None => None,
                };
                match last {
                    Some(agent) => Scope::Agent(agent),
                    None => {
                        return Ok(RuleDecision::Unresolved {
                            rule: name,
                            reason: "no agent has handled this contact before".into(),
                        });
                    }
                }
            }
            Target::Nobody => return Ok(RuleDecision::Nobody { rule: name }),
        };
        Ok(RuleDecision::Route {
            rule: name,
            scope,
            method: rule.method.clone(),
        })
    }
}

impl Router {
    /// Ask a rule's condition plugins, combined as the rule says. A plugin
    /// that fails counts as "does not hold" and is recorded, so a broken
    /// condition never routes a conversation by accident.
    async fn ask_condition_plugins(
        &self,
        tenant: &TenantId,
        rule: &Rule,
        conversation: &ConversationRecord,
        messages: &[MessageRecord],
        failures: &mut Vec<Change>,
    ) -> Result<bool, BindError> {
        let snapshot = snapshot::conversation(conversation, messages);
        for plugin in &rule.conditions.plugins {
            let holds = match self
                .matches(tenant, plugin, self.store.now(), snapshot.clone())
                .await
            {
                Ok(answer) => answer.value,
                Err(error) => {
                    failures.push(self.failure_change(
                        tenant,
                        Some(&conversation.id),
                        plugin,
                        &error,
                        "condition does not hold",
                    ));
                    false
                }
            };
            match (rule.conditions.combine, holds) {
                (Match::All, false) => return Ok(false),
                (Match::Any, true) => return Ok(true),
                _ => {}
            }
        }
        Ok(rule.conditions.combine == Match::All)
    }
}
