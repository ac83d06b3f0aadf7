//! The hostile catalogue: plugins that do what a hostile tenant's code
//! would. For each, the upload or call is refused or falls back, the
//! failure is recorded with its kind, and another tenant's conversation is
//! still assigned while it happens.

use std::time::Duration;

use baton_e2e::{TestApp, assigned_agent, plugins};
use baton_host::api::admission::AdmissionLimits;
use baton_host::plugin::SandboxLimits;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server_process::ServerProcess;

/// Fuel for answers that take the guest long to build; the wall-clock limit
/// still applies.
const ENOUGH_FUEL: u64 = 400_000_000;

/// Where a plugin is bound.
#[derive(Clone, Copy)]
enum Slot {
    Assignment,
    Workflows,
}

/// Two tenants on one server, each with one available agent: `hostile`
/// binds a misbehaving plugin, `bystander` stays on round-robin.
struct Scene {
    app: TestApp,
    hostile: String,
    hostile_agent: String,
    bystander: String,
    bystander_agent: String,
}

impl Scene {
    async fn new() -> Self {
        Self::with_fuel(SandboxLimits::default().fuel).await
    }

    /// With another fuel budget per call: answers that are expensive to
    /// build (100,000 entries) need more than the default to reach the
    /// host's checks at all.
    async fn with_fuel(fuel: u64) -> Self {
        let limits = SandboxLimits {
            fuel,
            ..SandboxLimits::default()
        };
        let app = TestApp::spawn_with(tempfile::tempdir().expect("dir"), limits).await;
        let hostile = app.tenant("Hostile").await;
        let bystander = app.tenant("Bystander").await;
        let hostile_agent = app.agent(&hostile, "Hal", 5).await;
        app.presence(&hostile, &hostile_agent, "available").await;
        let bystander_agent = app.agent(&bystander, "Bea", 50).await;
        app.presence(&bystander, &bystander_agent, "available")
            .await;
        Self {
            app,
            hostile,
            hostile_agent,
            bystander,
            bystander_agent,
        }
    }

    /// Upload `path` for the hostile tenant (the same bytes again are the
    /// version they were) and bind it at `slot` with `config`.
    async fn bind(&self, path: &str, slot: Slot, config: Value) {
        let uploaded = self.app.upload(&self.hostile, path).await;
        assert!(
            [StatusCode::CREATED, StatusCode::OK].contains(&uploaded.status),
            "{uploaded:?}"
        );
        let id = uploaded.body["id"].clone();
        let (route, body) = match slot {
            Slot::Assignment => (
                "/v1/routing/assignment",
                json!({"plugin": id, "config": config}),
            ),
            Slot::Workflows => (
                "/v1/routing/workflows",
                json!({"workflows": [{"plugin": id, "config": config}]}),
            ),
        };
        let bound = self.app.put(route, &self.hostile, body).await;
        assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    }

    /// A hostile conversation and a bystander's, created at the same time.
    /// Asserts the bystander's is assigned; returns the hostile one and the
    /// hostile tenant's recorded failures.
    async fn attack(&self) -> (Value, Vec<Value>) {
        let (hostile, bystander) = tokio::join!(
            self.app.conversation(&self.hostile, "hello"),
            self.app.conversation(&self.bystander, "meanwhile")
        );
        assert_eq!(
            assigned_agent(&bystander),
            Some(self.bystander_agent.clone()),
            "another tenant's conversation waited: {bystander}"
        );
        (hostile, self.failures().await)
    }

    async fn failures(&self) -> Vec<Value> {
        self.app
            .get("/v1/plugins/failures", &self.hostile)
            .await
            .body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn strategy(mode: &str) -> (Self, Value, Vec<Value>) {
        Self::strategy_with(json!({"mode": mode})).await
    }

    async fn strategy_with(config: Value) -> (Self, Value, Vec<Value>) {
        let scene = Self::with_fuel(ENOUGH_FUEL).await;
        scene
            .bind(plugins::HOSTILE_STRATEGY, Slot::Assignment, config)
            .await;
        let (conversation, failures) = scene.attack().await;
        (scene, conversation, failures)
    }
}

fn last_history(conversation: &Value) -> &Value {
    conversation["history"]
        .as_array()
        .and_then(|h| h.last())
        .unwrap_or(&Value::Null)
}

/// The hostile strategy's call failed with `kind`, and round-robin
/// assigned instead.
fn fell_back(scene: &Scene, conversation: &Value, failures: &[Value], kind: &str) {
    plugin_fell_back(scene, conversation, failures, "hostile-strategy", kind);
}

fn plugin_fell_back(
    scene: &Scene,
    conversation: &Value,
    failures: &[Value],
    plugin: &str,
    kind: &str,
) {
    assert_eq!(
        assigned_agent(conversation),
        Some(scene.hostile_agent.clone()),
        "{conversation}"
    );
    let last = last_history(conversation);
    assert_eq!(last["decided_by"], "fallback", "{last}");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["plugin"], plugin);
    assert_eq!(failures[0]["failure"], kind, "{failures:?}");
    assert_eq!(failures[0]["fallback"], "round-robin@0.1.0");
}

