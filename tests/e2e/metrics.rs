//! `GET /metrics`: Prometheus text an operator scrapes with the operator
//! token, counting plugin calls and failures per tenant, plugin and
//! version, HTTP requests by route template, and the backlog as the
//! database holds it.

use baton_e2e::{OPERATOR_TOKEN, TestApp, plugins};
use reqwest::StatusCode;
use serde_json::json;

/// The value of the one sample whose series starts with `prefix` and
/// whose labels include every one of `labels`; `None` when there is none.
fn sample(text: &str, prefix: &str, labels: &[&str]) -> Option<f64> {
    let mut found = text
        .lines()
        .filter(|line| line.starts_with(prefix) && labels.iter().all(|label| line.contains(label)));
    let line = found.next()?;
    assert!(found.next().is_none(), "more than one {prefix} {labels:?}");
    line.rsplit_once(' ')?.1.parse().ok()
}

async fn scrape(app: &TestApp, token: &str) -> (StatusCode, Option<String>, String) {
    let response = reqwest::Client::new()
        .get(format!("{}/metrics", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("scraped");
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, kind, response.text().await.expect("text"))
}

/// Create a tenant; its id and API key.
async fn tenant(app: &TestApp, name: &str) -> (String, String) {
    let reply = app
        .post("/v1/tenants", OPERATOR_TOKEN, json!({ "name": name }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    (
        reply.body["id"].as_str().expect("id").to_owned(),
        reply.body["api_key"].as_str().expect("key").to_owned(),
    )
}

#[baton_e2e::test]
async fn metrics_count_calls_failures_and_requests_and_read_the_backlog() {
    let app = TestApp::spawn().await;
    let (served, staffed) = tenant(&app, "Served").await;
    let (broken, broken_key) = tenant(&app, "Broken").await;
    let (waiting, unstaffed) = tenant(&app, "Waiting").await;

    let agent = app.agent(&staffed, "Ana", 10).await;
    app.presence(&staffed, &agent, "available").await;
    for n in 0..3 {
        app.conversation(&staffed, &format!("hello {n}")).await;
    }
    // A strategy that never ends its call: out of fuel, and the fallback.
    let hal = app.agent(&broken_key, "Hal", 10).await;
    app.presence(&broken_key, &hal, "available").await;
    let uploaded = app.upload(&broken_key, plugins::SPIN_FOREVER).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    app.bind_strategy(&broken_key, uploaded.body["id"].as_str().expect("id"))
        .await;
    app.conversation(&broken_key, "hello").await;
    // Nobody to take them: two wait in the queue.
    app.conversation(&unstaffed, "first").await;
    app.conversation(&unstaffed, "second").await;
    app.settle().await;

    let (status, _, _) = scrape(&app, &staffed).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a tenant's key does not read every tenant's metrics"
    );
    let (status, kind, text) = scrape(&app, OPERATOR_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        kind.as_deref()
            .unwrap_or_default()
            .starts_with("application/openmetrics-text"),
        "{kind:?}"
    );

    let calls = "baton_plugin_calls_total{";
    assert_eq!(
        sample(
            &text,
            calls,
            &[
                &format!("tenant=\"{served}\""),
                "plugin=\"round-robin\"",
                "kind=\"decide\""
            ]
        ),
        Some(3.0),
        "one decision per conversation:\n{text}"
    );
    assert_eq!(
        sample(
            &text,
            "baton_plugin_call_fuel_count{",
            &[&format!("tenant=\"{served}\""), "plugin=\"round-robin\""]
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            "baton_plugin_failures_total{",
            &[
                &format!("tenant=\"{broken}\""),
                "plugin=\"spin-forever\"",
                "failure=\"out-of-fuel\""
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "baton_plugin_failures_total{",
            &[&format!("tenant=\"{served}\"")]
        ),
        None,
        "the served tenant had no failure"
    );
    assert_eq!(
        sample(
            &text,
            "baton_http_requests_total{",
            &[
                "method=\"POST\"",
                "route=\"/v1/conversations\"",
                "status=\"201\""
            ]
        ),
        Some(6.0)
    );
    assert_eq!(
        sample(
            &text,
            "baton_http_requests_total{",
            &["route=\"/metrics\"", "status=\"401\""]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "baton_queue_length{",
            &[&format!("tenant=\"{waiting}\"")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "baton_queue_length{",
            &[&format!("tenant=\"{served}\"")]
        ),
        None
    );
    assert_eq!(sample(&text, "baton_events_pending ", &[]), Some(0.0));
    assert_eq!(
        sample(&text, "baton_dispatcher_lag_seconds ", &[]),
        Some(0.0)
    );
    assert!(
        sample(
            &text,
            "baton_plugin_cache_lookups_total{",
            &["result=\"hit\""]
        )
        .is_some_and(|hits| hits >= 3.0),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));

    // A path no route serves counts under one label, whatever was asked.
    let missing = app.get("/v1/no-such-thing/123", &staffed).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let (_, _, text) = scrape(&app, OPERATOR_TOKEN).await;
    assert_eq!(
        sample(
            &text,
            "baton_http_requests_total{",
            &["route=\"unmatched\"", "status=\"404\""]
        ),
        Some(1.0)
    );
    assert!(!text.contains("no-such-thing"), "{text}");
}
