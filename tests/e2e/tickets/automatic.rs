//! Tickets made automatically on channels connected to the help desk.

use reqwest::StatusCode;
use serde_json::json;

use super::{Desk, id};

#[baton_e2e::test]
async fn each_form_submission_and_each_inbound_email_makes_a_ticket() {
    let desk = Desk::new().await;
    // A form conversation made through the conversations API.
    let form = desk
        .app
        .conversation_on(&desk.key, "form", "I need a copy of my invoice")
        .await;
    let ticket = form["ticket"]
        .as_str()
        .expect("a form conversation is a ticket");
    let shown = desk.fetch(ticket).await;
    assert_eq!(shown["source"], "form");
    assert_eq!(shown["conversation"], form["id"]);
    assert_eq!(shown["status_name"], "New");
    assert_eq!(shown["pipeline"], desk.pipeline().await["id"]);
    assert_eq!(shown["name"], "Help", "named after the subject");

    // A submission to the form endpoint.
    let submitted = desk
        .post(
            "/v1/inbound/form",
            json!({"contact": {"email": "lee@example.com"}, "message": "Call me back",
                   "fields": {"order": "A-17"}}),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{submitted:?}");
    let from_form = &submitted.body["ticket"];
    assert_eq!(from_form["name"], "Form submission from lee@example.com");
    assert_eq!(from_form["contact"]["email"], "lee@example.com");

    // A one-to-one e-mail.
    let mail = desk
        .email("<first@mail.example.com>", None, "The invoice is wrong")
        .await;
    assert_eq!(mail.status, StatusCode::CREATED, "{mail:?}");
    assert_eq!(mail.body["outcome"], "opened");
    let from_mail = desk.fetch(&id(&mail.body["ticket"])).await;
    assert_eq!(from_mail["source"], "email");
    assert_eq!(from_mail["name"], "Broken invoice");
    assert_eq!(
        from_mail["messages"][0]["email_message_id"],
        "<first@mail.example.com>"
    );

    // Chat is not connected by default: no ticket.
    let chat = desk.app.conversation(&desk.key, "hello").await;
    assert_eq!(chat["ticket"], json!(null));

    // The same e-mail delivered again changes nothing.
    let again = desk
        .email("<first@mail.example.com>", None, "The invoice is wrong")
        .await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.body["outcome"], "duplicate");
    let all = desk.get("/v1/tickets").await.body["items"].clone();
    assert_eq!(all.as_array().map(Vec::len), Some(3), "{all}");
}

#[baton_e2e::test]
async fn an_email_answering_a_ticket_joins_its_thread_and_reopens_it() {
    let desk = Desk::new().await;
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "all"}))
        .await;
    let mail = desk
        .email("<q1@mail.example.com>", None, "Where is my refund?")
        .await;
    let ticket = id(&mail.body["ticket"]);
    let path = format!("/v1/tickets/{ticket}");
    let pipeline = desk.pipeline().await;

    // Ana answers and closes the ticket in one go.
    let answer = desk
        .member_call(
            &ana,
            reqwest::Method::POST,
            &format!("{path}/replies"),
            Some(json!({"body": "Sent yesterday", "status": super::status(&pipeline, "Closed")})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let sent_id = answer.body["message"]["email_message_id"]
        .as_str()
        .expect("the reply has a Message-ID")
        .to_owned();
    assert!(
        sent_id.starts_with("<msg_") && sent_id.ends_with("@baton.invalid>"),
        "{sent_id}"
    );
    assert_eq!(answer.body["ticket"]["conversation_status"], "closed");

    // Kim answers the reply: the answer joins the ticket and reopens it.
    let back = desk
        .email("<q2@mail.example.com>", Some(&sent_id), "Not received")
        .await;
    assert_eq!(back.status, StatusCode::CREATED, "{back:?}");
    assert_eq!(back.body["outcome"], "threaded");
    assert_eq!(back.body["ticket"]["id"], ticket.as_str());
    let shown = desk.fetch(&ticket).await;
    assert_eq!(shown["status_name"], "New", "back to the first open status");
    assert_eq!(shown["conversation_status"], "open");
    let bodies: Vec<&str> = shown["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        ["Where is my refund?", "Sent yesterday", "Not received"]
    );

    // A reply naming the thread only in References joins it too.
    let referenced = desk
        .post(
            "/v1/inbound/email",
            json!({"from": {"email": "kim@example.com"}, "subject": "Re: refund", "body": "Any news?",
                   "message_id": "<q3@mail.example.com>", "in_reply_to": "<unknown@elsewhere.example>",
                   "references": ["<q1@mail.example.com>", "<q2@mail.example.com>"]}),
        )
        .await;
    assert_eq!(referenced.body["outcome"], "threaded", "{referenced:?}");
    let all = desk.get("/v1/tickets").await.body["items"].clone();
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(1),
        "no new ticket: {all}"
    );

    // Malformed Message-IDs are refused, naming the field.
    let bad = desk.email("not-an-id", None, "x").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(super::field(&bad), "message_id");
}