/// The plugin's own answer was applied, with no failure; returns its reason.
fn answered(scene: &Scene, conversation: &Value, failures: &[Value]) -> String {
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        assigned_agent(conversation),
        Some(scene.hostile_agent.clone()),
        "{conversation}"
    );
    let last = last_history(conversation);
    assert_eq!(last["plugin"], "hostile-strategy", "{last}");
    last["reason"].as_str().unwrap_or_default().to_owned()
}

#[baton_e2e::test]
async fn an_endless_loop_and_a_memory_bomb_are_stopped_and_fall_back() {
    for (path, plugin, kind) in [
        (plugins::SPIN_FOREVER, "spin-forever", "out-of-fuel"),
        (plugins::MEMORY_HOG, "memory-hog", "memory-cap"),
    ] {
        let scene = Scene::new().await;
        let uploaded = scene.app.upload(&scene.hostile, path).await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
        let id = uploaded.body["id"].as_str().expect("id");
        scene.app.bind_strategy(&scene.hostile, id).await;
        let (conversation, failures) = scene.attack().await;
        plugin_fell_back(&scene, &conversation, &failures, plugin, kind);
    }
}

/// A tenant whose strategy spends its whole time budget on a call holds up
/// its own events, not another tenant's: a conversation of another tenant,
/// created while that call runs, is assigned before the call ends.
#[baton_e2e::test]
async fn a_tenant_whose_plugin_uses_its_whole_budget_holds_up_no_other_tenant() {
    // Fuel without end: the call runs until the wall-clock limit stops it.
    let limits = SandboxLimits {
        fuel: u64::MAX / 4,
        timeout: Duration::from_secs(3),
        ..SandboxLimits::default()
    };
    let app = TestApp::spawn_with(tempfile::tempdir().expect("dir"), limits).await;
    let slow = app.tenant("Slow").await;
    let slow_agent = app.agent(&slow, "Sol", 5).await;
    app.presence(&slow, &slow_agent, "available").await;
    let quick = app.tenant("Quick").await;
    let quick_agent = app.agent(&quick, "Quin", 5).await;
    app.presence(&quick, &quick_agent, "available").await;
    let uploaded = app.upload(&slow, plugins::SPIN_FOREVER).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    let id = uploaded.body["id"].as_str().expect("id");
    app.bind_strategy(&slow, id).await;

    let before = app.last_event_id().await;
    let (slow_conversation, (quick_conversation, slow_meanwhile)) =
        tokio::join!(app.conversation(&slow, "hello"), async {
            // Once the slow tenant's conversation is in, its event before
            // the other tenant's...
            while app.last_event_id().await == before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let quick_conversation = app.conversation(&quick, "meanwhile").await;
            // ...and as soon as the other tenant's reply names its agent,
            // see where the slow tenant's routing is.
            let slow_meanwhile = app.get("/v1/conversations", &slow).await;
            (quick_conversation, slow_meanwhile)
        });
    assert_eq!(
        assigned_agent(&quick_conversation),
        Some(quick_agent),
        "{quick_conversation}"
    );
    let listed = slow_meanwhile.body["items"].as_array().expect("a list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed[0]["assignee"].is_null(),
        "the slow tenant's call had ended before the other tenant's conversation was assigned: {listed:?}"
    );
    // The slow call ended as any call out of time does.
    assert_eq!(assigned_agent(&slow_conversation), Some(slow_agent));
    let failures = app.get("/v1/plugins/failures", &slow).await.body["items"].clone();
    assert_eq!(failures[0]["failure"], "timeout", "{failures}");
}

#[baton_e2e::test]
async fn deep_recursion_traps_and_falls_back() {
    let (scene, conversation, failures) = Scene::strategy("recursion").await;
    fell_back(&scene, &conversation, &failures, "trap");
}

