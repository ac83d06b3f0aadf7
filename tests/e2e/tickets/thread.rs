//! A ticket's thread: replies, conditional statuses, drafts and comments.

use reqwest::{Method, StatusCode};
use serde_json::json;

use baton_e2e::receivers::SmtpSink;

use super::{Desk, field, id, status};

#[baton_e2e::test]
async fn a_reply_answers_the_chosen_message_and_can_change_the_status_at_once() {
    let desk = Desk::new().await;
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "all"}))
        .await;
    let first = desk.email("<r1@mail.example.com>", None, "First").await;
    let ticket = id(&first.body["ticket"]);
    desk.email(
        "<r2@mail.example.com>",
        Some("<r1@mail.example.com>"),
        "Second",
    )
    .await;
    let shown = desk.fetch(&ticket).await;
    let (m1, m2) = (id(&shown["messages"][0]), id(&shown["messages"][1]));
    let replies = format!("/v1/tickets/{ticket}/replies");

    // By default a reply answers the latest customer message.
    let latest = desk
        .member_call(&ana, Method::POST, &replies, Some(json!({"body": "On it"})))
        .await;
    assert_eq!(latest.status, StatusCode::CREATED, "{latest:?}");
    assert_eq!(latest.body["message"]["reply_to"], m2.as_str());
    assert_eq!(latest.body["message"]["agent"], ana.id.as_str());
    // Or the one chosen, with a status change in the same call.
    let pipeline = desk.pipeline().await;
    let waiting = status(&pipeline, "Waiting on contact");
    let chosen = desk
        .member_call(
            &ana,
            Method::POST,
            &replies,
            Some(json!({"body": "About your first mail", "reply_to": m1, "status": waiting})),
        )
        .await;
    assert_eq!(chosen.status, StatusCode::CREATED, "{chosen:?}");
    assert_eq!(chosen.body["message"]["reply_to"], m1.as_str());
    assert_eq!(chosen.body["ticket"]["status"], waiting.as_str());

    // A message of another ticket is not one to answer here.
    let other = desk.ticket("Other", json!({})).await;
    let elsewhere = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("/v1/tickets/{}/comments", id(&other)),
            Some(json!({"body": "note"})),
        )
        .await;
    let foreign = id(&elsewhere.body["comment"]);
    let wrong = desk
        .member_call(
            &ana,
            Method::POST,
            &replies,
            Some(json!({"body": "x", "reply_to": foreign})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&wrong), "reply_to");

    // The API key names the author in X-Baton-Agent; without one it cannot reply.
    let anonymous = desk.post(&replies, json!({"body": "Who am I?"})).await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN, "{anonymous:?}");
    let named = desk
        .call(
            Method::POST,
            &replies,
            &desk.key,
            Some(&ana.id),
            Some(json!({"body": "Via the integration", "status": status(&pipeline, "Closed")})),
        )
        .await;
    assert_eq!(named.status, StatusCode::CREATED, "{named:?}");
    assert_eq!(named.body["ticket"]["conversation_status"], "closed");
    let texts = desk.fetch(&ticket).await["messages"].to_string();
    assert!(
        texts.contains("On it") && texts.contains("Via the integration"),
        "{texts}"
    );

    // No contact e-mail, no reply.
    let unreachable = desk
        .post(
            "/v1/tickets",
            json!({"name": "Walk-in", "pipeline": id(&pipeline), "status": status(&pipeline, "New")}),
        )
        .await
        .body;
    let refused = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("/v1/tickets/{}/replies", id(&unreachable)),
            Some(json!({"body": "Hello?"})),
        )
        .await;
    assert_eq!(field(&refused), "contact", "{refused:?}");
}