#[baton_e2e::test]
async fn a_rule_based_bots_chat_makes_no_ticket_while_an_ai_bots_does() {
    for (kind, ticketed) in [("rule-based", false), ("ai", true)] {
        let desk = Desk::new().await;
        let connect = desk
            .app
            .put(
                "/v1/settings/help-desk",
                &desk.key,
                json!({"channels": ["chat", "email", "form"]}),
            )
            .await;
        assert_eq!(connect.status, StatusCode::OK, "{connect:?}");
        let bot = desk
            .post(
                "/v1/bots",
                json!({"name": "Helper", "channels": ["chat"], "kind": kind}),
            )
            .await;
        assert_eq!(bot.status, StatusCode::CREATED, "{bot:?}");
        assert_eq!(bot.body["kind"], kind);
        let chat = desk.app.conversation(&desk.key, "hello").await;
        assert_eq!(chat["routing"], "bot");
        assert_eq!(
            chat["ticket"].is_string(),
            ticketed,
            "{kind} bot: {}",
            chat["ticket"]
        );
    }
}

#[baton_e2e::test]
async fn the_help_desk_settings_choose_channels_and_pipeline() {
    let desk = Desk::new().await;
    let settings = desk.get("/v1/settings/help-desk").await.body;
    assert_eq!(
        settings,
        json!({"channels": ["email", "form"], "pipeline": null})
    );
    let escalations = desk
        .post(
            "/v1/pipelines",
            json!({"name": "Escalations", "statuses": [{"name": "Triage"}, {"name": "Done", "closed": true}]}),
        )
        .await;
    assert_eq!(escalations.status, StatusCode::CREATED, "{escalations:?}");
    let put = desk
        .app
        .put(
            "/v1/settings/help-desk",
            &desk.key,
            json!({"channels": ["email"], "pipeline": id(&escalations.body)}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    let form = desk.app.conversation_on(&desk.key, "form", "hi").await;
    assert_eq!(form["ticket"], json!(null), "forms are no longer connected");
    let mail = desk.email("<e@mail.example.com>", None, "hi").await;
    assert_eq!(mail.body["ticket"]["pipeline"], escalations.body["id"]);
    assert_eq!(mail.body["ticket"]["status_name"], "Triage");
    let bad = desk
        .app
        .put(
            "/v1/settings/help-desk",
            &desk.key,
            json!({"channels": ["fax"]}),
        )
        .await;
    assert_eq!(super::field(&bad), "channels[0]");
}

#[baton_e2e::test]
async fn a_workflow_on_ticket_created_sees_the_tickets_source() {
    let desk = Desk::new().await;
    let ana = desk.app.agent(&desk.key, "Ana", 3).await;
    let bound = desk
        .app
        .put(
            "/v1/routing/workflows",
            &desk.key,
            json!({"workflows": [{"plugin": "assign-by-source",
                                  "config": {"routes": [{"channel": "form", "agent": ana}]}}]}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    let form = desk
        .post(
            "/v1/inbound/form",
            json!({"contact": {"email": "lee@example.com"}, "message": "Please call"}),
        )
        .await;
    assert_eq!(form.status, StatusCode::CREATED, "{form:?}");
    desk.app.settle().await;
    let ticket = desk.fetch(&id(&form.body["ticket"])).await;
    assert_eq!(ticket["owner"], ana.as_str(), "{ticket}");
    // An e-mail ticket matches no route.
    let mail = desk.email("<w1@mail.example.com>", None, "Hello").await;
    desk.app.settle().await;
    assert_eq!(
        desk.fetch(&id(&mail.body["ticket"])).await["owner"],
        json!(null)
    );
}
