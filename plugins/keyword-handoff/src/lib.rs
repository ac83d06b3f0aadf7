//! Handoff trigger: hand the conversation to a human when the customer
//! writes one of a list of phrases.
//!
//! Three lists are checked, each as case-insensitive substrings of the
//! message: in customer messages, `phrases` (topics a bot should not handle,
//! such as cancellations and refunds) and `human_phrases` (the customer
//! asking for a person); in the bot's own messages, `bot_phrases` (the bot
//! saying it cannot answer). Agents' messages never trigger a handoff.

use baton_sdk::{
    Author, Conversation, Handoff, HandoffDecision, HandoffMode, HandoffTarget, HandoffTrigger,
    Manifest, Message, PluginError, PluginKind, host,
};
use serde::Deserialize;
use serde_json::json;

const DEFAULT_PHRASES: &[&str] = &["cancel", "refund", "キャンセル", "返金"];

const DEFAULT_BOT_PHRASES: &[&str] = &[
    "i can't answer",
    "i cannot answer",
    "i'm not able to answer",
    "i am not able to answer",
    "i don't have an answer",
    "お答えできません",
    "回答できません",
    "分かりかねます",
];

const DEFAULT_HUMAN_PHRASES: &[&str] = &[
    "human",
    "real person",
    "live agent",
    "talk to an agent",
    "speak to an agent",
    "representative",
    "operator",
    "人間",
    "担当者",
    "オペレーター",
    "有人",
];

/// The plugin's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_phrases")]
    phrases: Vec<String>,
    #[serde(default = "default_human_phrases")]
    human_phrases: Vec<String>,
    #[serde(default = "default_bot_phrases")]
    bot_phrases: Vec<String>,
    #[serde(default)]
    mode: Mode,
    team: Option<String>,
    agent: Option<String>,
}

fn default_phrases() -> Vec<String> {
    DEFAULT_PHRASES.iter().map(|p| p.to_string()).collect()
}

fn default_bot_phrases() -> Vec<String> {
    DEFAULT_BOT_PHRASES.iter().map(|p| p.to_string()).collect()
}

fn default_human_phrases() -> Vec<String> {
    DEFAULT_HUMAN_PHRASES
        .iter()
        .map(|p| p.to_string())
        .collect()
}

/// How the handoff happens; the trigger never asks for `none`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    #[default]
    RealTime,
    Asynchronous,
}

impl Config {
    fn target(&self) -> Result<HandoffTarget, PluginError> {
        match (&self.team, &self.agent) {
            (Some(_), Some(_)) => Err(PluginError::InvalidConfig(
                "set `team` or `agent`, not both".to_owned(),
            )),
            (Some(team), None) => Ok(HandoffTarget::Team(team.clone())),
            (None, Some(agent)) => Ok(HandoffTarget::Agent(agent.clone())),
            (None, None) => Ok(HandoffTarget::AnyAgent),
        }
    }

    /// The first phrase of `lists` found in `body`, as configured.
    fn matching<'a>(lists: &[&'a [String]], body: &str) -> Option<&'a str> {
        let body = body.to_lowercase();
        lists
            .iter()
            .flat_map(|list| list.iter())
            .map(|p| p.as_str())
            // An empty phrase would match every message.
            .filter(|p| !p.trim().is_empty())
            .find(|p| body.contains(&p.to_lowercase()))
    }
}

struct KeywordHandoff;

impl HandoffTrigger for KeywordHandoff {
    fn describe() -> Manifest {
        let phrase_list = |description: &str, default: &[&str]| {
            json!({
                "description": description,
                "type": "array",
                "items": { "type": "string", "minLength": 1 },
                "default": default,
            })
        };
        baton_sdk::manifest!("keyword-handoff", PluginKind::HandoffTrigger)
            .description(
                "Hands the conversation to a human when the customer writes one of the \
                 listed phrases (case-insensitive) or asks for a person.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "keyword-handoff",
                "type": "object",
                "properties": {
                    "phrases": phrase_list(
                        "Topics that need a human: a customer message containing one \
                         hands the conversation over.",
                        DEFAULT_PHRASES,
                    ),
                    "human_phrases": phrase_list(
                        "Ways a customer asks for a person: a customer message \
                         containing one hands the conversation over.",
                        DEFAULT_HUMAN_PHRASES,
                    ),
                    "bot_phrases": phrase_list(
                        "Ways the bot says it cannot answer: a bot message \
                         containing one hands the conversation over.",
                        DEFAULT_BOT_PHRASES,
                    ),
                    "mode": {
                        "description": "\"real-time\" assigns a human now, \"asynchronous\" \
                                        assigns one for later follow-up.",
                        "enum": ["real-time", "asynchronous"],
                        "default": "real-time",
                    },
                    "team": {
                        "description": "Hand over to this team (id). Default: any agent.",
                        "type": "string",
                    },
                    "agent": {
                        "description": "Hand over to this agent (id). Default: any agent.",
                        "type": "string",
                    },
                },
                "additionalProperties": false,
                "not": { "required": ["team", "agent"] },
            }))
    }

    fn evaluate(
        _conversation: Conversation,
        message: Message,
    ) -> Result<HandoffDecision, PluginError> {
        let config: Config = host::config()?;
        decide(&config, &message)
    }
}

baton_sdk::export_handoff_trigger!(KeywordHandoff);

