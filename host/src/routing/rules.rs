//! Applying the tenant's assignment rules to a conversation: the first
//! enabled match sets who may get it and which method picks.

use super::Router;
use super::assign::Scope;
use super::spec::{BindError, PluginUse};
use crate::domain::{Author, TenantId};
use crate::rules::{Facts, Target, first_match};
use crate::store::{ConversationRecord, MessageRecord};

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

fn facts(conversation: &ConversationRecord, messages: &[MessageRecord], past: u64) -> Facts {
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
        conversation: &ConversationRecord,
        messages: &[MessageRecord],
    ) -> Result<RuleDecision, BindError> {
        let rules = self.store.list_rules(tenant).await?;
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
        let Some(rule) = first_match(&rules, &facts(conversation, messages, past)) else {
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
