//! Assignment rules: first match decides, disabled rules are skipped, every
//! target kind, a method per rule, and every change recorded.

use baton_e2e::{TestApp, assigned_agent};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Desk {
    app: TestApp,
    key: String,
    /// Ana (Sales), Ben (Sales), Cho (Support), Dan (no team).
    agents: Vec<String>,
    sales: Value,
    support: Value,
}

async fn desk() -> Desk {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let sales = app
        .post("/v1/teams", &key, json!({"name": "Sales"}))
        .await
        .body["id"]
        .clone();
    let support = app
        .post("/v1/teams", &key, json!({"name": "Support"}))
        .await
        .body["id"]
        .clone();
    let mut agents = Vec::new();
    for (name, team) in [
        ("Ana", &sales),
        ("Ben", &sales),
        ("Cho", &support),
        ("Dan", &Value::Null),
    ] {
        let teams = if team.is_null() {
            json!([])
        } else {
            json!([team])
        };
        let body = json!({"name": name, "email": format!("{name}@example.com"), "teams": teams, "capacity": {"chat": 10, "email": 10}});
        let id = app.post("/v1/agents", &key, body).await.body["id"]
            .as_str()
            .expect("id")
            .to_owned();
        app.presence(&key, &id, "available").await;
        agents.push(id);
    }
    Desk {
        app,
        key,
        agents,
        sales,
        support,
    }
}

