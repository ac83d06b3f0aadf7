//! `baton plugin new`: a plugin crate that builds as is, with native tests
//! and a case file `baton plugin test` runs against the built component.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::CliError;
use baton_host::plugin::bindings::types;
use baton_host::plugin::{AgentState, AssignmentRequest, Candidate};

/// The kinds `new` makes, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    Assignment,
    Handoff,
    Workflow,
    /// A rule condition, which assignment rules name in their conditions.
    Condition,
}

impl Kind {
    fn source(self) -> &'static str {
        match self {
            Kind::Assignment => include_str!("templates/strategy.rs.txt"),
            Kind::Handoff => include_str!("templates/handoff.rs.txt"),
            Kind::Workflow => include_str!("templates/workflow.rs.txt"),
            Kind::Condition => include_str!("templates/condition.rs.txt"),
        }
    }
}

/// The SDK release a new plugin depends on: the one made with this
/// `baton` (the workspace gives both the same version).
const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Make `<parent>/<name>`; returns its path.
pub(crate) fn new_plugin(
    name: &str,
    kind: Kind,
    parent: &Path,
    sdk: Option<&Path>,
) -> Result<PathBuf, CliError> {
    if !valid_name(name) {
        return Err(CliError::usage(format!(
            "{name:?} is not a plugin name: use 1-64 lower-case letters, digits and dashes, starting with a letter"
        )));
    }
    let sdk = match sdk {
        Some(path) => Sdk::Path(checkout_sdk(path)?),
        None => Sdk::Release(SDK_VERSION),
    };
    let dir = parent.join(name);
    if dir.exists() {
        return Err(CliError::failed(format!(
            "{} already exists; choose another name or remove it",
            dir.display()
        )));
    }
    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        (".cargo/config.toml", CARGO_CONFIG.to_owned()),
        (".gitignore", "/target\n".to_owned()),
        ("src/lib.rs", kind.source().replace("{{name}}", name)),
        ("events.json", cases(name, kind)),
        ("README.md", readme(name, kind)),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|e| CliError::failed(format!("creating {}: {e}", folder.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| CliError::failed(format!("writing {}: {e}", path.display())))?;
    }
    Ok(dir)
}

/// Where a new plugin takes `baton-sdk` from.
enum Sdk {
    /// A release from crates.io.
    Release(&'static str),
    /// A folder with the SDK's sources, e.g. a checkout's `sdk/`.
    Path(PathBuf),
}

impl Sdk {
    fn dependency(&self) -> String {
        match self {
            Sdk::Release(version) => format!("{version:?}"),
            Sdk::Path(path) => format!("{{ path = {:?} }}", path.display().to_string()),
        }
    }
}

/// `path`, if it holds the baton-sdk crate, made absolute.
fn checkout_sdk(path: &Path) -> Result<PathBuf, CliError> {
    let manifest = std::fs::read_to_string(path.join("Cargo.toml")).unwrap_or_default();
    let is_sdk = manifest
        .lines()
        .any(|line| line.replace(' ', "") == "name=\"baton-sdk\"");
    if !is_sdk {
        return Err(CliError::failed(format!(
            "{} is not the baton-sdk crate; --sdk takes the path of Baton's sdk/ folder",
            path.display()
        )));
    }
    path.canonicalize()
        .map_err(|e| CliError::failed(format!("{}: {e}", path.display())))
}

fn cargo_toml(name: &str, sdk: &Sdk) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
baton-sdk = {sdk}
schemars = "1"
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

# A plugin is a crate of its own, wherever it is created.
[workspace]
"#,
        sdk = sdk.dependency()
    )
}

/// The same small stack Baton's own plugins use: the host keeps the first
/// pages of memory resident, so a small stack makes instantiation cheaper.
const CARGO_CONFIG: &str = r#"[target.wasm32-wasip2]
rustflags = ["-C", "link-arg=-zstack-size=131072"]
"#;

fn readme(name: &str, kind: Kind) -> String {
    let kind = match kind {
        Kind::Assignment => "assignment strategy",
        Kind::Handoff => "handoff trigger",
        Kind::Workflow => "workflow",
        Kind::Condition => "rule condition",
    };
    format!(
        "# {name}\n\nA Baton {kind}.\n\n```sh\ncargo test                                     # the logic, natively\nbaton plugin build                             # the component, checked against the contract\nbaton plugin test                              # events.json against the built component\nbaton plugin upload target/wasm32-wasip2/release/{file}.wasm\n```\n",
        file = name.replace('-', "_")
    )
}

fn conversation(body: &str) -> types::Conversation {
    types::Conversation {
        id: "cnv_1".into(),
        channel: types::Channel::Chat,
        subject: None,
        status: types::ConversationStatus::Open,
        contact: types::Contact {
            name: Some("Kim".into()),
            email: Some("kim@example.com".into()),
        },
        attributes_json: "{}".into(),
        assignee: None,
        team: None,
        created_at_ms: 0,
        recent_messages: vec![message(body)],
    }
}

