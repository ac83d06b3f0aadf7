//! Every list pages the same way: `?limit=&after=` in, `{"items","next"}`
//! out; walking `next` to its end gives the whole list once, in order.

use baton_e2e::{TestApp, plugins};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Walk `path` `limit` items at a time; every page but the last is full.
async fn walk(app: &TestApp, key: &str, path: &str, limit: usize) -> Vec<Value> {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let url = match &after {
            Some(cursor) => format!("{path}{join}limit={limit}&after={cursor}"),
            None => format!("{path}{join}limit={limit}"),
        };
        let page = app.get(&url, key).await;
        assert_eq!(page.status, StatusCode::OK, "{url}: {page:?}");
        let got = page.body["items"].as_array().expect("items").clone();
        match page.body["next"].as_str() {
            Some(next) => {
                assert_eq!(got.len(), limit, "{url}: a page before the last is full");
                after = Some(next.to_owned());
            }
            None => {
                assert!(got.len() <= limit, "{url}");
                items.extend(got);
                return items;
            }
        }
        items.extend(got);
    }
    panic!("{path} never ended");
}

/// The whole list in one page.
async fn whole(app: &TestApp, key: &str, path: &str) -> Vec<Value> {
    let page = app.get(path, key).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {page:?}");
    assert!(page.body["next"].is_null(), "{path}: one page holds it all");
    page.body["items"].as_array().expect("items").clone()
}

async fn walks_whole(app: &TestApp, key: &str, path: &str, at_least: usize) {
    let all = whole(app, key, path).await;
    assert!(all.len() >= at_least, "{path}: {} items", all.len());
    for limit in [1, 2] {
        let walked = walk(app, key, path, limit).await;
        assert_eq!(walked, all, "{path} walked {limit} at a time");
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

#[baton_e2e::test]
async fn every_list_walks_whole_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Desk").await;
    let mut teams = Vec::new();
    for name in ["Sales", "Support", "Billing"] {
        let team = app.post("/v1/teams", &key, json!({ "name": name })).await;
        assert_eq!(team.status, StatusCode::CREATED, "{team:?}");
        teams.push(id(&team.body));
    }
    let ana = app.agent(&key, "Ana", 10).await;
    app.agent(&key, "Ben", 1).await;
    app.agent(&key, "Cy", 1).await;
    app.presence(&key, &ana, "available").await;
    for i in 0..3 {
        let c = app.conversation(&key, &format!("chat {i}")).await;
        assert_eq!(baton_e2e::assigned_agent(&c).as_deref(), Some(ana.as_str()));
    }
    for (i, team) in teams.iter().enumerate() {
        let rule = app
            .post(
                "/v1/rules",
                &key,
                json!({"name": format!("Rule {i}"),
                       "conditions": {"match": "all", "items": [
                           {"field": "channel", "op": "equals", "value": "email"}]},
                       "target": {"kind": "members", "teams": [team]}}),
            )
            .await;
        assert_eq!(rule.status, StatusCode::CREATED, "{rule:?}");
    }
    let pipelines = app.get("/v1/pipelines", &key).await.body;
    let pipeline = &pipelines[0];
    for name in ["Refund", "Broken hinge", "Invoice"] {
        let ticket = app
            .post(
                "/v1/tickets",
                &key,
                json!({"name": name, "pipeline": pipeline["id"],
                       "status": pipeline["statuses"][0]["id"],
                       "contact": {"email": "kim@example.com"}}),
            )
            .await;
        assert_eq!(ticket.status, StatusCode::CREATED, "{ticket:?}");
    }
    let bad = app.upload(&key, plugins::BAD_DECISION).await;
    assert_eq!(bad.status, StatusCode::CREATED, "{bad:?}");
    let bound = app
        .put(
            "/v1/routing/assignment",
            &key,
            json!({"plugin": bad.body["id"], "fallback": "queue"}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    for i in 0..3 {
        app.conversation(&key, &format!("failing {i}")).await;
    }

    walks_whole(&app, &key, "/v1/conversations", 9).await;
    walks_whole(&app, &key, "/v1/conversations?routing=queued", 3).await;
    walks_whole(&app, &key, "/v1/tickets", 3).await;
    walks_whole(&app, &key, "/v1/agents", 3).await;
    walks_whole(&app, &key, "/v1/teams", 3).await;
    walks_whole(&app, &key, "/v1/plugins", 5).await;
    walks_whole(&app, &key, "/v1/rules/changes", 3).await;
    walks_whole(&app, &key, "/v1/plugins/failures", 3).await;
    walks_whole(&app, &key, &format!("/v1/agents/{ana}/notifications"), 3).await;

    // Newest first where the list says so; plugins built-ins first, then
    // uploads in the order they came.
    let conversations = whole(&app, &key, "/v1/conversations").await;
    let ids: Vec<String> = conversations.iter().map(id).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);
    let plugins = whole(&app, &key, "/v1/plugins").await;
    let builtin: Vec<bool> = plugins.iter().map(|p| p["builtin"] == true).collect();
    assert!(builtin.windows(2).all(|w| w[0] || !w[1]), "{plugins:?}");
}

#[baton_e2e::test]
async fn a_bad_limit_or_cursor_is_named() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Desk").await;
    for (path, field) in [
        ("/v1/conversations?limit=0", "limit"),
        ("/v1/agents?limit=1001", "limit"),
        ("/v1/conversations?after=cnv_nope", "after"),
        ("/v1/tickets?after=42", "after"),
        (
            "/v1/teams?after=agt_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "after",
        ),
        ("/v1/plugins/failures?after=x", "after"),
        ("/v1/rules/changes?after=-1", "after"),
        ("/v1/workflows/runs?after=0", "after"),
    ] {
        let reply = app.get(path, &key).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {reply:?}"
        );
        assert_eq!(reply.body["error"]["field"], field, "{path}: {reply:?}");
    }
    // A cursor past the end is an empty last page.
    let agents = app
        .get(
            "/v1/agents?after=agt_ffffffffffffffffffffffffffffffff",
            &key,
        )
        .await;
    assert_eq!(agents.status, StatusCode::OK, "{agents:?}");
    assert_eq!(agents.body, json!({"items": [], "next": null}));
}