fn decide(config: &Config, message: &Message) -> Result<HandoffDecision, PluginError> {
    // Check the target first so a bad config shows up on the first message,
    // not only on the first one that matches.
    let target = config.target()?;
    let (found, who) = match message.author {
        Author::Customer => (
            Config::matching(&[&config.phrases, &config.human_phrases], &message.body),
            "customer",
        ),
        Author::Bot => (
            Config::matching(&[&config.bot_phrases], &message.body),
            "bot",
        ),
        Author::Agent => {
            return Ok(HandoffDecision::Stay(
                "keyword-handoff: agents' messages do not trigger a handoff".to_owned(),
            ));
        }
    };
    Ok(match found {
        Some(phrase) => HandoffDecision::HandOver(Handoff {
            target,
            mode: match config.mode {
                Mode::RealTime => HandoffMode::RealTime,
                Mode::Asynchronous => HandoffMode::Asynchronous,
            },
            reason: format!("{who} wrote \"{phrase}\""),
        }),
        None => {
            HandoffDecision::Stay("keyword-handoff: no listed phrase in the message".to_owned())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Config {
        serde_json::from_str(json).unwrap()
    }

    fn message(author: Author, body: &str) -> Message {
        Message {
            author,
            body: body.into(),
            internal: false,
            at_ms: 0,
        }
    }

    fn hand_over(decision: HandoffDecision) -> Handoff {
        match decision {
            HandoffDecision::HandOver(handoff) => handoff,
            HandoffDecision::Stay(reason) => panic!("stayed: {reason}"),
        }
    }

    #[test]
    fn default_phrases_match_case_insensitively() {
        let defaults = config("{}");
        let handoff =
            hand_over(decide(&defaults, &message(Author::Customer, "I want a REFUND!")).unwrap());
        assert_eq!(handoff.reason, "customer wrote \"refund\"");
        assert_eq!(handoff.target, HandoffTarget::AnyAgent);
        assert_eq!(handoff.mode, HandoffMode::RealTime);
        let handoff = hand_over(
            decide(
                &defaults,
                &message(Author::Customer, "注文をキャンセルしたい"),
            )
            .unwrap(),
        );
        assert_eq!(handoff.reason, "customer wrote \"キャンセル\"");
        let handoff = hand_over(
            decide(
                &defaults,
                &message(Author::Customer, "Can I talk to a Human?"),
            )
            .unwrap(),
        );
        assert_eq!(handoff.reason, "customer wrote \"human\"");
    }

    #[test]
    fn customers_trigger_with_topics_and_bots_by_giving_up() {
        let defaults = config("{}");
        for author in [Author::Bot, Author::Agent] {
            let decision = decide(&defaults, &message(author, "refund")).unwrap();
            assert!(matches!(decision, HandoffDecision::Stay(_)), "{decision:?}");
        }
        let handoff = hand_over(
            decide(
                &defaults,
                &message(Author::Bot, "Sorry, I can't answer that one."),
            )
            .unwrap(),
        );
        assert_eq!(handoff.reason, "bot wrote \"i can't answer\"");
        let decision = decide(&defaults, &message(Author::Customer, "I can't answer")).unwrap();
        assert!(matches!(decision, HandoffDecision::Stay(_)), "{decision:?}");
        let decision = decide(&defaults, &message(Author::Agent, "I can't answer")).unwrap();
        assert!(matches!(decision, HandoffDecision::Stay(_)), "{decision:?}");
        let decision =
            decide(&defaults, &message(Author::Customer, "where is my parcel?")).unwrap();
        assert!(matches!(decision, HandoffDecision::Stay(_)), "{decision:?}");
    }

    #[test]
    fn config_sets_phrases_target_and_mode() {
        let custom = config(
            r#"{"phrases":["Invoice"],"human_phrases":[],"mode":"asynchronous","team":"tm_1"}"#,
        );
        let decision = decide(&custom, &message(Author::Customer, "refund please")).unwrap();
        assert!(matches!(decision, HandoffDecision::Stay(_)), "{decision:?}");
        let handoff =
            hand_over(decide(&custom, &message(Author::Customer, "my invoice is wrong")).unwrap());
        assert_eq!(handoff.reason, "customer wrote \"Invoice\"");
        assert_eq!(handoff.target, HandoffTarget::Team("tm_1".into()));
        assert_eq!(handoff.mode, HandoffMode::Asynchronous);

        let to_agent = config(r#"{"agent":"agt_1"}"#);
        let handoff = hand_over(decide(&to_agent, &message(Author::Customer, "cancel")).unwrap());
        assert_eq!(handoff.target, HandoffTarget::Agent("agt_1".into()));
    }

    #[test]
    fn bad_config_is_an_error() {
        let both = config(r#"{"team":"tm_1","agent":"agt_1"}"#);
        let err = decide(&both, &message(Author::Customer, "hello")).unwrap_err();
        assert!(matches!(err, PluginError::InvalidConfig(_)), "{err:?}");
        assert!(serde_json::from_str::<Config>(r#"{"mode":"none"}"#).is_err());
        assert!(serde_json::from_str::<Config>(r#"{"phrase":["x"]}"#).is_err());
    }

    #[test]
    fn empty_phrases_never_match() {
        let custom = config(r#"{"phrases":[""," "],"human_phrases":[]}"#);
        let decision = decide(&custom, &message(Author::Customer, "anything")).unwrap();
        assert!(matches!(decision, HandoffDecision::Stay(_)), "{decision:?}");
    }
}
