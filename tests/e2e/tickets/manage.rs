//! Managing tickets: edit, follow, split, merge, move and delete.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Desk, field, id, status};

fn bodies(ticket: &Value) -> Vec<String> {
    ticket["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect()
}

#[baton_e2e::test]
async fn tickets_are_edited_and_followed() {
    let desk = Desk::new().await;
    let ana = desk.app.agent(&desk.key, "Ana", 3).await;
    let boss = desk.member("Boss", "admin", json!({})).await;
    let ben = desk
        .member("Ben", "agent", json!({"ticket_access": "all"}))
        .await;
    let company = id(&desk
        .post("/v1/companies", json!({"name": "Kim Industries"}))
        .await
        .body);
    let ticket = desk
        .ticket(
            "Wrong size",
            json!({"properties": {"size": "M", "colour": "red"}}),
        )
        .await;
    let path = format!("/v1/tickets/{}", id(&ticket));

    let edited = desk
        .patch(
            &path,
            json!({"name": "Wrong size shipped", "priority": "urgent", "owner": ana,
                   "company": company, "contact": {"email": "lee@example.com"},
                   "properties": {"size": "L", "colour": null}}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{edited:?}");
    let t = &edited.body;
    assert_eq!(t["name"], "Wrong size shipped");
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["owner"], ana.as_str());
    assert_eq!(t["company"], company.as_str());
    assert_eq!(t["contact"]["email"], "lee@example.com");
    assert_eq!(t["properties"], json!({"size": "L"}));
    let history = desk
        .get(&format!(
            "/v1/conversations/{}",
            t["conversation"].as_str().expect("conversation")
        ))
        .await
        .body["history"]
        .clone();
    assert_eq!(history[0]["decided_by"], "manual", "{history}");

    let cleared = desk
        .patch(&path, json!({"owner": null, "company": null}))
        .await;
    assert_eq!(cleared.body["owner"], json!(null));
    assert_eq!(cleared.body["company"], json!(null));
    assert_eq!(cleared.body["name"], "Wrong size shipped", "untouched");
    let bad = desk.patch(&path, json!({"priority": "soon"})).await;
    assert_eq!(field(&bad), "priority");

    // Members follow and unfollow themselves; adding others takes an admin.
    let followers = format!("{path}/followers");
    let followed = desk.member_call(&ben, Method::POST, &followers, None).await;
    assert_eq!(followed.status, StatusCode::OK, "{followed:?}");
    assert_eq!(followed.body["followers"], json!([ben.id]));
    let not_admin = desk
        .member_call(&ben, Method::POST, &followers, Some(json!({"agent": ana})))
        .await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
    let by_admin = desk
        .member_call(&boss, Method::POST, &followers, Some(json!({"agent": ana})))
        .await;
    let both = by_admin.body["followers"].to_string();
    assert!(both.contains(&ben.id) && both.contains(&ana), "{both}");
    let left = desk
        .member_call(&ben, Method::DELETE, &followers, None)
        .await;
    assert_eq!(left.body["followers"], json!([ana]));
}

#[baton_e2e::test]
async fn a_split_moves_messages_into_a_new_ticket_and_leaves_at_least_one() {
    let desk = Desk::new().await;
    let first = desk
        .email("<s1@mail.example.com>", None, "Invoice wrong")
        .await;
    let ticket = id(&first.body["ticket"]);
    for (n, text) in [(2, "Also, my password"), (3, "and my e-mail address")] {
        desk.email(
            &format!("<s{n}@mail.example.com>"),
            Some("<s1@mail.example.com>"),
            text,
        )
        .await;
    }
    let before = desk.fetch(&ticket).await;
    let ids: Vec<String> = before["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(id)
        .collect();
    let path = format!("/v1/tickets/{ticket}/split");

    let all = desk
        .post(&path, json!({"messages": ids, "name": "Everything"}))
        .await;
    assert_eq!(all.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&all), "messages");
    let foreign = desk
        .post(
            &path,
            json!({"messages": ["msg_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa"], "name": "Nothing"}),
        )
        .await;
    assert_eq!(field(&foreign), "messages[0]");

    let split = desk
        .post(
            &path,
            json!({"messages": [ids[1], ids[2]], "name": "Account access"}),
        )
        .await;
    assert_eq!(split.status, StatusCode::CREATED, "{split:?}");
    let new = &split.body["ticket"];
    assert_eq!(new["name"], "Account access");
    assert_eq!(new["source"], "split");
    assert_eq!(new["contact"], before["contact"]);
    assert_eq!(new["pipeline"], before["pipeline"]);
    assert_eq!(new["status_name"], "New");
    assert_eq!(bodies(new), ["Also, my password", "and my e-mail address"]);
    assert_eq!(bodies(&desk.fetch(&ticket).await), ["Invoice wrong"]);
    // The customer's next answer to a moved message lands in the new ticket.
    let answer = desk
        .email(
            "<s4@mail.example.com>",
            Some("<s2@mail.example.com>"),
            "Thanks",
        )
        .await;
    assert_eq!(answer.body["ticket"]["id"], new["id"]);
}

#[baton_e2e::test]
async fn a_merge_moves_messages_followers_and_tags_and_closes_the_other() {
    let desk = Desk::new().await;
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "all"}))
        .await;
    let keep = id(&desk
        .email("<m1@mail.example.com>", None, "Refund please")
        .await
        .body["ticket"]);
    let dup = desk
        .email("<m2@mail.example.com>", None, "Refund please!!")
        .await;
    let gone = id(&dup.body["ticket"]);
    let conversation = dup.body["conversation"].as_str().expect("conversation");
    desk.app
        .put(
            &format!("/v1/conversations/{conversation}/tags"),
            &desk.key,
            json!({"tags": ["refund"]}),
        )
        .await;
    desk.member_call(
        &ana,
        Method::POST,
        &format!("/v1/tickets/{gone}/followers"),
        None,
    )
    .await;
    let draft = desk
        .member_call(
            &ana,
            Method::PUT,
            &format!("/v1/tickets/{gone}/draft"),
            Some(json!({"body": "We are on it"})),
        )
        .await;
    assert_eq!(draft.status, StatusCode::OK, "{draft:?}");

    let merged = desk
        .post(&format!("/v1/tickets/{keep}/merge"), json!({"from": gone}))
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    assert_eq!(bodies(&merged.body), ["Refund please", "Refund please!!"]);
    assert_eq!(merged.body["followers"], json!([ana.id]));
    assert_eq!(merged.body["tags"], json!(["refund"]));

    let kept_draft = desk
        .member_call(
            &ana,
            Method::GET,
            &format!("/v1/tickets/{keep}/draft"),
            None,
        )
        .await;
    assert_eq!(
        kept_draft.body["body"], "We are on it",
        "the draft moved along"
    );
    let other = desk.fetch(&gone).await;
    assert_eq!(other["merged_into"], keep.as_str());
    assert_eq!(other["closed"], true);
    assert_eq!(other["conversation_status"], "closed");
    let listed = desk.get("/v1/tickets").await.body["items"].clone();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    let again = desk
        .post(&format!("/v1/tickets/{keep}/merge"), json!({"from": gone}))
        .await;
    assert_eq!(field(&again), "from");
    let itself = desk
        .post(&format!("/v1/tickets/{keep}/merge"), json!({"from": keep}))
        .await;
    assert_eq!(field(&itself), "from");
    let reply = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("/v1/tickets/{gone}/replies"),
            Some(json!({"body": "hello"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::CONFLICT,
        "a merged ticket takes no replies"
    );
    // Kim's answer to the merged ticket's mail now reaches the kept one.
    let answer = desk
        .email(
            "<m3@mail.example.com>",
            Some("<m2@mail.example.com>"),
            "Any news?",
        )
        .await;
    assert_eq!(answer.body["ticket"]["id"], keep.as_str());
}

#[baton_e2e::test]
async fn a_move_changes_the_pipeline_and_its_closed_status_closes_the_conversation() {
    let desk = Desk::new().await;
    let ana = desk.app.agent(&desk.key, "Ana", 3).await;
    let returns = desk
        .post(
            "/v1/pipelines",
            json!({"name": "Returns", "statuses": [{"name": "Requested"}, {"name": "Refunded", "closed": true}]}),
        )
        .await
        .body;
    let ticket = id(&desk.ticket("Send it back", json!({"owner": ana})).await);
    let path = format!("/v1/tickets/{ticket}/move");
    let support = desk.pipeline().await;

    let wrong = desk
        .post(
            &path,
            json!({"pipeline": id(&returns), "status": status(&support, "New")}),
        )
        .await;
    assert_eq!(field(&wrong), "status");
    let moved = desk
        .post(
            &path,
            json!({"pipeline": id(&returns), "status": status(&returns, "Refunded")}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    assert_eq!(moved.body["pipeline"], returns["id"]);
    assert_eq!(moved.body["status_name"], "Refunded");
    assert_eq!(moved.body["conversation_status"], "closed");
    let back = desk
        .post(
            &path,
            json!({"pipeline": id(&support), "status": status(&support, "Waiting on us")}),
        )
        .await;
    assert_eq!(back.body["status_name"], "Waiting on us");
    assert_eq!(
        back.body["conversation_status"], "open",
        "leaving a closed status reopens"
    );
    // A reopening like any other: the owner is told.
    desk.app.deliver().await;
    let told = desk
        .app
        .get(&format!("/v1/agents/{ana}/notifications"), &desk.key)
        .await
        .body["items"]
        .clone();
    let reopened: Vec<&Value> = told
        .as_array()
        .expect("notifications")
        .iter()
        .filter(|n| n["type"] == "reopened")
        .collect();
    assert_eq!(reopened.len(), 1, "{told}");
    let filtered = desk
        .get(&format!("/v1/tickets?pipeline={}", id(&returns)))
        .await
        .body["items"]
        .clone();
    assert_eq!(filtered, json!([]));
}

#[baton_e2e::test]
async fn only_an_admin_deletes_a_ticket_and_only_with_its_id_repeated() {
    let desk = Desk::new().await;
    let boss = desk.member("Boss", "admin", json!({})).await;
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "all"}))
        .await;
    let mail = desk.email("<d1@mail.example.com>", None, "Forget me").await;
    let ticket = id(&mail.body["ticket"]);
    let path = format!("/v1/tickets/{ticket}");
    // Followed, and commented: the conversation has rows pointing at it.
    desk.member_call(&ana, Method::POST, &format!("{path}/followers"), None)
        .await;
    desk.member_call(
        &ana,
        Method::POST,
        &format!("{path}/comments"),
        Some(json!({"body": "@Boss fyi"})),
    )
    .await;

    let by_agent = desk
        .member_call(
            &ana,
            Method::DELETE,
            &path,
            Some(json!({"confirm": ticket})),
        )
        .await;
    assert_eq!(by_agent.status, StatusCode::FORBIDDEN);
    let unconfirmed = desk
        .member_call(
            &boss,
            Method::DELETE,
            &path,
            Some(json!({"confirm": "yes"})),
        )
        .await;
    assert_eq!(field(&unconfirmed), "confirm");
    assert_eq!(desk.get(&path).await.status, StatusCode::OK, "still there");

    let deleted = desk
        .member_call(
            &boss,
            Method::DELETE,
            &path,
            Some(json!({"confirm": ticket})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    assert_eq!(desk.get(&path).await.status, StatusCode::NOT_FOUND);
    let conversation = mail.body["conversation"].as_str().expect("conversation");
    assert_eq!(
        desk.get(&format!("/v1/conversations/{conversation}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The API key names the admin in X-Baton-Agent instead. A ticket
    // merged into the deleted one goes with it.
    let other = id(&desk.ticket("Second", json!({})).await);
    let absorbed = id(&desk.ticket("Absorbed", json!({})).await);
    let merged = desk
        .post(
            &format!("/v1/tickets/{other}/merge"),
            json!({"from": absorbed}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    let via_key = desk
        .call(
            Method::DELETE,
            &format!("/v1/tickets/{other}"),
            &desk.key,
            Some(&boss.id),
            Some(json!({"confirm": other})),
        )
        .await;
    assert_eq!(via_key.status, StatusCode::OK, "{via_key:?}");
    assert_eq!(desk.get("/v1/tickets").await.body["items"], json!([]));
    assert_eq!(
        desk.get(&format!("/v1/tickets/{absorbed}")).await.status,
        StatusCode::NOT_FOUND
    );
}
