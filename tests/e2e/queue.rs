//! Queue order and limits, answering and declining queued calls, transfers,
//! solo mode, and retrying the queue when capacity frees, a binding
//! changes, or the periodic sweep comes round.

use std::time::Duration;

use baton_e2e::{TestApp, assigned_agent, plugins};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id(c: &Value) -> String {
    c["id"].as_str().expect("id").to_owned()
}

async fn create(app: &TestApp, key: &str, body: Value) -> Value {
    let reply = app.post("/v1/conversations", key, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    reply.body
}

#[baton_e2e::test]
async fn the_queue_serves_higher_priority_first_then_oldest() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 1).await;
    let low = create(&app, &key, json!({"channel": "chat", "priority": "low"})).await;
    let normal = create(&app, &key, json!({"channel": "chat"})).await;
    let urgent = create(&app, &key, json!({"channel": "chat", "priority": "urgent"})).await;
    let queue = app.get("/v1/queue", &key).await.body;
    let order: Vec<&Value> = queue["waiting"]
        .as_array()
        .expect("list")
        .iter()
        .map(|w| &w["id"])
        .collect();
    assert_eq!(order, vec![&urgent["id"], &normal["id"], &low["id"]]);

    app.presence(&key, &ana, "available").await;
    let now = app
        .get(&format!("/v1/conversations/{}", id(&urgent)), &key)
        .await
        .body;
    assert_eq!(
        assigned_agent(&now),
        Some(ana.clone()),
        "the urgent one first"
    );
}