#[baton_e2e::test]
async fn a_conditional_status_needs_its_properties_and_nothing_is_written_without_them() {
    let desk = Desk::new().await;
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "all"}))
        .await;
    let pipeline = desk
        .post(
            "/v1/pipelines",
            json!({"name": "Repairs", "statuses": [
                {"name": "Open"},
                {"name": "Resolved", "closed": true, "requires": ["resolution"]}
            ]}),
        )
        .await
        .body;
    let resolved = status(&pipeline, "Resolved");
    let ticket = desk
        .ticket(
            "Broken screen",
            json!({"pipeline": id(&pipeline), "status": status(&pipeline, "Open")}),
        )
        .await;
    let path = format!("/v1/tickets/{}", id(&ticket));

    let reply = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("{path}/replies"),
            Some(json!({"body": "Fixed", "status": resolved})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{reply:?}");
    assert_eq!(field(&reply), "properties.resolution");
    let patch = desk.patch(&path, json!({"status": resolved})).await;
    assert_eq!(field(&patch), "properties.resolution");
    let blank = desk
        .patch(
            &path,
            json!({"status": resolved, "properties": {"resolution": " "}}),
        )
        .await;
    assert_eq!(field(&blank), "properties.resolution");
    let unchanged = desk.fetch(&id(&ticket)).await;
    assert_eq!(unchanged["messages"], json!([]), "no reply was sent");
    assert_eq!(unchanged["status_name"], "Open");
    assert_eq!(unchanged["properties"], json!({}));
    assert_eq!(unchanged["conversation_status"], "open");

    // Made in that status, a ticket needs the property too.
    let made = desk
        .post(
            "/v1/tickets",
            json!({"name": "Done already", "pipeline": id(&pipeline), "status": resolved}),
        )
        .await;
    assert_eq!(field(&made), "properties.resolution");

    // With the property in the same call, reply and status go together.
    let done = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("{path}/replies"),
            Some(json!({"body": "Fixed", "status": resolved,
                        "properties": {"resolution": "replaced the screen"}})),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{done:?}");
    let after = &done.body["ticket"];
    assert_eq!(after["status_name"], "Resolved");
    assert_eq!(after["properties"]["resolution"], "replaced the screen");
    assert_eq!(after["conversation_status"], "closed");
}