fn message(body: &str) -> types::Message {
    types::Message {
        author: types::Author::Customer,
        body: body.into(),
        internal: false,
        at_ms: 0,
    }
}

fn candidate(id: &str, presence: types::Presence, open_chats: u32, teams: &[&str]) -> Candidate {
    let load = |open, capacity| types::ChannelLoad { open, capacity };
    let agent = AgentState {
        presence,
        load: types::ChannelLoads {
            chat: load(open_chats, 3),
            email: load(0, 10),
            call: load(0, 1),
            form: load(0, 10),
        },
        available_since_ms: Some(0),
        idle_since_ms: Some(0),
        last_assigned_at_ms: None,
        handled: 0,
    };
    Candidate {
        id: id.into(),
        teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        agent,
    }
}

/// A case, spelled as a case file spells it.
fn case(name: &str, config: Value, kind: &str, input: Value, expect: Value) -> Value {
    baton_host::plugin::cases::spelled(
        json!({"name": name, "config": config, "kind": kind, "input": input, "expect": expect}),
    )
}

/// Two or three cases per kind, with the answers the template's logic gives.
fn cases(name: &str, kind: Kind) -> String {
    let list = match kind {
        Kind::Assignment => {
            let request = json!(AssignmentRequest::new(
                conversation("Where is my order?"),
                vec![
                    candidate("agt_a", types::Presence::Available, 2, &["tm_sales"]),
                    candidate("agt_b", types::Presence::Available, 1, &[]),
                    candidate("agt_c", types::Presence::Away, 0, &["tm_sales"]),
                ],
            ));
            vec![
                case(
                    "the least loaded available agent gets it",
                    json!({}),
                    "assignment",
                    request.clone(),
                    json!({"Assign": {"agent": "agt_b", "reason": format!("{name}: agt_b has the fewest open chat conversations (1)")}}),
                ),
                case(
                    "only the team's members, when a team is set",
                    json!({"team": "tm_sales"}),
                    "assignment",
                    request.clone(),
                    json!({"Assign": {"agent": "agt_a", "reason": format!("{name}: agt_a has the fewest open chat conversations (2)")}}),
                ),
                case(
                    "nobody is under max_open",
                    json!({"max_open": 1}),
                    "assignment",
                    request,
                    json!({"Queue": format!("{name}: nobody can take a chat conversation now")}),
                ),
            ]
        }
        Kind::Handoff => {
            let input = json!({"conversation": conversation("Hello"), "message": message("Can you help me?")});
            vec![
                case(
                    "the customer asks for help",
                    json!({}),
                    "handoff",
                    input.clone(),
                    json!({"HandOver": {"target": "AnyAgent", "mode": "RealTime", "reason": format!("{name}: the customer wrote \"help\"")}}),
                ),
                case(
                    "configured words replace the default",
                    json!({"words": ["refund"]}),
                    "handoff",
                    input,
                    json!({"Stay": format!("{name}: no trigger word")}),
                ),
            ]
        }
        Kind::Workflow => {
            let event = |body: &str| {
                json!(types::Event {
                    kind: types::EventKind::ConversationCreated,
                    conversation: Some(conversation(body)),
                    message: None,
                    agent: None,
                    ticket: None,
                    timer: None,
                    at_ms: 0,
                })
            };
            vec![
                case(
                    "a new conversation is tagged",
                    json!({}),
                    "workflow",
                    event("Hello"),
                    json!([{"AddTag": "new"}]),
                ),
                case(
                    "keywords add their tags",
                    json!({"tag": "triage", "keywords": {"refund": "billing"}}),
                    "workflow",
                    event("I want a refund"),
                    json!([{"AddTag": "triage"}, {"AddTag": "billing"}]),
                ),
            ]
        }
        Kind::Condition => {
            let input = json!(conversation("Hello"));
            vec![
                case(
                    "a contact at the default domain matches",
                    json!({}),
                    "condition",
                    input.clone(),
                    json!(true),
                ),
                case(
                    "configured domains replace the default",
                    json!({"domains": ["acme.example"]}),
                    "condition",
                    input,
                    json!(false),
                ),
            ]
        }
    };
    serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_cases_parse_as_cases() {
        assert!(valid_name("skills-router"));
        for bad in ["", "Skills", "1st", "a_b", "a b"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        for kind in [
            Kind::Assignment,
            Kind::Handoff,
            Kind::Workflow,
            Kind::Condition,
        ] {
            let parsed = baton_host::plugin::cases::parse(&cases("demo", kind)).expect("parses");
            let expected = if matches!(kind, Kind::Assignment) {
                3
            } else {
                2
            };
            assert_eq!(parsed.len(), expected, "{kind:?}");
        }
    }
}
