//! The assignment methods from the seeds, each a default plugin, on scripted
//! scenarios with an exact expected order.

use baton_e2e::{TestApp, assigned_agent};

/// A tenant with `names` available, created in that order; returns the key
/// and the agent ids.
async fn team(app: &TestApp, names: &[&str], chat: u32) -> (String, Vec<String>) {
    let key = app.tenant("Acme").await;
    let mut ids = Vec::new();
    for name in names {
        let id = app.agent(&key, name, chat).await;
        app.presence(&key, &id, "available").await;
        ids.push(id);
    }
    (key, ids)
}

fn id(conversation: &serde_json::Value) -> String {
    conversation["id"].as_str().expect("id").to_owned()
}

/// Zoho's example: ten agents all on calls; A finishes first, then B. The
/// next call goes to A, who has waited longest, and the one after to B.
#[baton_e2e::test]
async fn longest_waiting_follows_the_seeds_ten_agent_example() {
    let app = TestApp::spawn().await;
    let names = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"];
    let (key, agents) = team(&app, &names, 3).await;
    app.bind_strategy(&key, "longest-waiting").await;
    let mut calls = Vec::new();
    for i in 0..10 {
        let call = app
            .conversation_on(&key, "call", &format!("call {i}"))
            .await;
        calls.push((
            assigned_agent(&call).expect("everyone takes one call"),
            id(&call),
        ));
    }
    let mut owners: Vec<&String> = calls.iter().map(|(agent, _)| agent).collect();
    owners.sort();
    owners.dedup();
    assert_eq!(owners.len(), 10, "one call each");
    let call_of = |agent: &String| {
        calls
            .iter()
            .find(|(a, _)| a == agent)
            .expect("has a call")
            .1
            .clone()
    };

    // Nobody can take a call now: it waits.
    let waiting = app.conversation_on(&key, "call", "busy line").await;
    assert_eq!(waiting["routing"], "queued");

    // C finishes first: the waiting call goes to C straight away.
    app.close(&key, &call_of(&agents[2])).await;
    let waiting = app
        .get(&format!("/v1/conversations/{}", id(&waiting)), &key)
        .await
        .body;
    assert_eq!(assigned_agent(&waiting).as_ref(), Some(&agents[2]));

    // Then A finishes, then B; a new call goes to A, the next to B.
    app.close(&key, &call_of(&agents[0])).await;
    app.close(&key, &call_of(&agents[1])).await;
    let next = app.conversation_on(&key, "call", "next").await;
    assert_eq!(assigned_agent(&next).as_ref(), Some(&agents[0]), "{next}");
    let after = app.conversation_on(&key, "call", "after").await;
    assert_eq!(assigned_agent(&after).as_ref(), Some(&agents[1]), "{after}");
    assert_eq!(after["history"][0]["plugin"], "longest-waiting");
}

/// Fewest handled counts every conversation an agent was given, open or
/// not: Ana has none open but has handled two, so she is last in line.
#[baton_e2e::test]
async fn fewest_handled_counts_conversations_handled_not_open() {
    let app = TestApp::spawn().await;
    let (key, agents) = team(&app, &["Ana", "Ben", "Cho"], 10).await;
    let mut anas = Vec::new();
    for i in 0..4 {
        let c = app.conversation(&key, &format!("q{i}")).await;
        if assigned_agent(&c).as_ref() == Some(&agents[0]) {
            anas.push(id(&c));
        }
    }
    assert_eq!(
        anas.len(),
        2,
        "round-robin gave Ana the first and the fourth"
    );
    for c in &anas {
        app.close(&key, c).await;
    }
    // Open: Ana 0, Ben 1, Cho 1. Handled: Ana 2, Ben 1, Cho 1.
    app.bind_strategy(&key, "fewest-handled").await;
    let next = app.conversation(&key, "next").await;
    // Ben and Cho tie on handled; Ben has waited longer.
    assert_eq!(assigned_agent(&next).as_ref(), Some(&agents[1]), "{next}");
    let after = app.conversation(&key, "after").await;
    assert_eq!(assigned_agent(&after).as_ref(), Some(&agents[2]), "{after}");
}

/// Zoho's fixed order: C is away when their turn comes, so the turn passes
/// to D; when C is back, C is served first and the order carries on.
#[baton_e2e::test]
async fn fixed_order_serves_a_skipped_agent_first_when_back() {
    let app = TestApp::spawn().await;
    let (key, agents) = team(&app, &["A", "B", "C", "D"], 10).await;
    app.bind_strategy(&key, "fixed-order").await;
    let (a, b, c, d) = (&agents[0], &agents[1], &agents[2], &agents[3]);
    let mut got = Vec::new();
    let next = async || {
        let conversation = app.conversation(&key, "next").await;
        assigned_agent(&conversation).expect("assigned")
    };
    got.push(next().await);
    got.push(next().await);
    app.presence(&key, c, "away").await;
    got.push(next().await);
    got.push(next().await);
    app.presence(&key, c, "available").await;
    for _ in 0..4 {
        got.push(next().await);
    }
    let expected: Vec<&String> = vec![a, b, d, a, c, b, c, d];
    assert_eq!(got.iter().collect::<Vec<_>>(), expected);
}

/// Simultaneous offer is a built-in method too: every agent who can take
/// the conversation is offered it.
#[baton_e2e::test]
async fn simultaneous_offer_offers_everyone_in_scope_who_can_take_it() {
    let app = TestApp::spawn().await;
    let (key, agents) = team(&app, &["A", "B", "C"], 10).await;
    app.presence(&key, &agents[2], "away").await;
    app.bind_strategy(&key, "simultaneous-offer").await;
    let conversation = app.conversation(&key, "anyone?").await;
    assert_eq!(conversation["routing"], "offered");
    let mut offered: Vec<String> =
        serde_json::from_value(conversation["offered_to"].clone()).expect("ids");
    offered.sort();
    assert_eq!(offered, vec![agents[0].clone(), agents[1].clone()]);
}