#[baton_e2e::test]
async fn drafts_are_seen_only_by_their_author_and_go_when_the_reply_is_sent() {
    let desk = Desk::new().await;
    let all = json!({"ticket_access": "all"});
    let ana = desk.member("Ana", "agent", all.clone()).await;
    let ben = desk.member("Ben", "agent", all).await;
    let ticket = id(&desk.ticket("Late parcel", json!({})).await);
    let draft = format!("/v1/tickets/{ticket}/draft");

    let saved = desk
        .member_call(
            &ana,
            Method::PUT,
            &draft,
            Some(json!({"body": "Dear Kim,"})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{saved:?}");
    let replaced = desk
        .member_call(
            &ana,
            Method::PUT,
            &draft,
            Some(json!({"body": "Dear Kim, sorry"})),
        )
        .await;
    assert_eq!(replaced.body["body"], "Dear Kim, sorry");
    assert_eq!(
        desk.member_call(&ana, Method::GET, &draft, None).await.body["body"],
        "Dear Kim, sorry"
    );
    assert_eq!(
        desk.member_call(&ben, Method::GET, &draft, None)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "Ben never sees Ana's draft"
    );
    let anas = desk
        .member_call(&ana, Method::GET, "/v1/drafts", None)
        .await;
    assert_eq!(anas.body.as_array().map(Vec::len), Some(1), "{anas:?}");
    assert_eq!(anas.body[0]["ticket"], ticket.as_str());
    let bens = desk
        .member_call(&ben, Method::GET, "/v1/drafts", None)
        .await;
    assert_eq!(bens.body, json!([]));
    let path = format!("/v1/tickets/{ticket}");
    assert_eq!(
        desk.member_call(&ana, Method::GET, &path, None).await.body["drafts"],
        1
    );
    assert_eq!(
        desk.member_call(&ben, Method::GET, &path, None).await.body["drafts"],
        0
    );

    let sent = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("{path}/replies"),
            Some(json!({"body": "Dear Kim, sorry for the wait"})),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{sent:?}");
    assert_eq!(
        desk.member_call(&ana, Method::GET, &draft, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        desk.member_call(&ana, Method::GET, "/v1/drafts", None)
            .await
            .body,
        json!([])
    );
}

#[baton_e2e::test]
async fn a_comment_mention_notifies_with_a_link_and_never_reaches_the_customer() {
    let desk = Desk::new().await;
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "all"}))
        .await;
    let cho = desk
        .member("Cho", "agent", json!({"ticket_access": "own"}))
        .await;
    let mail = desk
        .email("<c1@mail.example.com>", None, "My parcel is late")
        .await;
    let ticket = id(&mail.body["ticket"]);
    let path = format!("/v1/tickets/{ticket}");
    assert_eq!(
        desk.member_call(&cho, Method::GET, &path, None)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "not Cho's ticket yet"
    );

    let comment = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("{path}/comments"),
            Some(json!({"body": "@Cho can you check the courier? Customer is a reseller."})),
        )
        .await;
    assert_eq!(comment.status, StatusCode::CREATED, "{comment:?}");
    assert_eq!(comment.body["comment"]["internal"], true);
    assert_eq!(comment.body["followers"], json!([cho.id]));
    let inbox = desk
        .get(&format!("/v1/agents/{}/notifications", cho.id))
        .await
        .body["items"]
        .clone();
    assert_eq!(inbox.as_array().map(Vec::len), Some(1), "{inbox}");
    let notice = inbox[0]["message"].as_str().unwrap_or_default();
    assert!(
        notice.contains(&format!("/v1/tickets/{ticket}")),
        "{notice}"
    );
    assert!(notice.contains("Ana"), "{notice}");
    // Following, Cho now sees the ticket, with the comment apart from the thread.
    let seen = desk.member_call(&cho, Method::GET, &path, None).await;
    assert_eq!(seen.status, StatusCode::OK, "{seen:?}");
    assert_eq!(seen.body["comments"].as_array().map(Vec::len), Some(1));
    assert_eq!(seen.body["messages"].as_array().map(Vec::len), Some(1));

    // The customer's link shows the thread, never the comment.
    let conversation = mail.body["conversation"].as_str().expect("conversation");
    let links = desk
        .post(
            &format!("/v1/conversations/{conversation}/links"),
            json!({}),
        )
        .await
        .body;
    let customer = desk
        .app
        .get(links["customer"].as_str().expect("customer link"), "")
        .await
        .body
        .to_string();
    assert!(customer.contains("My parcel is late"), "{customer}");
    assert!(!customer.contains("reseller"), "{customer}");
}

