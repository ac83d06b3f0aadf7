//! Members' credentials and ticket access (`all`, `team`, `own`), and the
//! ticket figures in the statistics.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{Desk, Member, id, status};

/// The names of the tickets a member lists.
async fn names(desk: &Desk, member: &Member) -> BTreeSet<String> {
    let listed = desk
        .member_call(member, Method::GET, "/v1/tickets", None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    listed.body["items"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[baton_e2e::test]
async fn members_see_the_tickets_their_access_allows() {
    let desk = Desk::new().await;
    let team = id(&desk
        .post("/v1/teams", json!({"name": "Billing"}))
        .await
        .body);
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "own"}))
        .await;
    let ben = desk.member("Ben", "agent", json!({"teams": [team]})).await;
    let cho = desk.member("Cho", "agent", json!({"teams": [team]})).await;
    let dee = desk
        .member("Dee", "agent", json!({"ticket_access": "all"}))
        .await;
    let boss = desk.member("Boss", "admin", json!({})).await;
    let agents = desk.get("/v1/agents").await.body["items"].clone();
    let access: Vec<&str> = agents
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["ticket_access"].as_str())
        .collect();
    assert_eq!(
        access,
        ["own", "team", "team", "all", "all"],
        "defaults by role"
    );

    let chos = id(&desk.ticket("Cho's", json!({"owner": cho.id})).await);
    let anas = id(&desk.ticket("Ana's", json!({"owner": ana.id})).await);
    let nobodys = id(&desk.ticket("Nobody's", json!({})).await);
    let followed = id(&desk.ticket("Followed", json!({})).await);
    let add = desk
        .member_call(
            &boss,
            Method::POST,
            &format!("/v1/tickets/{followed}/followers"),
            Some(json!({"agent": ana.id})),
        )
        .await;
    assert_eq!(add.status, StatusCode::OK, "{add:?}");

    let everything = set(&["Cho's", "Ana's", "Nobody's", "Followed"]);
    assert_eq!(names(&desk, &ana).await, set(&["Ana's", "Followed"]));
    assert_eq!(
        names(&desk, &ben).await,
        set(&["Cho's"]),
        "a teammate's ticket"
    );
    assert_eq!(names(&desk, &cho).await, set(&["Cho's"]));
    assert_eq!(names(&desk, &dee).await, everything);
    assert_eq!(names(&desk, &boss).await, everything);
    let by_key = desk.get("/v1/tickets").await.body["items"].clone();
    assert_eq!(
        by_key.as_array().map(Vec::len),
        Some(4),
        "the API key sees all"
    );

    // A ticket out of reach is a 404 on every call, reads and writes alike.
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::PATCH, "", Some(json!({"name": "Mine now"}))),
        (Method::POST, "/comments", Some(json!({"body": "hi"}))),
        (Method::POST, "/replies", Some(json!({"body": "hi"}))),
        (Method::PUT, "/draft", Some(json!({"body": "hi"}))),
        (Method::POST, "/followers", None),
    ] {
        let path = format!("/v1/tickets/{chos}{suffix}");
        let reply = desk.member_call(&ana, method.clone(), &path, body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {reply:?}"
        );
    }
    let merge = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("/v1/tickets/{anas}/merge"),
            Some(json!({"from": nobodys})),
        )
        .await;
    assert_eq!(super::field(&merge), "from", "{merge:?}");

    // A ticket Ana makes stays in her view: she follows it.
    let support = desk.pipeline().await;
    let made = desk
        .member_call(
            &ana,
            Method::POST,
            "/v1/tickets",
            Some(json!({"name": "Made by Ana", "pipeline": id(&support), "status": status(&support, "New")})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(made.body["followers"], json!([ana.id]));
    assert!(names(&desk, &ana).await.contains("Made by Ana"));

    let widened = desk
        .app
        .put(
            &format!("/v1/agents/{}/ticket-access", ana.id),
            &desk.key,
            json!({"ticket_access": "all"}),
        )
        .await;
    assert_eq!(widened.status, StatusCode::OK, "{widened:?}");
    assert_eq!(widened.body["ticket_access"], "all");
    assert_eq!(names(&desk, &ana).await.len(), 5);
}

#[baton_e2e::test]
async fn member_tokens_act_as_their_member_and_only_admins_use_the_rest_of_the_api() {
    let desk = Desk::new().await;
    let ana = desk.member("Ana", "agent", json!({})).await;
    let boss = desk.member("Boss", "admin", json!({})).await;
    let conversation = id(&desk.app.conversation(&desk.key, "delete me").await);

    let as_agent = desk
        .member_call(&ana, Method::GET, "/v1/conversations", None)
        .await;
    assert_eq!(as_agent.status, StatusCode::FORBIDDEN, "{as_agent:?}");
    let as_admin = desk
        .member_call(&boss, Method::GET, "/v1/conversations", None)
        .await;
    assert_eq!(as_admin.status, StatusCode::OK, "{as_admin:?}");
    // An admin's token is the admin: no X-Baton-Agent needed.
    let deleted = desk
        .member_call(
            &boss,
            Method::DELETE,
            &format!("/v1/conversations/{conversation}"),
            Some(json!({"confirm": conversation})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");

    let unknown = desk
        .call(Method::GET, "/v1/tickets", "bm_not-a-token", None, None)
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let no_agent = desk
        .post(
            "/v1/agents/agt_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa/tokens",
            json!({}),
        )
        .await;
    assert_eq!(no_agent.status, StatusCode::NOT_FOUND);
    // Another tenant's key cannot issue tokens for this tenant's agents.
    let other = desk.app.tenant("Other").await;
    let foreign = desk
        .call(
            Method::POST,
            &format!("/v1/agents/{}/tokens", ana.id),
            &other,
            None,
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let foreign_revoke = desk
        .call(
            Method::DELETE,
            &format!("/v1/agents/{}/tokens", ana.id),
            &other,
            None,
            None,
        )
        .await;
    assert_eq!(foreign_revoke.status, StatusCode::NOT_FOUND);
    // Only an admin revokes; an agent cannot revoke anyone's tokens.
    let by_agent = desk
        .member_call(
            &ana,
            Method::DELETE,
            &format!("/v1/agents/{}/tokens", boss.id),
            None,
        )
        .await;
    assert_eq!(by_agent.status, StatusCode::FORBIDDEN, "{by_agent:?}");
    assert_eq!(
        desk.member_call(&ana, Method::GET, "/v1/tickets", None)
            .await
            .status,
        StatusCode::OK
    );
}

#[baton_e2e::test]
async fn a_revoked_member_token_is_refused_and_a_new_one_works() {
    let desk = Desk::new().await;
    let ana = desk.member("Ana", "agent", json!({})).await;
    let ben = desk.member("Ben", "agent", json!({})).await;
    // A second token for Ana (a second device).
    let second = desk
        .post(&format!("/v1/agents/{}/tokens", ana.id), json!({}))
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{second:?}");
    let second = second.body["token"].as_str().expect("token").to_owned();

    let revoked = desk
        .call(
            Method::DELETE,
            &format!("/v1/agents/{}/tokens", ana.id),
            &desk.key,
            None,
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    assert_eq!(revoked.body["revoked"], 2);
    for token in [ana.token.as_str(), second.as_str()] {
        let refused = desk
            .call(Method::GET, "/v1/tickets", token, None, None)
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused:?}");
    }
    // Ben's token is untouched.
    let other = desk
        .member_call(&ben, Method::GET, "/v1/tickets", None)
        .await;
    assert_eq!(other.status, StatusCode::OK, "{other:?}");

    let fresh = desk
        .post(&format!("/v1/agents/{}/tokens", ana.id), json!({}))
        .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{fresh:?}");
    let fresh = fresh.body["token"].as_str().expect("token");
    let back = desk
        .call(Method::GET, "/v1/tickets", fresh, None, None)
        .await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
}

#[baton_e2e::test]
async fn statistics_count_tickets_by_pipeline_and_status() {
    let desk = Desk::new().await;
    let support = desk.pipeline().await;
    desk.ticket("One", json!({})).await;
    desk.ticket("Two", json!({})).await;
    desk.ticket("Three", json!({"status": status(&support, "Closed")}))
        .await;
    desk.app.conversation_on(&desk.key, "form", "a form").await;

    let stats = desk.get("/v1/stats").await.body;
    let tickets = &stats["tickets"];
    assert_eq!(tickets["total"], 4, "{stats}");
    assert_eq!(tickets["pipelines"][0]["name"], "Support pipeline");
    let by_status: Vec<(String, u64)> = tickets["pipelines"][0]["by_status"]
        .as_array()
        .expect("statuses")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["tickets"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        by_status,
        [
            ("New".to_owned(), 3),
            ("Waiting on contact".to_owned(), 0),
            ("Waiting on us".to_owned(), 0),
            ("Closed".to_owned(), 1)
        ]
    );
    assert_eq!(
        stats["by_status"]["closed"], 1,
        "the closed ticket's conversation"
    );
}
