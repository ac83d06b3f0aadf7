//! One assignment decision over 50 candidate agents, three ways:
//! (a) native Rust, (b) a plugin call on a warm instance, (c) instantiate
//! and call, which is what routing does for every decision. Each candidate
//! is in one of four teams; (b) is also run with candidates in no team, to
//! show what passing the teams (contract 0.4.0) costs, and (d) measures
//! building the request from its candidates (sorting them, and listing the
//! teams with each candidate's positions in the list), with and without.

use std::collections::BTreeMap;

use baton_host::plugin::bindings::types;
use baton_host::plugin::defaults::{BUILTINS, ROUND_ROBIN};
use baton_host::plugin::{AgentState, AssignmentRequest, Candidate};
use baton_host::plugin::{CallContext, PluginRuntime, SandboxLimits};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const CANDIDATES: usize = 50;

fn snapshot(with_teams: bool) -> AssignmentRequest {
    let candidates = (0..CANDIDATES)
        .map(|i| Candidate {
            id: format!("agt_{i:032x}"),
            // Each in one of four teams, as a desk split by team is.
            teams: if with_teams {
                vec![format!("tm_{:032x}", i % 4)]
            } else {
                Vec::new()
            },
            agent: AgentState {
                presence: if i % 5 == 0 {
                    types::Presence::Away
                } else {
                    types::Presence::Available
                },
                load: types::ChannelLoads {
                    chat: types::ChannelLoad {
                        open: (i % 4) as u32,
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
                available_since_ms: Some(1_700_000_000_000 + i as i64),
                idle_since_ms: Some(1_700_000_000_000 + i as i64),
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
            attributes_json: r#"{"website":"shop.example.com","browser":"Firefox"}"#.into(),
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

/// The same rule as the round-robin plugin, natively: the first eligible
/// agent after the last one served, in id order (which the request keeps).
fn native_round_robin(request: &AssignmentRequest, last: &str) -> Option<String> {
    let candidates = request.candidates();
    let start = match candidates.binary_search_by(|c| c.id.as_str().cmp(last)) {
        Ok(at) => at + 1,
        Err(at) => at,
    };
    let can_take = |c: &&Candidate| {
        let load = match request.conversation.channel {
            types::Channel::Chat => c.agent.load.chat,
            types::Channel::Email => c.agent.load.email,
            types::Channel::Call => c.agent.load.call,
            types::Channel::Form => c.agent.load.form,
        };
        c.agent.presence == types::Presence::Available && load.open < load.capacity
    };
    candidates[start..]
        .iter()
        .chain(&candidates[..start])
        .find(can_take)
        .map(|c| c.id.clone())
}

fn context() -> CallContext {
    let mut kv = BTreeMap::new();
    kv.insert("last".to_owned(), format!("agt_{:032x}", 17).into_bytes());
    CallContext {
        tenant: "ten_bench".into(),
        plugin: "round-robin@0.1.0".into(),
        config: "{}".into(),
        now_ms: 1_700_000_200_000,
        kv,
    }
}

fn decision(c: &mut Criterion) {
    let runtime = PluginRuntime::new(SandboxLimits::default()).expect("engine");
    let wasm = BUILTINS
        .iter()
        .find(|(name, _)| *name == ROUND_ROBIN)
        .expect("built-in")
        .1;
    let compiled = runtime.compile(wasm).expect("compiles");
    let request = snapshot(true);
    let last = format!("agt_{:032x}", 17);

    let mut group = c.benchmark_group("assignment_decision_50_candidates");
    group.bench_function("a_native_rust", |b| {
        b.iter(|| native_round_robin(std::hint::black_box(&request), &last))
    });
    let mut warm = runtime
        .warm_strategy(&compiled, context())
        .expect("instantiates");
    group.bench_function("b_plugin_warm_instance", |b| {
        b.iter(|| {
            warm.decide(std::hint::black_box(&request))
                .expect("decides")
        })
    });
    let teamless = snapshot(false);
    group.bench_function("b_plugin_warm_instance_no_teams", |b| {
        b.iter(|| {
            warm.decide(std::hint::black_box(&teamless))
                .expect("decides")
        })
    });
    group.bench_function("c_plugin_instantiate_and_call", |b| {
        b.iter(|| {
            runtime
                .decide(&compiled, context(), std::hint::black_box(&request))
                .expect("decides")
        })
    });
    for (name, built) in [
        ("d_request_built", &request),
        ("d_request_built_no_teams", &teamless),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || (built.conversation.clone(), built.candidates().to_vec()),
                |(conversation, candidates)| AssignmentRequest::new(conversation, candidates),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, decision);

criterion_main!(benches);