/// A reply reaches the contact by e-mail, threaded under the message it
/// answers; the customer's answer to it comes back to the ticket; the
/// ticket shows how each e-mail went. A chat ticket's reply stays in the
/// chat, and without SMTP the e-mail is recorded as skipped.
#[baton_e2e::test]
async fn a_reply_is_emailed_to_the_contact_in_its_thread_and_the_answer_comes_back() {
    let sink = SmtpSink::start().await;
    let desk = Desk::with_smtp(&sink).await;
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "all"}))
        .await;
    let asked = desk
        .email("<m1@mail.example.com>", None, "My invoice is wrong")
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{asked:?}");
    let ticket = id(&asked.body["ticket"]);
    let path = format!("/v1/tickets/{ticket}/replies");

    let sent = desk
        .member_call(
            &ana,
            Method::POST,
            &path,
            Some(json!({"body": "Sorry, fixed.\n.Next line starts with a dot"})),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{sent:?}");
    assert_eq!(sent.body["message"]["email_delivery"]["state"], "pending");
    let reply_id = sent.body["message"]["email_message_id"]
        .as_str()
        .expect("Message-ID")
        .to_owned();
    desk.app.deliver().await;

    let mail = sink.wait_for(1).await;
    let to_kim: Vec<_> = mail
        .iter()
        .filter(|m| m.to == ["kim@example.com"])
        .collect();
    assert_eq!(to_kim.len(), 1, "{mail:?}");
    let reply = to_kim[0];
    assert_eq!(
        reply.header("From").as_deref(),
        Some("Acme <baton@example.com>")
    );
    assert_eq!(reply.header("To").as_deref(), Some("Kim <kim@example.com>"));
    assert_eq!(
        reply.header("Subject").as_deref(),
        Some("Re: Broken invoice")
    );
    assert_eq!(reply.header("Message-ID"), Some(reply_id.clone()));
    assert_eq!(
        reply.header("In-Reply-To").as_deref(),
        Some("<m1@mail.example.com>")
    );
    assert_eq!(
        reply.header("References").as_deref(),
        Some("<m1@mail.example.com>")
    );
    assert_eq!(
        reply.body(),
        "Sorry, fixed.\r\n.Next line starts with a dot\r\n",
        "dot-stuffing undone by the sink"
    );
    let shown = desk.fetch(&ticket).await;
    let delivery = &shown["messages"][1]["email_delivery"];
    assert_eq!(delivery["state"], "delivered", "{shown}");
    assert_eq!(delivery["attempts"], 1);
    assert!(
        shown["messages"][0].get("email_delivery").is_none(),
        "the customer's own message was not sent"
    );

    // Kim's answer to the e-mail joins the ticket.
    let back = desk
        .email("<m2@mail.example.com>", Some(&reply_id), "Thanks!")
        .await;
    assert_eq!(back.body["outcome"], "threaded", "{back:?}");
    assert_eq!(id(&back.body["ticket"]), ticket);

    // A chat ticket's customer reads the reply in the chat: no e-mail.
    let connect = desk
        .app
        .put(
            "/v1/settings/help-desk",
            &desk.key,
            json!({"channels": ["chat", "email"]}),
        )
        .await;
    assert_eq!(connect.status, StatusCode::OK, "{connect:?}");
    let chat = desk.app.conversation_on(&desk.key, "chat", "hello").await;
    let chat_ticket = chat["ticket"].as_str().expect("a chat ticket").to_owned();
    let answered = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("/v1/tickets/{chat_ticket}/replies"),
            Some(json!({"body": "Hello from the desk"})),
        )
        .await;
    assert_eq!(answered.status, StatusCode::CREATED, "{answered:?}");
    assert!(
        answered.body["message"].get("email_delivery").is_none(),
        "{answered:?}"
    );
    desk.app.deliver().await;
    assert!(
        sink.messages()
            .iter()
            .all(|m| !m.body().contains("Hello from the desk")),
        "no e-mail for a chat ticket"
    );
}

#[baton_e2e::test]
async fn without_smtp_a_replys_email_is_recorded_as_skipped() {
    let desk = Desk::new().await;
    let ana = desk
        .member("Ana", "agent", json!({"ticket_access": "all"}))
        .await;
    let asked = desk.email("<s1@mail.example.com>", None, "Hello").await;
    let ticket = id(&asked.body["ticket"]);
    let sent = desk
        .member_call(
            &ana,
            Method::POST,
            &format!("/v1/tickets/{ticket}/replies"),
            Some(json!({"body": "Hi Kim"})),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{sent:?}");
    desk.app.deliver().await;
    let delivery = &desk.fetch(&ticket).await["messages"][1]["email_delivery"];
    assert_eq!(delivery["state"], "skipped", "{delivery}");
    assert_eq!(delivery["last_error"], "no SMTP server is configured");

    // Deleting the conversation for good takes its e-mail record with it.
    let boss = desk.member("Boss", "admin", json!({})).await;
    let conversation = desk.fetch(&ticket).await["conversation"]
        .as_str()
        .expect("conversation")
        .to_owned();
    let deleted = desk
        .member_call(
            &boss,
            Method::DELETE,
            &format!("/v1/conversations/{conversation}"),
            Some(json!({"confirm": conversation})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    let gone = desk.get(&format!("/v1/tickets/{ticket}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{gone:?}");
}
