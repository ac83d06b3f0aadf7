//! Tickets made by hand, and the pipelines they are filed in.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Desk, field, id, status};

#[baton_e2e::test]
async fn a_manual_ticket_needs_a_name_a_pipeline_and_one_of_its_statuses() {
    let desk = Desk::new().await;
    let support = desk.pipeline().await;
    let other = desk
        .post(
            "/v1/pipelines",
            json!({"name": "Billing", "statuses": [{"name": "Open"}, {"name": "Paid", "closed": true}]}),
        )
        .await
        .body;
    let valid = json!({
        "name": "Refund for order 17",
        "pipeline": id(&support),
        "status": status(&support, "New"),
    });
    let without = |key: &str| {
        let mut body = valid.clone();
        body.as_object_mut().expect("object").remove(key);
        body
    };
    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    let cases = [
        ("no name", without("name"), "name"),
        ("blank name", with("name", json!("  ")), "name"),
        ("no pipeline", without("pipeline"), "pipeline"),
        (
            "pipeline that is not an id",
            with("pipeline", json!("support")),
            "pipeline",
        ),
        (
            "unknown pipeline",
            with("pipeline", json!("pipe_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
            "pipeline",
        ),
        ("no status", without("status"), "status"),
        (
            "status of another pipeline",
            with("status", json!(status(&other, "Open"))),
            "status",
        ),
        (
            "contact without an e-mail address",
            with("contact", json!({"email": "kim"})),
            "contact.email",
        ),
        (
            "unknown company",
            with("company", json!("cmp_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
            "company",
        ),
        (
            "owner who is not an agent",
            with("owner", json!("Ana")),
            "owner",
        ),
        (
            "bad property name",
            with("properties", json!({"a b": 1})),
            "properties.a b",
        ),
    ];
    for (what, body, expected) in cases {
        let reply = desk.post("/v1/tickets", body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {reply:?}"
        );
        assert_eq!(field(&reply), expected, "{what}: {reply:?}");
    }
    let listed = desk.get("/v1/tickets").await.body["items"].clone();
    assert_eq!(listed, json!([]), "nothing was written");
}

#[baton_e2e::test]
async fn a_manual_ticket_has_its_contact_company_and_owner_and_is_not_routed() {
    let desk = Desk::new().await;
    let ana = desk.app.agent(&desk.key, "Ana", 3).await;
    let ben = desk.app.agent(&desk.key, "Ben", 3).await;
    for agent in [&ana, &ben] {
        desk.app.presence(&desk.key, agent, "available").await;
    }
    let company = desk
        .post(
            "/v1/companies",
            json!({"name": "Kim Industries", "domain": "Kim.example.COM"}),
        )
        .await;
    assert_eq!(company.status, StatusCode::CREATED, "{company:?}");
    assert_eq!(company.body["domain"], "kim.example.com");
    let owned = desk
        .ticket(
            "Replace broken part",
            json!({"company": id(&company.body), "owner": ben, "priority": "high",
                   "properties": {"order": "A-17"}}),
        )
        .await;
    assert_eq!(owned["company"], company.body["id"]);
    assert_eq!(
        owned["contact"],
        json!({"email": "kim@example.com", "name": "Kim"})
    );
    assert_eq!(owned["owner"], ben.as_str());
    assert_eq!(owned["priority"], "high");
    assert_eq!(owned["properties"], json!({"order": "A-17"}));
    assert_eq!(owned["source"], "manual");
    assert_eq!(owned["messages"], json!([]), "no message is made up");

    // Without an owner it stays unassigned although Ana and Ben are free:
    // making a ticket does not run assignment.
    let open = desk.ticket("Question about warranty", json!({})).await;
    assert_eq!(open["owner"], json!(null));
    let conversation = desk
        .get(&format!(
            "/v1/conversations/{}",
            open["conversation"].as_str().expect("conversation")
        ))
        .await
        .body;
    assert_eq!(conversation["routing"], "unassigned");
    assert_eq!(conversation["channel"], "email");
    assert_eq!(conversation["ticket"], open["id"]);

    let companies = desk.get("/v1/companies").await.body;
    assert_eq!(companies.as_array().map(Vec::len), Some(1));
    let duplicate = desk
        .post("/v1/companies", json!({"name": "Kim Industries"}))
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
}

#[baton_e2e::test]
async fn pipelines_are_made_on_first_need_and_can_be_edited() {
    let desk = Desk::new().await;
    let support = desk.pipeline().await;
    assert_eq!(support["name"], "Support pipeline");
    assert_eq!(support["default"], true);
    let names: Vec<&str> = support["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["New", "Waiting on contact", "Waiting on us", "Closed"]
    );
    assert_eq!(support["statuses"][3]["closed"], true);

    let closed_first = desk
        .post(
            "/v1/pipelines",
            json!({"name": "Odd", "statuses": [{"name": "Done", "closed": true}]}),
        )
        .await;
    assert_eq!(field(&closed_first), "statuses[0].closed");
    let twice = desk
        .post(
            "/v1/pipelines",
            json!({"name": "Odd", "statuses": [{"name": "A"}, {"name": "a"}]}),
        )
        .await;
    assert_eq!(field(&twice), "statuses[1].name");

    // Rename a status (kept by id), add one, and drop an empty one.
    let ticket = desk.ticket("Kept in New", json!({})).await;
    let new = status(&support, "New");
    let edited = desk
        .app
        .put(
            &format!("/v1/pipelines/{}", id(&support)),
            &desk.key,
            json!({"name": "Support", "statuses": [
                {"id": new, "name": "Inbox"},
                {"id": status(&support, "Waiting on us"), "name": "Waiting on us"},
                {"name": "Escalated", "requires": ["reason"]},
                {"id": status(&support, "Closed"), "name": "Closed", "closed": true}
            ]}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{edited:?}");
    assert_eq!(edited.body["name"], "Support");
    assert_eq!(edited.body["statuses"][0]["id"], new.as_str());
    assert_eq!(edited.body["statuses"][2]["requires"], json!(["reason"]));
    assert_eq!(desk.fetch(&id(&ticket)).await["status_name"], "Inbox");

    // A status holding tickets cannot be dropped or closed.
    let dropped = desk
        .app
        .put(
            &format!("/v1/pipelines/{}", id(&support)),
            &desk.key,
            json!({"name": "Support", "statuses": [{"name": "Fresh"}]}),
        )
        .await;
    assert_eq!(dropped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&dropped), "statuses");
    let closing = desk
        .app
        .put(
            &format!("/v1/pipelines/{}", id(&support)),
            &desk.key,
            json!({"name": "Support", "statuses": [{"name": "Start"}, {"id": new, "name": "Inbox", "closed": true}]}),
        )
        .await;
    assert_eq!(field(&closing), "statuses[1].closed");
    let after = desk.get(&format!("/v1/pipelines/{}", id(&support))).await;
    assert_eq!(
        after.body["statuses"].as_array().map(Vec::len),
        Some(4),
        "refused edits change nothing: {after:?}"
    );
}