#[baton_e2e::test]
async fn a_ten_megabyte_reason_is_cut_to_the_limit() {
    let (scene, conversation, failures) = Scene::strategy("huge-reason").await;
    let reason = answered(&scene, &conversation, &failures);
    assert!(reason.starts_with("xxxx"), "{reason:.40}");
    assert!(reason.len() <= 4096 + '…'.len_utf8(), "{}", reason.len());
}

#[baton_e2e::test]
async fn an_offer_naming_one_agent_a_hundred_thousand_times_is_refused() {
    let (scene, conversation, failures) = Scene::strategy("many-offers").await;
    fell_back(&scene, &conversation, &failures, "invalid-answer");
    let message = failures[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("100000 times"), "{message}");
}

#[baton_e2e::test]
async fn another_tenants_agent_or_a_malformed_id_is_refused() {
    let scene = Scene::new().await;
    let foreign = scene.bystander_agent.clone();
    for (agent, expected) in [
        (foreign.as_str(), "not a candidate"),
        ("agt_\u{0}not an id", "not a candidate"),
        ("", "not a candidate"),
    ] {
        scene
            .bind(
                plugins::HOSTILE_STRATEGY,
                Slot::Assignment,
                json!({"mode": "assign-agent", "agent": agent}),
            )
            .await;
        let before = scene.failures().await.len();
        let (conversation, failures) = scene.attack().await;
        assert_eq!(last_history(&conversation)["decided_by"], "fallback");
        assert_eq!(failures.len(), before + 1, "{failures:?}");
        // Failures are listed newest first.
        assert_eq!(failures[0]["failure"], "invalid-answer");
        let message = failures[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{message}");
        // The bystander's agent took only the bystander's conversations.
        let bea = scene
            .app
            .get(
                &format!("/v1/agents/{}", scene.bystander_agent),
                &scene.bystander,
            )
            .await;
        assert_eq!(bea.status, StatusCode::OK);
        // Close the hostile conversation so the agent has room again.
        let id = conversation["id"].as_str().expect("id");
        scene.app.close(&scene.hostile, id).await;
    }
}

#[baton_e2e::test]
async fn key_value_abuse_keeps_nothing_over_the_limits() {
    let (scene, conversation, failures) = Scene::strategy("kv-abuse").await;
    let reason = answered(&scene, &conversation, &failures);
    // A 1 MiB key is never read, stored or kept by a delete; small values
    // fill the 64 KiB quota and no more.
    let stored: usize = reason
        .strip_prefix("kv: read-huge false refused-huge true stored ")
        .unwrap_or_else(|| panic!("{reason}"))
        .parse()
        .expect("a count");
    assert!((1..64).contains(&stored), "{reason}");
}

#[baton_e2e::test]
async fn file_network_and_environment_probes_are_refused() {
    for mode in ["file", "network", "env"] {
        let (scene, conversation, failures) = Scene::strategy(mode).await;
        fell_back(&scene, &conversation, &failures, "plugin-error");
        let message = failures[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("probe refused"), "{mode}: {message}");
        assert!(!message.contains("LEAK"), "{mode}: {message}");
    }
}

#[baton_e2e::test]
async fn the_clock_is_frozen_and_a_sleep_returns_at_once() {
    let (scene, conversation, failures) = Scene::strategy("clock").await;
    let reason = answered(&scene, &conversation, &failures);
    assert_eq!(reason, "clock: wall-is-event true slept-ms 0");
}

#[baton_e2e::test]
async fn a_plugin_sleeping_for_ever_stalls_nothing() {
    let (scene, conversation, failures) = Scene::strategy("sleep-forever").await;
    assert_eq!(answered(&scene, &conversation, &failures), "woke up");
    // And again: nothing was left holding the dispatcher or an instance.
    let (again, failures) = scene.attack().await;
    assert_eq!(answered(&scene, &again, &failures), "woke up");
}

#[baton_e2e::test]
async fn exit_and_abort_trap_and_fall_back() {
    for mode in ["exit", "abort"] {
        let (scene, conversation, failures) = Scene::strategy(mode).await;
        fell_back(&scene, &conversation, &failures, "trap");
    }
}

#[baton_e2e::test]
async fn a_flood_of_megabyte_log_lines_is_dropped_unread() {
    let (scene, conversation, failures) = Scene::strategy("log-flood").await;
    assert_eq!(
        answered(&scene, &conversation, &failures),
        "logged 20000 lines of 1 MiB"
    );
    // What was kept is the tenant's to read: the call's budget of lines,
    // each cut to the line limit.
    let limits = SandboxLimits::default();
    let log = scene
        .app
        .get("/v1/plugins/hostile-strategy/logs", &scene.hostile)
        .await;
    assert_eq!(log.status, StatusCode::OK, "{log:?}");
    assert_eq!(log.body["name"], "hostile-strategy");
    let lines = log.body["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), limits.log_lines_per_call as usize);
    for line in lines {
        assert_eq!(line["level"], "info");
        assert_eq!(line["message"], "y".repeat(limits.log_line_bytes));
        assert!(line["at_ms"].as_i64().is_some_and(|at| at > 0), "{line}");
    }
    // Another tenant can neither read them nor see the plugin.
    let id = log.body["plugin"].as_str().expect("id");
    let elsewhere = scene
        .app
        .get(&format!("/v1/plugins/{id}/logs"), &scene.bystander)
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND, "{elsewhere:?}");
}

#[baton_e2e::test]
async fn a_workflow_returning_too_many_or_too_large_actions_is_refused() {
    for (mode, expected) in [("many", "100000 actions"), ("large", "a tag")] {
        let scene = Scene::with_fuel(ENOUGH_FUEL).await;
        scene
            .bind(
                plugins::HOSTILE_WORKFLOW,
                Slot::Workflows,
                json!({"mode": mode}),
            )
            .await;
        let (conversation, failures) = scene.attack().await;
        assert_eq!(
            assigned_agent(&conversation),
            Some(scene.hostile_agent.clone())
        );
        assert_eq!(failures.len(), 1, "{mode}: {failures:?}");
        assert_eq!(failures[0]["plugin"], "hostile-workflow");
        assert_eq!(failures[0]["failure"], "invalid-answer");
        let message = failures[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{mode}: {message}");
        // Nothing of the refused list landed.
        let id = conversation["id"].as_str().expect("id");
        let now = scene
            .app
            .get(&format!("/v1/conversations/{id}"), &scene.hostile)
            .await
            .body;
        assert_eq!(now["tags"], json!([]), "{mode}: {now}");
    }
}

#[baton_e2e::test]
async fn a_describe_that_loops_is_refused_and_one_that_sleeps_is_accepted_at_once() {
    let scene = Scene::new().await;
    let spins = scene
        .app
        .upload(&scene.hostile, plugins::DESCRIBE_SPINS)
        .await;
    assert_eq!(spins.status, StatusCode::UNPROCESSABLE_ENTITY, "{spins:?}");
    assert_eq!(spins.body["error"]["code"], "describe_failed");
    let sleeps = scene
        .app
        .upload(&scene.hostile, plugins::DESCRIBE_SLEEPS)
        .await;
    assert_eq!(sleeps.status, StatusCode::CREATED, "{sleeps:?}");
    assert_eq!(sleeps.body["name"], "describe-sleeps");
}

#[baton_e2e::test]
async fn uploads_whose_describe_loops_never_starve_another_tenants_routing() {
    let scene = Scene::new().await;
    // Many tenants upload at once, each more than its share of uploads in
    // validation; meanwhile the bystander's conversations keep arriving.
    let mut uploaders = Vec::new();
    for n in 0..6 {
        uploaders.push(scene.app.tenant(&format!("Uploader {n}")).await);
    }
    let app = &scene.app;
    let uploads = futures_util::future::join_all(
        uploaders
            .iter()
            .flat_map(|key| std::iter::repeat_n(key, 4))
            .map(|key| app.upload(key, plugins::DESCRIBE_SPINS)),
    );
    let texts: Vec<String> = (0..10).map(|i| format!("chat {i}")).collect();
    let conversations = futures_util::future::join_all(
        texts
            .iter()
            .map(|text| app.conversation(&scene.bystander, text)),
    );
    let (uploads, conversations) = tokio::join!(uploads, conversations);
    for conversation in &conversations {
        assert_eq!(
            assigned_agent(conversation),
            Some(scene.bystander_agent.clone()),
            "{conversation}"
        );
    }
    // Every upload was refused: by its describe, or for too many at once.
    let mut busy = 0;
    for upload in &uploads {
        match upload.status {
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(upload.body["error"]["code"], "describe_failed")
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(upload.body["error"]["code"], "too_many_uploads");
                busy += 1;
            }
            other => panic!("unexpected {other}: {upload:?}"),
        }
    }
    assert!(busy > 0, "no tenant was held to its share");
    let failures = scene
        .app
        .get("/v1/plugins/failures", &scene.bystander)
        .await
        .body["items"]
        .clone();
    assert_eq!(failures, json!([]));
}

#[baton_e2e::test]
async fn a_refused_upload_stores_nothing() {
    let scene = Scene::new().await;
    let first = scene.app.upload(&scene.hostile, plugins::PICK_LAST).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    // The same bytes again: the version they were, nothing new stored.
    let again = scene.app.upload(&scene.hostile, plugins::PICK_LAST).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.body["id"], first.body["id"], "{again:?}");
    // Other bytes under the same name and version: a conflict that says
    // to bump the version.
    let mut changed = std::fs::read(plugins::PICK_LAST).expect("component");
    changed.extend(custom_section("note", b"built again"));
    let other = scene
        .app
        .raw(
            reqwest::Method::POST,
            "/v1/plugins",
            &scene.hostile,
            "application/wasm",
            changed,
        )
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{other:?}");
    let message = other.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("pick-last version 0.1.0") && message.contains("bump the version"),
        "{message}"
    );
    // Refused at describe (it panics): no component row is left behind,
    // and the panic's message is in the error.
    let refused = scene
        .app
        .upload(&scene.hostile, plugins::DESCRIBE_FAILS)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("describe always fails"), "{message}");
    let dir = scene.app.stop().await;
    let components = baton_e2e::count_rows(dir.path(), "components").await;
    let plugins_rows = baton_e2e::count_rows(dir.path(), "plugins").await;
    let builtins = baton_host::plugin::defaults::BUILTINS.len();
    // The built-ins' components and the one accepted upload.
    assert_eq!(components, builtins as i64 + 1);
    assert_eq!(plugins_rows, builtins as i64 + 1);
}