#[baton_e2e::test]
async fn past_the_maximum_a_conversation_is_turned_away_or_sent_to_the_overflow_team() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let set = app
        .put("/v1/settings/queue", &key, json!({"max_length": 2, "overflow": {"kind": "reject", "message": "Sorry, we are full."}}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    for _ in 0..2 {
        assert_eq!(
            create(&app, &key, json!({"channel": "chat"})).await["routing"],
            "queued"
        );
    }
    let turned = create(&app, &key, json!({"channel": "chat"})).await;
    assert_eq!(turned["routing"], "rejected", "{turned}");
    assert_eq!(turned["status"], "closed");
    let told = turned["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .any(|m| m["body"] == "Sorry, we are full." && m["internal"] == false);
    assert!(told, "the customer is told: {turned}");

    let overflow = app
        .post("/v1/teams", &key, json!({"name": "Overflow"}))
        .await
        .body["id"]
        .clone();
    let set = app
        .put(
            "/v1/settings/queue",
            &key,
            json!({"max_length": 2, "overflow": {"kind": "team", "team": overflow}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    let parked = create(&app, &key, json!({"channel": "chat"})).await;
    assert_eq!(parked["routing"], "queued");
    assert_eq!(parked["team"], overflow, "{parked}");

    let bad = app.put("/v1/settings/queue", &key, json!({"max_length": 2, "overflow": {"kind": "team", "team": "team_00000000000000000000000000000000"}})).await;
    assert_eq!(bad.body["error"]["field"], "overflow.team");
}

#[baton_e2e::test]
async fn answering_a_queued_call_ends_the_current_one_and_declining_keeps_it_waiting() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 3).await;
    let ben = app.agent(&key, "Ben", 3).await;
    app.presence(&key, &ana, "available").await;
    let first = app.conversation_on(&key, "call", "first call").await;
    assert_eq!(assigned_agent(&first), Some(ana.clone()));
    let waiting = app.conversation_on(&key, "call", "second call").await;
    assert_eq!(waiting["routing"], "queued");

    // Ben declines: it stays queued, and is not given to him when he is free.
    let declined = app
        .post(
            &format!("/v1/queue/{}/decline", id(&waiting)),
            &key,
            json!({"agent": ben}),
        )
        .await;
    assert_eq!(declined.status, StatusCode::OK, "{declined:?}");
    app.presence(&key, &ben, "available").await;
    let still = app
        .get(&format!("/v1/conversations/{}", id(&waiting)), &key)
        .await
        .body;
    assert_eq!(still["routing"], "queued", "{still}");

    // Ana answers it while on her first call: the first call ends.
    let answered = app
        .post(
            &format!("/v1/queue/{}/answer", id(&waiting)),
            &key,
            json!({"agent": ana}),
        )
        .await;
    assert_eq!(answered.status, StatusCode::OK, "{answered:?}");
    let now = app
        .get(&format!("/v1/conversations/{}", id(&waiting)), &key)
        .await
        .body;
    assert_eq!(assigned_agent(&now), Some(ana.clone()));
    let ended = app
        .get(&format!("/v1/conversations/{}", id(&first)), &key)
        .await
        .body;
    assert_eq!(ended["status"], "closed", "{ended}");
}

#[baton_e2e::test]
async fn a_transfer_to_an_agent_waits_for_acceptance_and_a_team_transfer_waits_in_the_team() {
    // Sweeping often: the sweep must leave the team's conversation alone too.
    let app = TestApp::spawn_sweeping(Duration::from_millis(100)).await;
    let key = app.tenant("Acme").await;
    let billing = app
        .post("/v1/teams", &key, json!({"name": "Billing"}))
        .await
        .body["id"]
        .clone();
    let ana = app.agent(&key, "Ana", 3).await;
    let ben = app.agent(&key, "Ben", 3).await;
    let cho = app
        .post("/v1/agents", &key, json!({"name": "Cho", "email": "cho@example.com", "teams": [billing], "capacity": {"chat": 3}}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.presence(&key, &ana, "available").await;
    let c = app.conversation(&key, "help").await;
    assert_eq!(assigned_agent(&c), Some(ana.clone()));
    let path = format!("/v1/conversations/{}", id(&c));

    let asked = app
        .post(
            &format!("{path}/transfer"),
            &key,
            json!({"to": {"agent": ben}, "note": "VIP, knows the case"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{asked:?}");
    let meanwhile = app.get(&path, &key).await.body;
    assert_eq!(
        assigned_agent(&meanwhile),
        Some(ana.clone()),
        "stays with Ana until Ben accepts"
    );
    let wrong = app
        .post(
            &format!("{path}/transfer/accept"),
            &key,
            json!({"agent": cho}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let accepted = app
        .post(
            &format!("{path}/transfer/accept"),
            &key,
            json!({"agent": ben}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{accepted:?}");
    let now = app.get(&path, &key).await.body;
    assert_eq!(assigned_agent(&now), Some(ben.clone()));
    let last = now["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["decided_by"], "transfer");
    assert!(
        last["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("VIP, knows the case"),
        "{last}"
    );

    // To a team (LiveAgent): it is not given to the team's agents by
    // itself, though Cho is free. It waits unclaimed in Billing's list until
    // a member takes it; nothing that drains the queue hands it out.
    app.presence(&key, &cho, "available").await;
    let moved = app
        .post(
            &format!("{path}/transfer"),
            &key,
            json!({"to": {"team": billing}, "note": "billing question"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    let waiting = app.get(&path, &key).await.body;
    assert_eq!(waiting["routing"], "unclaimed", "{waiting}");
    assert_eq!(waiting["team"], billing);
    assert_eq!(assigned_agent(&waiting), None, "{waiting}");
    let last = last_history(&waiting);
    assert_eq!(last["action"], "unclaimed", "{last}");
    assert_eq!(last["team"], billing, "{last}");
    app.presence(&key, &cho, "away").await;
    app.presence(&key, &cho, "available").await;
    app.sweep().await;
    let listed = app.get("/v1/queue", &key).await.body;
    let entry = listed["waiting"]
        .as_array()
        .expect("waiting")
        .iter()
        .find(|w| w["id"] == c["id"])
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["routing"], "unclaimed", "{listed}");
    assert_eq!(entry["team"], billing, "{listed}");

    let answered = app
        .post(
            &format!("/v1/queue/{}/answer", id(&c)),
            &key,
            json!({"agent": cho}),
        )
        .await;
    assert_eq!(answered.status, StatusCode::OK, "{answered:?}");
    let taken = app.get(&path, &key).await.body;
    assert_eq!(assigned_agent(&taken), Some(cho));
    assert_eq!(taken["team"], billing, "{taken}");
}

#[baton_e2e::test]
async fn a_sole_admin_gets_every_conversation() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Solo shop").await;
    let me = app
        .post("/v1/agents", &key, json!({"name": "Owner", "email": "owner@example.com", "role": "admin", "capacity": {"chat": 1}}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Offline and at capacity after the first: solo mode ignores both.
    for i in 0..3 {
        let c = app.conversation(&key, &format!("q{i}")).await;
        assert_eq!(assigned_agent(&c), Some(me.clone()), "{c}");
        assert_eq!(c["history"][0]["decided_by"], "solo");
    }
}

async fn conversation(app: &TestApp, key: &str, id: &str) -> Value {
    let reply = app.get(&format!("/v1/conversations/{id}"), key).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body
}

fn last_history(conversation: &Value) -> Value {
    conversation["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or(Value::Null)
}

#[baton_e2e::test]
async fn a_conversation_a_failing_strategy_queued_is_assigned_once_a_working_one_is_bound() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 3).await;
    app.presence(&key, &ana, "available").await;
    let bad = app.upload(&key, plugins::BAD_DECISION).await;
    assert_eq!(bad.status, StatusCode::CREATED, "{bad:?}");
    let bind_bad = || async {
        let bound = app
            .put(
                "/v1/routing/assignment",
                &key,
                json!({"plugin": bad.body["id"], "fallback": "queue"}),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    };

    bind_bad().await;
    let first = create(&app, &key, json!({"channel": "chat"})).await;
    assert_eq!(first["routing"], "queued", "{first}");
    let failures = app.get("/v1/plugins/failures", &key).await.body["items"].clone();
    let recorded = failures
        .as_array()
        .expect("failures")
        .iter()
        .any(|f| f["conversation_id"] == first["id"] && f["plugin"] == "bad-decision");
    assert!(recorded, "{failures}");

    // Ana stays available throughout: binding a working strategy is what
    // gives her the waiting conversation.
    app.bind_strategy(&key, "round-robin").await;
    let now = conversation(&app, &key, &id(&first)).await;
    assert_eq!(assigned_agent(&now), Some(ana.clone()), "{now}");
    assert_eq!(last_history(&now)["plugin"], "round-robin");

    // A rollback to the working binding retries the queue too.
    bind_bad().await;
    let second = create(&app, &key, json!({"channel": "chat"})).await;
    assert_eq!(second["routing"], "queued", "{second}");
    let rolled = app
        .post("/v1/routing/assignment/rollback", &key, json!({}))
        .await;
    assert_eq!(rolled.status, StatusCode::OK, "{rolled:?}");
    assert_eq!(rolled.body["plugin"]["name"], "round-robin");
    let now = conversation(&app, &key, &id(&second)).await;
    assert_eq!(assigned_agent(&now), Some(ana), "{now}");
}

#[baton_e2e::test]
async fn closing_or_snoozing_a_conversation_gives_its_room_to_the_queue() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 1).await;
    app.presence(&key, &ana, "available").await;
    let first = app.conversation(&key, "first").await;
    assert_eq!(assigned_agent(&first), Some(ana.clone()));
    let second = app.conversation(&key, "second").await;
    assert_eq!(second["routing"], "queued", "Ana is full: {second}");

    app.close(&key, &id(&first)).await;
    let now = conversation(&app, &key, &id(&second)).await;
    assert_eq!(assigned_agent(&now), Some(ana.clone()), "{now}");

    let third = app.conversation(&key, "third").await;
    assert_eq!(third["routing"], "queued", "{third}");
    let snoozed = app
        .put(
            &format!("/v1/conversations/{}/status", id(&second)),
            &key,
            json!({"status": "snoozed", "for": "2h"}),
        )
        .await;
    assert_eq!(snoozed.status, StatusCode::OK, "{snoozed:?}");
    let now = conversation(&app, &key, &id(&third)).await;
    assert_eq!(assigned_agent(&now), Some(ana), "{now}");
}

#[baton_e2e::test]
async fn raising_a_capacity_retries_the_queue_within_the_conversations_team() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let billing = app
        .post("/v1/teams", &key, json!({"name": "Billing"}))
        .await
        .body["id"]
        .clone();
    let ana = app.agent(&key, "Ana", 1).await;
    let cho = app
        .post("/v1/agents", &key, json!({"name": "Cho", "email": "cho@example.com", "teams": [billing], "capacity": {"chat": 0}}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for agent in [&ana, &cho] {
        app.presence(&key, agent, "available").await;
    }
    let rule = app
        .post(
            "/v1/rules",
            &key,
            json!({"name": "All to Billing", "target": {"kind": "members", "teams": [billing]}}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{rule:?}");
    let waiting = create(&app, &key, json!({"channel": "chat"})).await;
    assert_eq!(waiting["routing"], "queued", "{waiting}");
    assert_eq!(waiting["team"], billing);
    let capacity = |agent: String, body: Value| {
        let app = &app;
        let key = &key;
        async move {
            app.put(&format!("/v1/agents/{agent}/capacity"), key, body)
                .await
        }
    };

    // Ana has room to spare but is not in Billing: it keeps waiting there.
    let raised = capacity(ana.clone(), json!({"capacity": {"chat": 5}})).await;
    assert_eq!(raised.status, StatusCode::OK, "{raised:?}");
    assert_eq!(raised.body["capacity"]["chat"], 5, "{raised:?}");
    let still = conversation(&app, &key, &id(&waiting)).await;
    assert_eq!(still["routing"], "queued", "{still}");

    // Room for Cho: it is hers, with no change of status.
    let raised = capacity(cho.clone(), json!({"capacity": {"chat": 1}})).await;
    assert_eq!(raised.status, StatusCode::OK, "{raised:?}");
    let now = conversation(&app, &key, &id(&waiting)).await;
    assert_eq!(assigned_agent(&now), Some(cho.clone()), "{now}");

    for (body, field) in [
        (json!({"capacity": {"chat": -1}}), "capacity.chat"),
        (json!({"capacity": {"fax": 1}}), "capacity.fax"),
        (json!({"capacity": {"call": 2}}), "capacity.call"),
        (json!({"capacity": 3}), "capacity"),
    ] {
        let refused = capacity(cho.clone(), body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {refused:?}"
        );
        assert_eq!(refused.body["error"]["field"], field, "{body}: {refused:?}");
    }
    let unknown = capacity(
        "agt_00000000000000000000000000000000".into(),
        json!({"capacity": {"chat": 1}}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
}

#[baton_e2e::test]
async fn the_periodic_sweep_assigns_what_no_event_announced() {
    let app = TestApp::spawn_sweeping(Duration::from_millis(200)).await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 1).await;
    app.presence(&key, &ana, "available").await;
    let admin = app
        .post("/v1/agents", &key, json!({"name": "Boss", "email": "boss@example.com", "role": "admin", "capacity": {"chat": 0}}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let first = app.conversation(&key, "first").await;
    assert_eq!(assigned_agent(&first), Some(ana.clone()));
    let second = app.conversation(&key, "second").await;
    assert_eq!(second["routing"], "queued", "Ana is full: {second}");

    // Deleting a conversation for good frees Ana's room, and writes no
    // event that would drain the queue: only the sweep notices.
    let deleted = app
        .client
        .delete(format!("{}/v1/conversations/{}", app.base, id(&first)))
        .bearer_auth(&key)
        .header("x-baton-agent", &admin)
        .json(&json!({"confirm": id(&first)}))
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), StatusCode::OK);
    app.sweep().await;
    let now = conversation(&app, &key, &id(&second)).await;
    assert_eq!(assigned_agent(&now), Some(ana), "{now}");
}
