//! Tickets in step with the rest: closing or reopening the conversation
//! moves the ticket's status, the handoff's help-desk and ticket-workflow
//! desks file tickets, and the assign-by-source template routes new ones.

use std::time::Duration;

use baton_e2e::{MONDAY_0000_UTC, TestApp, assigned_agent};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Desk, id};

async fn conversation_status(app: &TestApp, key: &str, conversation: &str, status: &str) {
    let reply = app
        .put(
            &format!("/v1/conversations/{conversation}/status"),
            key,
            json!({"status": status}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[baton_e2e::test]
async fn closing_and_reopening_the_conversation_moves_its_ticket() {
    let desk = Desk::new().await;
    let form = desk
        .app
        .conversation_on(&desk.key, "form", "Please call me")
        .await;
    let ticket = form["ticket"].as_str().expect("ticket").to_owned();
    let conversation = id(&form);
    assert_eq!(desk.fetch(&ticket).await["status_name"], "New");

    conversation_status(&desk.app, &desk.key, &conversation, "closed").await;
    assert_eq!(desk.fetch(&ticket).await["status_name"], "Closed");
    conversation_status(&desk.app, &desk.key, &conversation, "open").await;
    assert_eq!(desk.fetch(&ticket).await["status_name"], "New");
}

#[baton_e2e::test]
async fn the_inactivity_timer_closes_the_ticket_with_its_conversation() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let set = app
        .put(
            "/v1/settings/lifecycle",
            &key,
            json!({"auto_close_after": "1h"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    let form = app.conversation_on(&key, "form", "Please call me").await;
    let ticket = form["ticket"].as_str().expect("ticket").to_owned();
    app.advance(Duration::from_secs(3_601)).await;
    let shown = app.get(&format!("/v1/tickets/{ticket}"), &key).await.body;
    assert_eq!(shown["status_name"], "Closed", "{shown}");
}

async fn bot_desk(app: &TestApp, key: &str) {
    let bot = app
        .post(
            "/v1/bots",
            key,
            json!({"name": "Bot", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(bot.status, StatusCode::CREATED, "{bot:?}");
}

async fn hand_over(app: &TestApp, key: &str) -> Value {
    let c = app.conversation(key, "Hello").await;
    let reply = app
        .post(
            &format!("/v1/conversations/{}/messages", id(&c)),
            key,
            json!({"author": "customer", "body": "I want a refund"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    app.settle().await;
    app.get(&format!("/v1/conversations/{}", id(&c)), key)
        .await
        .body
}

#[baton_e2e::test]
async fn the_help_desk_destination_files_the_handed_over_chat_as_a_ticket() {
    let desk = Desk::new().await;
    let (app, key) = (&desk.app, &desk.key);
    bot_desk(app, key).await;
    let ana = app.agent(key, "Ana", 3).await;
    app.presence(key, &ana, "available").await;
    let pipeline = desk.pipeline().await;
    let bad = app
        .put(
            "/v1/settings/handoff",
            key,
            json!({"mode": "real-time", "destination": {"desk": "help-desk", "pipeline": "pipe_00000000000000000000000000000000"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["field"], "destination.pipeline");
    let set = app
        .put(
            "/v1/settings/handoff",
            key,
            json!({"mode": "real-time", "destination": {"desk": "help-desk", "pipeline": pipeline["id"]}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");

    let handed = hand_over(app, key).await;
    assert_eq!(
        assigned_agent(&handed).as_deref(),
        Some(ana.as_str()),
        "{handed}"
    );
    let ticket = handed["ticket"].as_str().expect("filed as a ticket");
    let shown = desk.fetch(ticket).await;
    assert_eq!(shown["pipeline"], pipeline["id"]);
    assert_eq!(shown["status_name"], "New");
}

#[baton_e2e::test]
async fn a_ticket_workflow_files_a_ticket_routed_by_the_rules_or_closes_the_chat() {
    let desk = Desk::new().await;
    let (app, key) = (&desk.app, &desk.key);
    bot_desk(app, key).await;
    let ana = app.agent(key, "Ana", 3).await;
    let ben = app.agent(key, "Ben", 3).await;
    for agent in [&ana, &ben] {
        app.presence(key, agent, "available").await;
    }
    let rule = app
        .post(
            "/v1/rules",
            key,
            json!({"name": "Refunds to Ben",
                   "conditions": {"items": [{"field": "message", "op": "contains", "value": "refund"}]},
                   "target": {"kind": "members", "agents": [ben]}}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{rule:?}");
    let set = app
        .put(
            "/v1/settings/handoff",
            key,
            json!({"mode": "real-time", "destination": {"desk": "ticket-workflow"},
                   "messages": {"unassigned": "We will e-mail you."}, "when_unassigned": "close"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");

    let routed = hand_over(app, key).await;
    assert_eq!(
        assigned_agent(&routed).as_deref(),
        Some(ben.as_str()),
        "{routed}"
    );
    assert!(routed["ticket"].is_string(), "{routed}");

    // Ben goes offline: the rule's only agent is gone, so the ticket ends
    // unassigned and this desk closes such chats.
    app.presence(key, &ben, "offline").await;
    let unassigned = hand_over(app, key).await;
    assert_eq!(unassigned["status"], "closed", "{unassigned}");
    assert!(
        unassigned["messages"]
            .to_string()
            .contains("We will e-mail you.")
    );
    let ticket = desk
        .fetch(unassigned["ticket"].as_str().expect("ticket"))
        .await;
    assert_eq!(
        ticket["status_name"], "Closed",
        "the ticket follows: {ticket}"
    );
}

#[baton_e2e::test]
async fn assign_by_source_gives_new_tickets_from_a_source_to_their_agent() {
    let desk = Desk::new().await;
    let (app, key) = (&desk.app, &desk.key);
    let ana = app.agent(key, "Ana", 3).await;
    let social = app.agent(key, "Sol", 3).await;
    for agent in [&ana, &social] {
        app.presence(key, agent, "available").await;
    }
    let bound = app
        .put(
            "/v1/routing/workflows",
            key,
            json!({"workflows": [{"plugin": "assign-by-source", "config": {"routes": [
                {"attribute": "source", "equals": "twitter", "agent": social}
            ]}}]}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    let tweet = app
        .post(
            "/v1/conversations",
            key,
            json!({"channel": "form", "message": "@acme my order?", "attributes": {"source": "Twitter"}}),
        )
        .await
        .body;
    let web = app
        .post(
            "/v1/conversations",
            key,
            json!({"channel": "form", "message": "order?", "attributes": {"source": "web"}}),
        )
        .await
        .body;
    app.settle().await;
    // The form is routed first (round robin); the template then gives the
    // social-media ticket to Sol, whoever got it.
    let now = app
        .get(&format!("/v1/conversations/{}", id(&tweet)), key)
        .await
        .body;
    assert_eq!(
        assigned_agent(&now).as_deref(),
        Some(social.as_str()),
        "{now}"
    );
    let last = now["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["plugin"], "assign-by-source", "{now}");
    let runs = app
        .get(
            &format!("/v1/workflows/runs?conversation={}", id(&web)),
            key,
        )
        .await
        .body["items"]
        .clone();
    assert!(
        runs.as_array()
            .expect("runs")
            .iter()
            .any(|r| r["plugin"] == "assign-by-source" && r["actions"] == json!([])),
        "the web ticket matched no route: {runs}"
    );
}

/// A workflow's `set-stage` moves a new ticket within its pipeline, but only
/// to one of that pipeline's statuses, and a conditional status only with
/// its properties set: otherwise the run is recorded with why, and the
/// ticket stays where it was.
#[baton_e2e::test]
async fn a_workflow_moves_a_new_ticket_only_to_a_status_it_may_enter() {
    let desk = Desk::new().await;
    let pipeline = desk
        .post(
            "/v1/pipelines",
            json!({"name": "Repairs", "statuses": [
                {"name": "Open"},
                {"name": "Triaged"},
                {"name": "Resolved", "closed": true, "requires": ["resolution"]}
            ]}),
        )
        .await
        .body;
    let uploaded = desk
        .app
        .upload(&desk.key, baton_e2e::plugins::STAGE_ON_TICKET)
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    let plugin = id(&uploaded.body);
    let status = |name: &str| super::status(&pipeline, name);
    let bind_to = |stage: String| {
        let (desk, plugin) = (&desk, &plugin);
        async move {
            let reply = desk
                .app
                .put(
                    "/v1/routing/workflows",
                    &desk.key,
                    json!({"workflows": [{"plugin": plugin, "config": {"stage": stage}}]}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        }
    };
    let new_ticket = |name: &'static str, properties: Value| {
        let (desk, pipeline) = (&desk, &pipeline);
        let open = super::status(pipeline, "Open");
        async move {
            let made = desk
                .post(
                    "/v1/tickets",
                    json!({"name": name, "pipeline": id(pipeline), "status": open,
                           "properties": properties}),
                )
                .await;
            assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
            desk.app.settle().await;
            desk.fetch(&id(&made.body)).await
        }
    };
    let last_error = || async {
        let runs = desk.get("/v1/workflows/runs").await.body["items"].clone();
        runs.as_array()
            .and_then(|all| all.iter().find(|r| !r["error"].is_null()).cloned())
            .map(|r| r["error"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };

    bind_to(status("Triaged")).await;
    let moved = new_ticket("Cracked case", json!({})).await;
    assert_eq!(moved["status_name"], "Triaged", "{moved}");
    assert_eq!(last_error().await, "", "no run failed yet");

    bind_to(status("Resolved")).await;
    let held = new_ticket("Dead battery", json!({})).await;
    assert_eq!(held["status_name"], "Open", "{held}");
    assert_eq!(held["conversation_status"], "open");
    let why = last_error().await;
    assert!(why.contains("resolution"), "{why}");
    // With the property set, the same workflow may close it.
    let done = new_ticket("Loose hinge", json!({"resolution": "tightened"})).await;
    assert_eq!(done["status_name"], "Resolved", "{done}");
    assert_eq!(done["conversation_status"], "closed");

    // A status of another pipeline is refused.
    let all = desk.get("/v1/pipelines").await.body;
    let other = all
        .as_array()
        .and_then(|list| list.iter().find(|p| p["id"] != pipeline["id"]))
        .expect("the default pipeline")
        .clone();
    bind_to(super::status(&other, "New")).await;
    let elsewhere = new_ticket("Stuck key", json!({})).await;
    assert_eq!(elsewhere["status_name"], "Open", "{elsewhere}");
    let why = last_error().await;
    assert!(why.contains("not a status"), "{why}");
}