impl Desk {
    async fn rule(&self, body: Value) -> Value {
        let reply = self.app.post("/v1/rules", &self.key, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body
    }

    async fn chat(&self, body: Value) -> Value {
        let reply = self.app.post("/v1/conversations", &self.key, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body
    }
}

fn equals(field: &str, value: &str) -> Value {
    json!({"items": [{"field": field, "op": "equals", "value": value}]})
}

#[baton_e2e::test]
async fn rules_apply_top_to_bottom_and_disabled_ones_are_skipped() {
    let d = desk().await;
    let disabled = d
        .rule(
            json!({"name": "Off", "enabled": false, "conditions": equals("channel", "chat"),
                     "target": {"kind": "members", "agents": [d.agents[3]]}}),
        )
        .await;
    d.rule(json!({"name": "Spring campaign to Support",
                  "conditions": {"match": "all", "items": [
                      {"field": "channel", "op": "equals", "value": "chat"},
                      {"field": "attributes.utm_campaign", "op": "contains", "value": "spring"}]},
                  "target": {"kind": "members", "teams": [d.support]}}))
        .await;
    d.rule(
        json!({"name": "Chats to Sales", "conditions": equals("channel", "chat"),
                  "target": {"kind": "members", "teams": [d.sales]}}),
    )
    .await;

    let spring = d
        .chat(json!({"channel": "chat", "attributes": {"utm_campaign": "Spring-2026"}}))
        .await;
    assert_eq!(
        assigned_agent(&spring).as_ref(),
        Some(&d.agents[2]),
        "{spring}"
    );
    assert_eq!(spring["history"][0]["rule"], "Spring campaign to Support");
    for _ in 0..2 {
        let other = d.chat(json!({"channel": "chat"})).await;
        let agent = assigned_agent(&other).expect("assigned");
        assert!(
            agent == d.agents[0] || agent == d.agents[1],
            "Sales only: {other}"
        );
        assert_eq!(other["history"][0]["rule"], "Chats to Sales");
    }
    // No rule matches e-mail: every agent, the bound strategy.
    let email = d.chat(json!({"channel": "email"})).await;
    assert!(assigned_agent(&email).is_some());
    assert!(email["history"][0]["rule"].is_null());

    // Enabling the first rule makes it win.
    let id = disabled["id"].as_str().expect("id");
    let mut body = disabled.clone();
    for key in ["id", "position", "created_at", "updated_at"] {
        body.as_object_mut().expect("object").remove(key);
    }
    body["enabled"] = json!(true);
    let enabled = d.app.put(&format!("/v1/rules/{id}"), &d.key, body).await;
    assert_eq!(enabled.status, StatusCode::OK, "{enabled:?}");
    let now = d
        .chat(json!({"channel": "chat", "attributes": {"utm_campaign": "spring"}}))
        .await;
    assert_eq!(assigned_agent(&now).as_ref(), Some(&d.agents[3]));
}

#[baton_e2e::test]
async fn a_target_can_mix_a_team_with_single_agents_and_a_rule_can_name_its_method() {
    let d = desk().await;
    d.rule(json!({"name": "Support plus Dan", "target": {"kind": "members", "teams": [d.support], "agents": [d.agents[3]]},
                  "method": {"plugin": "fewest-handled"}}))
        .await;
    let mut got = Vec::new();
    for _ in 0..4 {
        let c = d.chat(json!({"channel": "chat"})).await;
        assert_eq!(c["history"][0]["plugin"], "fewest-handled");
        got.push(assigned_agent(&c).expect("assigned"));
    }
    // Fewest handled alternates between Cho and Dan, never Sales.
    assert_eq!(
        got,
        vec![
            d.agents[2].clone(),
            d.agents[3].clone(),
            d.agents[2].clone(),
            d.agents[3].clone()
        ]
    );
}

#[baton_e2e::test]
async fn contact_owner_last_agent_and_nobody_targets() {
    let d = desk().await;
    d.rule(json!({"name": "VIP to owner", "conditions": equals("attributes.crm.tier", "gold"), "target": {"kind": "contact_owner"}})).await;
    d.rule(json!({"name": "Returning customers", "conditions": {"items": [{"field": "past_conversations", "op": "greater_than", "value": 0}]},
                  "target": {"kind": "last_agent"}}))
        .await;
    d.rule(json!({"name": "Spam", "conditions": equals("subject", "free money"), "target": {"kind": "nobody"}})).await;

    let vip = d
        .chat(
            json!({"channel": "chat", "attributes": {"crm": {"tier": "gold"}},
                            "contact": {"email": "vip@example.com", "owner": d.agents[1]}}),
        )
        .await;
    assert_eq!(assigned_agent(&vip).as_ref(), Some(&d.agents[1]), "{vip}");

    let first = d
        .chat(json!({"channel": "chat", "contact": {"email": "kim@example.com"}}))
        .await;
    let kims_agent = assigned_agent(&first).expect("assigned");
    for _ in 0..2 {
        let again = d
            .chat(json!({"channel": "chat", "contact": {"email": "kim@example.com"}}))
            .await;
        assert_eq!(
            assigned_agent(&again).as_ref(),
            Some(&kims_agent),
            "{again}"
        );
        assert_eq!(again["history"][0]["rule"], "Returning customers");
    }

    let spam = d
        .chat(json!({"channel": "chat", "subject": "Free money"}))
        .await;
    assert!(spam["assignee"].is_null());
    assert_eq!(spam["status"], "closed");
    assert_eq!(spam["routing"], "unassigned");
    assert!(
        spam["history"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("nobody"),
        "{spam}"
    );
}

#[baton_e2e::test]
async fn rules_are_reordered_and_deleted_and_every_change_is_recorded() {
    let d = desk().await;
    let first = d
        .rule(json!({"name": "To Ana", "target": {"kind": "members", "agents": [d.agents[0]]}}))
        .await;
    let second = d
        .rule(json!({"name": "To Ben", "target": {"kind": "members", "agents": [d.agents[1]]}}))
        .await;
    let c = d.chat(json!({"channel": "chat"})).await;
    assert_eq!(assigned_agent(&c).as_ref(), Some(&d.agents[0]));

    let order = d
        .app
        .put(
            "/v1/rules/order",
            &d.key,
            json!({"ids": [second["id"], first["id"]]}),
        )
        .await;
    assert_eq!(order.status, StatusCode::OK, "{order:?}");
    assert_eq!(order.body[0]["name"], "To Ben");
    let c = d.chat(json!({"channel": "chat"})).await;
    assert_eq!(assigned_agent(&c).as_ref(), Some(&d.agents[1]));

    let bad_order = d
        .app
        .put("/v1/rules/order", &d.key, json!({"ids": [first["id"]]}))
        .await;
    assert_eq!(bad_order.body["error"]["field"], "ids");

    let path = format!("/v1/rules/{}", second["id"].as_str().expect("id"));
    let client = reqwest::Client::new();
    let deleted = client
        .delete(format!("{}{path}", d.app.base))
        .bearer_auth(&d.key)
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), StatusCode::OK);
    let c = d.chat(json!({"channel": "chat"})).await;
    assert_eq!(assigned_agent(&c).as_ref(), Some(&d.agents[0]));

    let changes = d.app.get("/v1/rules/changes", &d.key).await.body["items"].clone();
    let actions: Vec<&str> = changes
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert_eq!(actions, ["deleted", "reordered", "created", "created"]);
    assert_eq!(
        changes[0]["rule"]["name"], "To Ben",
        "the deleted rule is kept in the record"
    );
}

#[baton_e2e::test]
async fn bad_rules_are_refused_naming_the_field() {
    let d = desk().await;
    let cases = [
        (
            json!({"name": "x", "target": {"kind": "everyone"}}),
            "target.kind",
        ),
        (
            json!({"name": "x", "target": {"kind": "members"}}),
            "target",
        ),
        (
            json!({"name": "x", "target": {"kind": "members", "agents": ["agt_00000000000000000000000000000000"]}}),
            "target.agents[0]",
        ),
        (
            json!({"name": "x", "target": {"kind": "all"}, "conditions": {"items": [{"field": "colour", "op": "equals", "value": "x"}]}}),
            "conditions.items[0].field",
        ),
        (
            json!({"name": "x", "target": {"kind": "all"}, "conditions": {"items": [{"field": "channel", "op": "like", "value": "x"}]}}),
            "conditions.items[0].op",
        ),
        (
            json!({"name": "x", "target": {"kind": "all"}, "conditions": {"items": [{"field": "channel", "op": "in", "value": "chat"}]}}),
            "conditions.items[0].value",
        ),
        (
            json!({"name": "x", "target": {"kind": "all"}, "method": {"plugin": "keyword-handoff"}}),
            "method.plugin",
        ),
        (json!({"name": " ", "target": {"kind": "all"}}), "name"),
    ];
    for (body, field) in cases {
        let reply = d.app.post("/v1/rules", &d.key, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {reply:?}"
        );
        assert_eq!(reply.body["error"]["field"], field, "{body}: {reply:?}");
    }
    assert_eq!(d.app.get("/v1/rules", &d.key).await.body, json!([]));
}

#[baton_e2e::test]
async fn a_rule_condition_can_be_a_plugin() {
    let d = desk().await;
    let uploaded = d.app.upload(&d.key, baton_e2e::plugins::VIP_DOMAIN).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    assert_eq!(uploaded.body["kind"], "rule-condition");
    let bad = d
        .app
        .post(
            "/v1/rules",
            &d.key,
            json!({"name": "VIP", "target": {"kind": "all"},
              "conditions": {"plugins": [{"plugin": "vip-domain", "config": {}}]}}),
        )
        .await;
    assert_eq!(
        bad.body["error"]["field"], "conditions.plugins[0].config.domains",
        "{bad:?}"
    );
    d.rule(json!({"name": "VIP domains to Dan",
                  "conditions": {"match": "all", "items": [{"field": "channel", "op": "equals", "value": "chat"}],
                                 "plugins": [{"plugin": "vip-domain", "config": {"domains": ["bigcorp.example"]}}]},
                  "target": {"kind": "members", "agents": [d.agents[3]]}}))
        .await;
    let vip = d
        .chat(json!({"channel": "chat", "contact": {"email": "ceo@BigCorp.example"}}))
        .await;
    assert_eq!(assigned_agent(&vip).as_ref(), Some(&d.agents[3]), "{vip}");
    assert_eq!(vip["history"][0]["rule"], "VIP domains to Dan");
    let other = d
        .chat(json!({"channel": "chat", "contact": {"email": "kim@example.com"}}))
        .await;
    assert!(other["history"][0]["rule"].is_null(), "{other}");
}