/// The server in a process of its own, so its memory can be read, with
/// the directory (and on PostgreSQL the database) it runs on.
struct MeasuredServer {
    process: ServerProcess,
    _dir: tempfile::TempDir,
    /// After `_dir`: the PostgreSQL half's database goes with it.
    _database: baton_e2e::Database,
}

impl MeasuredServer {
    const OPERATOR: &str = "memory-test-operator";

    fn start() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let database = baton_e2e::Database::open_blocking(dir.path());
        Self {
            process: ServerProcess::start(database.url(), Self::OPERATOR, &[]),
            _dir: dir,
            _database: database,
        }
    }

    /// Resident memory now and at its peak, in MiB, from /proc.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid()))
            .expect("the server's /proc status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
                .map(|kb| kb / 1024)
                .unwrap_or_else(|| panic!("no {name} in /proc status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    async fn call(&self, method: reqwest::Method, path: &str, key: &str, body: Body) -> Value {
        let request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.process.base))
            .bearer_auth(key);
        let request = match body {
            Body::Json(json) => request.json(&json),
            Body::Wasm(bytes) => request
                .header("content-type", "application/wasm")
                .body(bytes),
        };
        let response = request.send().await.expect("request");
        let status = response.status();
        let mut body: Value = response.json().await.unwrap_or(Value::Null);
        body["_status"] = json!(status.as_u16());
        body
    }
}

