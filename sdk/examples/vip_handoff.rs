//! Example: a handoff trigger for VIP customers. A bot's conversation with
//! a VIP (an e-mail at one of the configured domains, or a `tier` attribute
//! of "vip") goes to a human at the customer's first message, to the VIP
//! team when one is configured.
//!
//! ```json
//! {"domains": ["bigcorp.example"], "team": "team_…"}
//! ```
//!
//! Build: `cargo build -p baton-sdk --example vip_handoff --release --target wasm32-wasip2`.

use baton_sdk::{
    Author, Conversation, Handoff, HandoffDecision, HandoffMode, HandoffTarget, HandoffTrigger,
    JsonSchema, Manifest, Message, PluginError, PluginKind, host,
};
use serde::Deserialize;

/// Who counts as a VIP, and where VIPs go.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// E-mail domains whose people are VIPs.
    #[serde(default)]
    pub domains: Vec<String>,
    /// The team VIPs go to; any agent when absent.
    pub team: Option<String>,
}

pub struct VipHandoff;

impl HandoffTrigger for VipHandoff {
    fn describe() -> Manifest {
        Manifest::new("vip-handoff", "0.1.0", PluginKind::HandoffTrigger)
            .description("VIP customers go to a human at once")
            .config_schema_for::<Config>()
    }

    fn evaluate(
        conversation: Conversation,
        message: Message,
    ) -> Result<HandoffDecision, PluginError> {
        let config: Config = host::config()?;
        Ok(judge(&config, &conversation, &message))
    }
}

baton_sdk::export_handoff_trigger!(VipHandoff);

fn is_vip(config: &Config, conversation: &Conversation) -> Option<String> {
    if conversation
        .attributes()
        .get("tier")
        .and_then(|t| t.as_str())
        == Some("vip")
    {
        return Some("tier vip".into());
    }
    let email = conversation.contact.email.as_deref()?.to_lowercase();
    let domain = email.rsplit_once('@')?.1.to_owned();
    config
        .domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&domain))
        .then(|| format!("{domain} is a VIP domain"))
}

pub fn judge(config: &Config, conversation: &Conversation, message: &Message) -> HandoffDecision {
    match (message.author, is_vip(config, conversation)) {
        (Author::Customer, Some(why)) => HandoffDecision::HandOver(Handoff {
            target: config
                .team
                .clone()
                .map_or(HandoffTarget::AnyAgent, HandoffTarget::Team),
            mode: HandoffMode::RealTime,
            reason: format!("vip-handoff: {why}"),
        }),
        _ => HandoffDecision::Stay("vip-handoff: not a VIP".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::testing::{conversation, message};
    use serde_json::json;

    #[test]
    fn vips_by_domain_or_tier_go_to_the_vip_team() {
        let config = Config {
            domains: vec!["BigCorp.example".into()],
            team: Some("team_vip".into()),
        };
        let hello = message(Author::Customer, "hello");
        let vip = conversation("cnv_1")
            .contact("Kim", "kim@bigcorp.example")
            .build();
        match judge(&config, &vip, &hello) {
            HandoffDecision::HandOver(h) => {
                assert_eq!(h.target, HandoffTarget::Team("team_vip".into()))
            }
            other => panic!("{other:?}"),
        }
        let tier = conversation("cnv_2")
            .attribute("tier", json!("vip"))
            .build();
        assert!(matches!(
            judge(&config, &tier, &hello),
            HandoffDecision::HandOver(_)
        ));
        let other = conversation("cnv_3")
            .contact("Lee", "lee@small.example")
            .build();
        assert!(matches!(
            judge(&config, &other, &hello),
            HandoffDecision::Stay(_)
        ));
    }
}
