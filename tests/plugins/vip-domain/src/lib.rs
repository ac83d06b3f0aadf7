//! Test plugin: a rule condition. It holds when the contact's e-mail is at
//! one of the configured domains, which no built-in operator can say in one
//! condition.

use baton_sdk::{Conversation, Manifest, PluginError, PluginKind, RuleCondition, host};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    domains: Vec<String>,
}

struct VipDomain;

impl RuleCondition for VipDomain {
    fn describe() -> Manifest {
        Manifest::new("vip-domain", "0.1.0", PluginKind::RuleCondition)
            .description("Holds for contacts whose e-mail is at one of the given domains.")
            .config_schema(json!({
                "type": "object",
                "properties": {"domains": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
                "required": ["domains"],
                "additionalProperties": false,
            }))
    }

    fn matches(conversation: Conversation) -> Result<bool, PluginError> {
        let config: Config = host::config()?;
        let domain = conversation
            .contact
            .email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_lowercase());
        Ok(domain.is_some_and(|d| {
            config
                .domains
                .iter()
                .any(|want| want.eq_ignore_ascii_case(&d))
        }))
    }
}

baton_sdk::export_rule_condition!(VipDomain);
