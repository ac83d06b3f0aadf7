//! One full assignment decision at scale: 200 assignment rules and 500
//! candidate agents, two ways:
//! (a) rule evaluation alone, where only the last of the 200 rules matches
//! (the worst case: every rule is tried, and each fails on its last
//! condition, so every condition of every rule is evaluated);
//! (b) the same rule evaluation followed by the matched rule's method, the
//! built-in `longest-waiting`, instantiated and called over 500 candidates,
//! which is what routing does for every conversation.

use std::collections::BTreeMap;

use baton_host::domain::{Conditions, Millis, PluginUse, Rule, RuleId, Target};
use baton_host::plugin::bindings::types;
use baton_host::plugin::defaults::{BUILTINS, LONGEST_WAITING};
use baton_host::plugin::{AgentState, AssignmentRequest, Candidate};
use baton_host::plugin::{CallContext, PluginRuntime, SandboxLimits};
use baton_host::rules::{Facts, first_match};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

const RULES: usize = 200;
const CANDIDATES: usize = 500;

/// The conversation the rules are tested against.
fn facts() -> Facts {
    Facts {
        channel: "chat".into(),
        subject: Some("Where is my order?".into()),
        message: "Hi, my order has not arrived.".into(),
        contact_name: Some("Kim".into()),
        contact_email: Some("kim@example.com".into()),
        team: None,
        past_conversations: 3,
        attributes: json!({
            "website": "shop.example.com",
            "browser": "Firefox",
            "utm_source": "spring-sale",
            "crm": {"tier": "gold"}
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    }
}

/// Four conditions that all hold for [`facts`], one per operator family,
/// on channel, subject, a nested attribute and past conversations.
fn passing() -> [Value; 4] {
    [
        json!({"field": "channel", "op": "equals", "value": "chat"}),
        json!({"field": "subject", "op": "contains", "value": "order"}),
        json!({"field": "attributes.crm.tier", "op": "in", "value": ["silver", "gold", "platinum"]}),
        json!({"field": "past_conversations", "op": "greater_than", "value": 1}),
    ]
}

/// The same four tests, each with a value that does not hold for [`facts`].
/// `n` varies the values so that no two rules are identical.
fn failing(n: usize) -> [Value; 4] {
    [
        json!({"field": "channel", "op": "equals", "value": format!("email-{n}")}),
        json!({"field": "subject", "op": "contains", "value": format!("invoice {n}")}),
        json!({"field": "attributes.utm_source", "op": "in", "value": [format!("autumn-{n}"), "winter"]}),
        json!({"field": "past_conversations", "op": "greater_than", "value": 1000 + n}),
    ]
}

/// 200 enabled rules; only the last one matches. Every other rule has the
/// three passing tests of the other kinds first and one failing test last
/// (rotating which operator fails), so `all` short-circuits as late as it can.
fn rules() -> Vec<Rule> {
    let method = PluginUse {
        id: LONGEST_WAITING.into(),
        name: LONGEST_WAITING.into(),
        version: "0.1.0".into(),
        sha256: String::new(),
        subscribes: Vec::new(),
        config: json!({}),
        enabled: true,
        conditions: None,
    };
    (0..RULES)
        .map(|i| {
            let items: Vec<Value> = if i == RULES - 1 {
                passing().to_vec()
            } else {
                let bad = i % 4;
                let pass = passing();
                let mut items: Vec<Value> = (0..4)
                    .filter(|&k| k != bad)
                    .map(|k| pass[k].clone())
                    .collect();
                items.push(failing(i)[bad].clone());
                items
            };
            let conditions: Conditions =
                serde_json::from_value(json!({"match": "all", "items": items}))
                    .expect("conditions parse");
            Rule {
                id: RuleId::generate(),
                position: i as u32,
                name: format!("rule {i}"),
                enabled: true,
                conditions,
                target: Target::All,
                method: Some(method.clone()),
                created_at: Millis(0),
                updated_at: Millis(0),
            }
        })
        .collect()
}

/// 500 candidates: every fifth away, every seventh offline, and every
/// third at its chat capacity, so a good share is ineligible and the
/// plugin has to filter before it compares idle times.
fn request() -> AssignmentRequest {
    let candidates = (0..CANDIDATES)
        .map(|i| Candidate {
            id: format!("agt_{i:032x}"),
            teams: vec![format!("tm_{:032x}", i % 4)],
            agent: AgentState {
                presence: if i % 7 == 0 {
                    types::Presence::Offline
                } else if i % 5 == 0 {
                    types::Presence::Away
                } else {
                    types::Presence::Available
                },
                load: types::ChannelLoads {
                    chat: types::ChannelLoad {
                        open: if i % 3 == 0 { 3 } else { (i % 3) as u32 },
                        capacity: 3,
                    },
                    email: types::ChannelLoad {
                        open: 2,
                        capacity: 10,
                    },
                    call: types::ChannelLoad {
                        open: 0,
                        capacity: 1,
                    },
                    form: types::ChannelLoad {
                        open: 0,
                        capacity: 0,
                    },
                },
                // Scrambled idle times, so the longest-waiting agent is
                // somewhere in the middle rather than first in the list.
                available_since_ms: Some(1_700_000_000_000 + ((i * 7919) % 1000) as i64),
                idle_since_ms: Some(1_700_000_000_000 + ((i * 7919) % 1000) as i64),
                last_assigned_at_ms: Some(1_700_000_100_000 - i as i64),
                handled: i as u32,
            },
        })
        .collect();
    AssignmentRequest::new(
        types::Conversation {
            id: "cnv_00000000000000000000000000000001".into(),
            channel: types::Channel::Chat,
            subject: Some("Where is my order?".into()),
            status: types::ConversationStatus::Open,
            contact: types::Contact {
                name: Some("Kim".into()),
                email: Some("kim@example.com".into()),
            },
            attributes_json: r#"{"website":"shop.example.com","browser":"Firefox","utm_source":"spring-sale","crm":{"tier":"gold"}}"#.into(),
            assignee: None,
            team: None,
            created_at_ms: 1_700_000_200_000,
            recent_messages: vec![types::Message {
                author: types::Author::Customer,
                body: "Hi, my order has not arrived.".into(),
                internal: false,
                at_ms: 1_700_000_200_000,
            }],
        },
        candidates,
    )
}

fn context() -> CallContext {
    CallContext {
        tenant: "ten_bench".into(),
        plugin: "longest-waiting@0.1.0".into(),
        config: "{}".into(),
        now_ms: 1_700_000_200_000,
        kv: BTreeMap::new(),
    }
}

fn rules_decision(c: &mut Criterion) {
    let rules = rules();
    let facts = facts();
    // Checked once, outside the timings: the bench is only the worst case
    // if the last rule, and no earlier one, is the match.
    let matched = first_match(&rules, &facts).expect("the last rule matches");
    assert_eq!(matched.position as usize, RULES - 1);

    let runtime = PluginRuntime::new(SandboxLimits::default()).expect("engine");
    let wasm = BUILTINS
        .iter()
        .find(|(name, _)| *name == LONGEST_WAITING)
        .expect("built-in")
        .1;
    let compiled = runtime.compile(wasm).expect("compiles");
    let request = request();
    let answer = runtime
        .decide(&compiled, context(), &request)
        .expect("decides");
    assert!(matches!(answer.value, types::AssignmentDecision::Assign(_)));

    let mut group = c.benchmark_group("decision_200_rules_500_candidates");
    group.bench_function("a_rules_only_last_matches", |b| {
        b.iter(|| first_match(std::hint::black_box(&rules), std::hint::black_box(&facts)))
    });
    group.bench_function("b_rules_then_longest_waiting_instantiate_and_call", |b| {
        b.iter(|| {
            let rule = first_match(std::hint::black_box(&rules), std::hint::black_box(&facts))
                .expect("matches");
            std::hint::black_box(rule.method.as_ref());
            runtime
                .decide(&compiled, context(), std::hint::black_box(&request))
                .expect("decides")
        })
    });
    group.finish();
}

criterion_group!(benches, rules_decision);

criterion_main!(benches);