enum Body {
    Json(Value),
    Wasm(Vec<u8>),
}

/// A custom section (id 0: a name and bytes any reader may skip), which
/// changes a component's bytes and nothing it does.
fn custom_section(name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut content = Vec::new();
    leb128(name.len(), &mut content);
    content.extend(name.as_bytes());
    content.extend(payload);
    let mut section = vec![0];
    leb128(content.len(), &mut section);
    section.extend(content);
    section
}

#[baton_e2e::test]
async fn the_servers_memory_stays_bounded_through_the_size_cases() {
    use reqwest::Method;
    let server = MeasuredServer::start();
    let tenant = server
        .call(
            Method::POST,
            "/v1/tenants",
            MeasuredServer::OPERATOR,
            Body::Json(json!({"name": "Hostile"})),
        )
        .await;
    let key = tenant["api_key"].as_str().expect("key").to_owned();
    let agent = server
        .call(
            Method::POST,
            "/v1/agents",
            &key,
            Body::Json(
                json!({"name": "Hal", "email": "hal@example.com", "role": "agent",
                              "capacity": {"chat": 1000, "email": 10, "call": 1}}),
            ),
        )
        .await;
    let agent = agent["id"].as_str().expect("agent").to_owned();
    server
        .call(
            Method::PUT,
            &format!("/v1/agents/{agent}/status"),
            &key,
            Body::Json(json!({"status": "available"})),
        )
        .await;
    let wasm = |path: &str| std::fs::read(path).expect("built");
    let hostile = server
        .call(
            Method::POST,
            "/v1/plugins",
            &key,
            Body::Wasm(wasm(plugins::HOSTILE_STRATEGY)),
        )
        .await;
    assert_eq!(hostile["_status"], 201, "{hostile}");
    let converse = |mode: &'static str| {
        let (server, key, plugin) = (&server, key.clone(), hostile["id"].clone());
        async move {
            let bound = server
                .call(
                    Method::PUT,
                    "/v1/routing/assignment",
                    &key,
                    Body::Json(json!({"plugin": plugin, "config": {"mode": mode}})),
                )
                .await;
            assert_eq!(bound["_status"], 200, "{bound}");
            for _ in 0..10 {
                let conversation = server
                    .call(
                        Method::POST,
                        "/v1/conversations",
                        &key,
                        Body::Json(json!({"channel": "chat", "subject": "x",
                            "contact": {"name": "K", "email": "k@example.com"},
                            "message": "hi"})),
                    )
                    .await;
                assert_eq!(conversation["_status"], 201, "{conversation}");
            }
        }
    };
    // Warm up: every code path once, so what follows measures growth.
    converse("clock").await;
    let (_, before) = server.memory();
    // Each of these cost hundreds of MB, for good, before the host checked
    // sizes first and kept refused uploads out of memory.
    converse("kv-abuse").await;
    converse("log-flood").await;
    converse("huge-reason").await;
    // The same bytes again (the version they are, found before
    // compiling), then a component whose describe panics (refused after).
    for (path, status) in [
        (plugins::HOSTILE_STRATEGY, 200),
        (plugins::DESCRIBE_FAILS, 422),
    ] {
        for _ in 0..100 {
            let answer = server
                .call(Method::POST, "/v1/plugins", &key, Body::Wasm(wasm(path)))
                .await;
            assert_eq!(answer["_status"], status, "{answer}");
        }
    }
    let (now, peak) = server.memory();
    assert!(
        peak - before < 150,
        "the server's peak grew by {} MiB (now {now} MiB, peak {peak} MiB)",
        peak - before
    );
}

/// A tenant with as many requests in flight as its lane allows, and its
/// queue full, gets 429s (with `Retry-After`) for more, while another
/// tenant's requests go through; once its requests are answered it is let
/// in again.
#[baton_e2e::test]
async fn a_tenant_at_its_requests_in_flight_gets_429_and_no_other_tenant_does() {
    let limits = SandboxLimits {
        fuel: u64::MAX / 4,
        timeout: Duration::from_secs(2),
        ..SandboxLimits::default()
    };
    // No queue: a third request is refused at once rather than waiting.
    let admission = AdmissionLimits {
        in_flight: 2,
        queue: 0,
        per_second: None,
    };
    let app = TestApp::spawn_with_admission(limits, admission).await;
    let flood = app.tenant("Flood").await;
    let flood_agent = app.agent(&flood, "Flo", 5).await;
    app.presence(&flood, &flood_agent, "available").await;
    let calm = app.tenant("Calm").await;
    let calm_agent = app.agent(&calm, "Cal", 5).await;
    app.presence(&calm, &calm_agent, "available").await;
    let uploaded = app.upload(&flood, plugins::SPIN_FOREVER).await;
    let id = uploaded.body["id"].as_str().expect("id");
    app.bind_strategy(&flood, id).await;

    let before = app.last_event_id().await;
    let (first, second, (refused, calm_conversation)) = tokio::join!(
        app.conversation(&flood, "one"),
        app.conversation(&flood, "two"),
        async {
            // Both of the flooding tenant's requests are in (their events
            // written), and wait for routing that takes seconds.
            while app.last_event_id().await < before + 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let refused = app
                .client
                .get(format!("{}/v1/conversations", app.base))
                .bearer_auth(&flood)
                .send()
                .await
                .expect("answered");
            let calm_conversation = app.conversation(&calm, "meanwhile").await;
            (refused, calm_conversation)
        }
    );
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.headers()["retry-after"].to_str().expect("ascii"),
        "1"
    );
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 requests in flight")),
        "{body}"
    );
    assert_eq!(
        assigned_agent(&calm_conversation),
        Some(calm_agent),
        "{calm_conversation}"
    );
    // The two slow requests were answered, and their places are free.
    assert!(first["id"].is_string() && second["id"].is_string());
    let listed = app.get("/v1/conversations", &flood).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(2));
}
