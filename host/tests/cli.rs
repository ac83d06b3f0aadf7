//! The plugin developer's path through the real `baton` binary: `plugin
//! new` → `build` → `test` → `upload` → `bind`, and then a conversation on a
//! real server routed by the new plugin.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use baton_host::{App, Settings};
use serde_json::{Value, json};

const OPERATOR: &str = "cli-test-operator";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate is inside the workspace")
        .to_path_buf()
}

/// This checkout's SDK, for `plugin new --sdk`: the tests build plugins
/// against the SDK as it is here, not a release.
fn sdk() -> String {
    workspace()
        .join("sdk")
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

/// `baton plugin new <name> --kind <kind> --dir <dir>` against this
/// checkout's SDK.
fn scaffold(name: &str, kind: &str, dir: &str) -> Output {
    baton(
        &[
            "plugin",
            "new",
            name,
            "--kind",
            kind,
            "--dir",
            dir,
            "--sdk",
            &sdk(),
        ],
        &[],
    )
}

/// Run `baton <args>` with `env`, as a developer would from a shell.
fn baton(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    command.args(args);
    // Settings of the outer build must not leak into the plugin's build.
    for leaked in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
    ] {
        command.env_remove(leaked);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("baton runs")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `cargo` for a scaffolded crate, as its developer runs it: the outer
/// build's settings removed, the shared build directory (see [`build`]).
fn cargo_in(crate_dir: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", workspace().join("target").join("wasm"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    command
}

/// A scaffolded crate's native tests, on the workspace's dependency
/// versions; they pass. Returns what cargo printed.
fn native_tests(crate_dir: &Path) -> (String, String) {
    std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).expect("lock");
    let native = cargo_in(crate_dir)
        .arg("test")
        .output()
        .expect("cargo runs");
    let (out, err) = text(&native);
    assert!(native.status.success(), "{out}{err}");
    (out, err)
}

/// What `baton plugin test` prints when every case of the crate's
/// `events.json` ran and held.
fn all_checked(crate_dir: &Path) -> String {
    let events = std::fs::read_to_string(crate_dir.join("events.json")).expect("events.json");
    let cases = serde_json::from_str::<Value>(&events)
        .expect("json")
        .as_array()
        .map_or(0, Vec::len);
    assert!(cases >= 2, "the scaffold writes cases: {events}");
    format!("{cases} run, {cases} checked")
}

/// `baton plugin test` in a scaffolded crate, with no arguments (the
/// component where `build` put it, and `events.json`); every case passes.
fn test_built(crate_dir: &Path) {
    let target = workspace().join("target").join("wasm");
    let tested = baton(
        &[
            "plugin",
            "test",
            "--dir",
            crate_dir.to_str().expect("utf-8"),
        ],
        &[("CARGO_TARGET_DIR", target.to_str().expect("utf-8"))],
    );
    let (out, err) = text(&tested);
    assert!(tested.status.success(), "{out}{err}");
    assert!(out.contains(&all_checked(crate_dir)), "{out}");
}

/// `baton plugin build` on a scaffolded crate. Its dependencies are pinned
/// to the versions this workspace already builds, and its build directory
/// is shared, so the test neither fetches nor recompiles what CI has.
/// Returns the component's path and what the build printed.
fn build(crate_dir: &Path) -> (String, String) {
    std::fs::copy(workspace().join("Cargo.lock"), crate_dir.join("Cargo.lock")).expect("lock");
    let target = workspace().join("target").join("wasm");
    let built = baton(
        &["plugin", "build", crate_dir.to_str().expect("utf-8")],
        &[("CARGO_TARGET_DIR", target.to_str().expect("utf-8 path"))],
    );
    let (out, err) = text(&built);
    assert!(built.status.success(), "{out}{err}");
    let component = out
        .lines()
        .find_map(|l| l.strip_prefix("built "))
        .expect("the component's path")
        .to_owned();
    (component, out)
}

async fn serve(dir: &Path) -> String {
    let settings = Settings {
        addr: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}", dir.join("baton.db").display()),
        operator_token: Some(OPERATOR.into()),
        limits: Default::default(),
        smtp: None,
        webhooks: Default::default(),
        queue_sweep: Settings::DEFAULT_QUEUE_SWEEP,
        dispatch_lease: Settings::DEFAULT_DISPATCH_LEASE,
        dispatch_concurrency: Settings::DEFAULT_DISPATCH_CONCURRENCY,
        admission: Default::default(),
        shutdown_grace: Settings::DEFAULT_SHUTDOWN_GRACE,
    };
    let app = App::start(&settings, OPERATOR.into())
        .await
        .expect("server starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = app.serve(listener, std::future::pending()).await;
    });
    base
}

async fn call(method: reqwest::Method, url: String, key: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}

/// A new tenant on the server at `base`; its API key.
async fn tenant(base: &str) -> String {
    let tenant = call(
        reqwest::Method::POST,
        format!("{base}/v1/tenants"),
        OPERATOR,
        json!({"name": "Acme"}),
    )
    .await;
    tenant["api_key"].as_str().expect("key").to_owned()
}

/// An agent made from `body`, then available; their id.
async fn available_agent(base: &str, key: &str, body: Value) -> String {
    let agent = call(
        reqwest::Method::POST,
        format!("{base}/v1/agents"),
        key,
        body,
    )
    .await;
    let id = agent["id"].as_str().expect("id").to_owned();
    call(
        reqwest::Method::PUT,
        format!("{base}/v1/agents/{id}/status"),
        key,
        json!({"status": "available"}),
    )
    .await;
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_plugin_goes_from_nothing_to_routing_conversations() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().to_str().expect("utf-8 path");

    let created = scaffold("fewest-first", "assignment", dir);
    let (out, err) = text(&created);
    assert!(created.status.success(), "{out}{err}");
    let crate_dir = work.path().join("fewest-first");
    assert!(crate_dir.join("events.json").is_file());
    let again = scaffold("fewest-first", "assignment", dir);
    assert!(!again.status.success());
    assert!(text(&again).1.contains("already exists"));

    let (component, out) = build(&crate_dir);
    assert!(
        out.contains("fewest-first@0.1.0 (assignment-strategy, built against baton:plugin@0.4.0"),
        "{out}"
    );

    let events = crate_dir.join("events.json");
    let tested = baton(
        &[
            "plugin",
            "test",
            &component,
            "--events",
            events.to_str().expect("utf-8"),
        ],
        &[],
    );
    let (out, err) = text(&tested);
    assert!(tested.status.success(), "{out}{err}");
    assert!(out.contains(&all_checked(&crate_dir)), "{out}");
    assert!(
        out.contains("fuel: ") && out.contains("reason: fewest-first:"),
        "{out}"
    );

    let server_dir = tempfile::tempdir().expect("temp dir");
    let base = serve(server_dir.path()).await;
    let key = tenant(&base).await;
    for name in ["Ana", "Ben"] {
        available_agent(
            &base,
            &key,
            json!({"name": name, "email": format!("{name}@example.com"), "capacity": {"chat": 3}}),
        )
        .await;
    }
    let server = [
        ("BATON_URL", base.as_str()),
        ("BATON_API_KEY", key.as_str()),
    ];

    let refused = baton(
        &["plugin", "upload", &component],
        &[("BATON_URL", base.as_str()), ("BATON_API_KEY", "wrong")],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).1.contains("BATON_API_KEY"),
        "{:?}",
        text(&refused)
    );

    let uploaded = baton(&["plugin", "upload", &component], &server);
    let (out, err) = text(&uploaded);
    assert!(uploaded.status.success(), "{out}{err}");
    assert!(out.starts_with("uploaded fewest-first@0.1.0"), "{out}");
    assert!(out.contains("contract 0.4.0"), "{out}");
    // The same bytes again are the version they were.
    let again = baton(&["plugin", "upload", &component], &server);
    let (again, err) = text(&again);
    assert!(
        again.starts_with("already uploaded: fewest-first@0.1.0"),
        "{again}{err}"
    );
    let id_in = |line: &str| {
        line.lines()
            .next()
            .and_then(|l| l.split(" as ").nth(1))
            .map(str::to_owned)
    };
    assert_eq!(id_in(&again), id_in(&out), "{again}");
    let bound = baton(
        &[
            "plugin",
            "bind",
            "fewest-first",
            "--slot",
            "assignment",
            "--config",
            r#"{"max_open": 1}"#,
        ],
        &server,
    );
    let (out, err) = text(&bound);
    assert!(bound.status.success(), "{out}{err}");

    // Ana and Ben get one chat each; with max_open 1 the third waits,
    // though both still have room under their capacity of 3.
    let mut routed = Vec::new();
    for n in 0..3 {
        routed.push(
            call(
                reqwest::Method::POST,
                format!("{base}/v1/conversations"),
                &key,
                json!({"channel": "chat", "message": format!("question {n}")}),
            )
            .await,
        );
    }
    let last = |c: &Value| {
        c["history"]
            .as_array()
            .and_then(|h| h.last())
            .cloned()
            .unwrap_or_default()
    };
    for first in &routed[..2] {
        assert_eq!(first["routing"], "assigned", "{first}");
        assert_eq!(last(first)["plugin"], "fewest-first", "{first}");
    }
    assert_ne!(routed[0]["assignee"], routed[1]["assignee"]);
    assert_eq!(routed[2]["routing"], "queued", "{}", routed[2]);
    // The scaffold logs nothing; `plugin logs` says so rather than failing.
    let logs = baton(&["plugin", "logs", "fewest-first"], &server);
    let (out, err) = text(&logs);
    assert!(logs.status.success(), "{out}{err}");
    assert!(
        err.contains("fewest-first@0.1.0 has logged nothing"),
        "{out}{err}"
    );
    assert!(
        last(&routed[2])["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("nobody can take"),
        "{}",
        routed[2]
    );

    // Record the waiting conversation as the server sees it, and replay it
    // against the component. Recorded for every kind, the cases carry no
    // config: without max_open, someone would take it.
    let waiting = routed[2]["id"].as_str().expect("id");
    let record = |query: &'static str| {
        let url = format!("{base}/v1/conversations/{waiting}/cases{query}");
        let key = key.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(&key)
                .send()
                .await
                .expect("request")
                .text()
                .await
                .expect("body")
        }
    };
    let file = work.path().join("recorded.json");
    std::fs::write(&file, record("").await).expect("write");
    let replay = |file: &Path, extra: &[&str]| {
        let mut args = vec![
            "plugin",
            "test",
            component.as_str(),
            "--events",
            file.to_str().expect("utf-8"),
        ];
        args.extend(extra);
        let replayed = baton(&args, &[]);
        let (out, err) = text(&replayed);
        assert!(replayed.status.success(), "{out}{err}");
        out
    };
    let out = replay(&file, &[]);
    assert!(
        out.contains("skip workflow:") && out.contains("1 run, 0 checked"),
        "{out}"
    );
    assert!(out.contains(r#"answer: {"assign""#), "{out}");
    // Recorded for the plugin, the case is its kind's alone and carries
    // the config it is bound with: it waits, as it did on the server.
    let bound = work.path().join("bound.json");
    std::fs::write(&bound, record("?plugin=fewest-first").await).expect("write");
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(&bound).expect("read")).expect("a case file");
    assert_eq!(cases.as_array().map(Vec::len), Some(1), "{cases}");
    assert_eq!(cases[0]["config"], json!({"max_open": 1}), "{cases}");
    let out = replay(&bound, &[]);
    assert!(out.contains(r#"answer: {"queue""#), "{out}");
    // `--config` replaces each case's own.
    let out = replay(&bound, &["--config", r#"{"max_open": 5}"#]);
    assert!(out.contains(r#"answer: {"assign""#), "{out}");

    // In the crate, `plugin test` needs no paths: the component is where
    // `plugin build` put it, under CARGO_TARGET_DIR when that is set.
    let crate_path = crate_dir.to_str().expect("utf-8");
    let target = workspace().join("target").join("wasm");
    let found = baton(
        &["plugin", "test", "--dir", crate_path],
        &[("CARGO_TARGET_DIR", target.to_str().expect("utf-8"))],
    );
    let (out, err) = text(&found);
    assert!(found.status.success(), "{out}{err}");
    assert!(out.contains(&all_checked(&crate_dir)), "{out}");
    let unbuilt = baton(&["plugin", "test", "--dir", crate_path], &[]);
    let (out, err) = text(&unbuilt);
    assert!(!unbuilt.status.success(), "{out}{err}");
    assert!(
        err.contains("is not built yet: run `baton plugin build` first")
            && err.contains(&crate_dir.join("target").display().to_string()),
        "{err}"
    );

    // The rest of the loop: list, roll back, delete.
    let id = text(&uploaded)
        .0
        .lines()
        .find_map(|l| l.split(" as ").nth(1))
        .expect("the upload's id")
        .to_owned();
    let listed = baton(&["plugin", "list"], &server);
    let (out, err) = text(&listed);
    assert!(listed.status.success(), "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("{id} listed: {out}"));
    assert!(
        line.contains("fewest-first@0.1.0") && line.ends_with("uploaded"),
        "{line}"
    );
    assert!(out.contains("built-in"), "{out}");
    let in_use = baton(&["plugin", "delete", &id], &server);
    let (out, err) = text(&in_use);
    assert!(!in_use.status.success(), "{out}{err}");
    assert!(err.contains("409") && err.contains("binding"), "{err}");
    let assignment = baton(
        &["plugin", "unbind", "fewest-first", "--slot", "assignment"],
        &server,
    );
    assert_eq!(assignment.status.code(), Some(2), "{:?}", text(&assignment));
    assert!(text(&assignment).1.contains("rollback assignment"));
    let not_bound = baton(
        &["plugin", "unbind", "fewest-first", "--slot", "workflows"],
        &server,
    );
    assert!(!not_bound.status.success());
    assert!(text(&not_bound).1.contains("is not bound to workflows"));
    let rolled = baton(&["plugin", "rollback", "assignment"], &server);
    let (out, err) = text(&rolled);
    assert!(rolled.status.success(), "{out}{err}");
    assert!(!out.contains(&id), "the upload is no longer bound: {out}");
    let deleted = baton(&["plugin", "delete", &id], &server);
    let (out, err) = text(&deleted);
    assert!(deleted.status.success(), "{out}{err}");
    let listed = baton(&["plugin", "list"], &server);
    assert!(!text(&listed).0.contains(&id), "{:?}", text(&listed));
}

/// A rule condition from nothing: scaffolded, its native tests and case
/// file passing, built, uploaded, and named by an assignment rule (the
/// README's example: the condition plugin, a team target, a method).
#[tokio::test(flavor = "multi_thread")]
async fn a_condition_plugin_is_scaffolded_tested_and_named_by_a_rule() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().to_str().expect("utf-8 path");
    let created = scaffold("vip-domains", "condition", dir);
    assert!(created.status.success(), "{:?}", text(&created));
    let crate_dir = work.path().join("vip-domains");

    // Its native tests, events.json among them, as a developer runs them.
    let (out, err) = native_tests(&crate_dir);
    assert!(out.contains("test result: ok. 2 passed"), "{out}{err}");

    let (component, out) = build(&crate_dir);
    assert!(out.contains("vip-domains@0.1.0 (rule-condition"), "{out}");
    test_built(&crate_dir);

    let server_dir = tempfile::tempdir().expect("temp dir");
    let base = serve(server_dir.path()).await;
    let key = tenant(&base).await;
    let server = [
        ("BATON_URL", base.as_str()),
        ("BATON_API_KEY", key.as_str()),
    ];
    let uploaded = baton(&["plugin", "upload", &component], &server);
    let (out, err) = text(&uploaded);
    assert!(uploaded.status.success(), "{out}{err}");
    assert!(
        out.contains("next: name it in an assignment rule's conditions"),
        "{out}"
    );

    let team = call(
        reqwest::Method::POST,
        format!("{base}/v1/teams"),
        &key,
        json!({"name": "Key accounts"}),
    )
    .await;
    let team = team["id"].as_str().expect("team").to_owned();
    let mut agents = Vec::new();
    for (name, teams) in [("Ana", json!([])), ("Kai", json!([team]))] {
        let body = json!({"name": name, "email": format!("{name}@example.com"), "teams": teams});
        agents.push(available_agent(&base, &key, body).await);
    }
    call(
        reqwest::Method::POST,
        format!("{base}/v1/rules"),
        &key,
        json!({
            "name": "Key accounts first",
            "conditions": {
                "match": "all",
                "items": [{"field": "channel", "op": "in", "value": ["chat", "email"]}],
                "plugins": [{"plugin": "vip-domains", "config": {"domains": ["bigcorp.example"]}}]
            },
            "target": {"kind": "members", "teams": [team]},
            "method": {"plugin": "fewest-handled"}
        }),
    )
    .await;
    for _ in 0..3 {
        let vip = call(
            reqwest::Method::POST,
            format!("{base}/v1/conversations"),
            &key,
            json!({"channel": "chat", "contact": {"email": "ceo@BigCorp.example"}, "message": "hello"}),
        )
        .await;
        assert_eq!(vip["assignee"]["id"], agents[1].as_str(), "{vip}");
        assert_eq!(vip["history"][0]["rule"], "Key accounts first", "{vip}");
        assert_eq!(vip["history"][0]["plugin"], "fewest-handled", "{vip}");
    }
    let other = call(
        reqwest::Method::POST,
        format!("{base}/v1/conversations"),
        &key,
        json!({"channel": "chat", "contact": {"email": "kim@example.com"}, "message": "hello"}),
    )
    .await;
    assert!(other["history"][0]["rule"].is_null(), "{other}");
}

#[test]
fn mistakes_are_explained_with_what_to_do_next() {
    let cases: [(&[&str], &str); 5] = [
        (&["plugin", "new", "x"], "--kind <KIND>"),
        (
            &["plugin", "new", "x", "--kind", "robot"],
            "possible values: assignment, handoff, workflow",
        ),
        (&["plugin", "build", "/nonexistent"], "baton plugin new"),
        (
            &["plugin", "test", "missing.wasm", "--events", "missing.json"],
            "baton plugin new",
        ),
        (&["plugin", "upload", "x.wasm"], "BATON_API_KEY"),
    ];
    for (args, hint) in cases {
        let output = baton(args, &[("BATON_API_KEY", "")]);
        let (out, err) = text(&output);
        assert!(!output.status.success(), "{args:?}");
        assert!(err.contains(hint), "{args:?}: {out}{err}");
    }
}

/// A plugin that sleeps in `describe` and `decide` and opens a UDP socket:
/// `plugin build` and `plugin test` report what it did, never panic.
#[test]
fn a_plugin_that_sleeps_or_opens_a_socket_is_run_without_a_panic() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().to_str().expect("utf-8 path");
    let created = scaffold("sleepy", "assignment", dir);
    assert!(created.status.success(), "{:?}", text(&created));
    let crate_dir = work.path().join("sleepy");
    std::fs::write(
        crate_dir.join("src").join("lib.rs"),
        r#"
use std::time::Duration;
use baton_sdk::{AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, PluginError, PluginKind};

struct Sleepy;

impl AssignmentStrategy for Sleepy {
    fn describe() -> Manifest {
        std::thread::sleep(Duration::MAX);
        Manifest::new("sleepy", "0.1.0", PluginKind::AssignmentStrategy)
    }

    fn decide(_request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        std::thread::sleep(Duration::from_secs(3600));
        let udp = std::net::UdpSocket::bind("0.0.0.0:0");
        Ok(AssignmentDecision::Queue(format!("udp bound: {}", udp.is_ok())))
    }
}

baton_sdk::export_assignment_strategy!(Sleepy);
"#,
    )
    .expect("write the plugin");
    let (component, _) = build(&crate_dir);
    let events = crate_dir.join("events.json");
    let tested = baton(
        &[
            "plugin",
            "test",
            &component,
            "--events",
            events.to_str().expect("utf-8"),
        ],
        &[],
    );
    let (out, err) = text(&tested);
    assert!(!err.contains("panicked"), "{out}{err}");
    // The sleep returned at once and the sandbox refused the socket.
    assert!(out.contains("reason: udp bound: false"), "{out}{err}");
}

/// `--help` and `--version` answer and start nothing; a bad setting is
/// refused by its flag and its variable, before anything starts.
#[test]
fn the_command_line_explains_itself_and_starts_nothing() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
        command.args(args).current_dir(cwd.path());
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().expect("baton runs")
    };

    let version = run(&["--version"], &[]);
    assert!(version.status.success());
    assert_eq!(
        text(&version).0.trim(),
        format!("baton {}", env!("CARGO_PKG_VERSION"))
    );

    let help = run(&["serve", "--help"], &[]);
    assert!(help.status.success());
    let (out, _) = text(&help);
    // Every variable the server reads is documented with its flag.
    let read = std::cell::RefCell::new(Vec::new());
    Settings::from_env(|name| {
        read.borrow_mut().push(name.to_owned());
        None
    })
    .expect("the defaults are valid");
    for name in read.into_inner() {
        assert!(
            out.contains(&format!("[env: {name}")),
            "{name} missing:\n{out}"
        );
    }
    assert!(out.contains("--queue-sweep-secs"), "{out}");
    assert!(out.contains("[default: sqlite://baton.db]"), "{out}");
    // Nothing started: no database made in the working directory.
    assert_eq!(
        std::fs::read_dir(cwd.path()).expect("cwd").count(),
        0,
        "serve --help left files behind"
    );

    for args in [
        &["--help"][..],
        &["plugin", "--help"],
        &["plugin", "new", "--help"],
    ] {
        let output = run(args, &[]);
        assert!(output.status.success(), "{args:?}");
        assert!(text(&output).0.contains("Usage: baton"), "{args:?}");
    }

    for (args, env) in [
        (&["serve", "--queue-sweep-secs", "0"][..], &[][..]),
        (&["serve"][..], &[("BATON_QUEUE_SWEEP_SECS", "0")][..]),
    ] {
        let refused = run(args, env);
        assert_eq!(refused.status.code(), Some(2), "{args:?} {env:?}");
        let (_, err) = text(&refused);
        assert!(
            err.contains("--queue-sweep-secs (BATON_QUEUE_SWEEP_SECS): must be at least 1"),
            "{err}"
        );
    }
    assert_eq!(run(&[], &[]).status.code(), Some(2));

    // A settings file gives what no flag or variable does; the variable
    // wins over it, and a key that is no setting is refused by name.
    let settings = tempfile::tempdir().expect("temp dir");
    let file = settings.path().join("baton.toml");
    std::fs::write(&file, "dispatch_concurrency = 4\n").expect("written");
    let file = file.to_str().expect("utf-8");
    let refused = run(
        &["serve", "--config", file],
        &[("BATON_DISPATCH_CONCURRENCY", "0")],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused)
            .1
            .contains("--dispatch-concurrency (BATON_DISPATCH_CONCURRENCY)"),
        "{:?}",
        text(&refused)
    );
    std::fs::write(file, "dispatch_concurency = 4\n").expect("written");
    let refused = run(&["serve"], &[("BATON_CONFIG", file)]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused)
            .1
            .contains(r#"unknown setting "dispatch_concurency""#),
        "{:?}",
        text(&refused)
    );
    assert_eq!(
        std::fs::read_dir(cwd.path()).expect("cwd").count(),
        0,
        "a refused start left files behind"
    );
}

/// `baton serve` as an orchestrator runs it: ready once started, its log
/// in JSON lines carrying each request's id, and on SIGTERM it stops and
/// exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn baton_serve_is_ready_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A free port, chosen here so the test knows where to look.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    // Where to listen and what database, from a settings file.
    let settings = dir.path().join("baton.toml");
    std::fs::write(
        &settings,
        format!(
            "addr = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{}\"\n",
            dir.path().join("baton.db").display()
        ),
    )
    .expect("settings written");
    let mut server = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("serve")
        .arg("--config")
        .arg(&settings)
        .env_remove("BATON_ADDR")
        .env_remove("BATON_DATABASE_URL")
        .env("BATON_OPERATOR_TOKEN", OPERATOR)
        .env("BATON_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("log")).expect("log file"))
        .spawn()
        .expect("baton serve starts");
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let ready = loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            break response;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "baton serve never listened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["checks"]["dispatcher"], "running", "{body}");
    let traced = client
        .get(format!("{base}/v1/agents"))
        .header("x-request-id", "cli-test-request-7")
        .send()
        .await
        .expect("answered");
    assert_eq!(traced.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(traced.headers()["x-request-id"], "cli-test-request-7");

    let sent = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let stopping = std::time::Instant::now();
    let exit = loop {
        if let Some(exit) = server.try_wait().expect("status") {
            break exit;
        }
        if stopping.elapsed() > std::time::Duration::from_secs(30) {
            let _ = server.kill();
            panic!("baton serve did not stop on SIGTERM");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "baton serve exited with {exit}");
    assert!(
        dir.path().join("baton.db").exists(),
        "the settings file's database was not used"
    );
    // Every line of the log is a JSON object; the request's lines carry
    // its id; the stop is logged.
    let log = std::fs::read_to_string(dir.path().join("log")).expect("log");
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|line| line["span"]["request_id"] == "cli-test-request-7"
                && line["span"]["path"] == "/v1/agents"),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line["fields"]["message"] == "stopped"),
        "{log}"
    );
}

/// The SDK as a plugin developer outside this repository gets it:
/// `cargo publish --dry-run` packages it (the WIT inside) and builds the
/// package on its own; unpacked outside the workspace, it is what a plugin
/// made with `baton plugin new` (which writes `baton-sdk = "<version>"`)
/// builds against, through `[patch.crates-io]` as if it came from
/// crates.io: the plugin's native tests, `plugin build` and `plugin test`
/// all pass.
#[test]
fn a_plugin_builds_against_the_packaged_sdk_outside_the_workspace() {
    let work = tempfile::tempdir().expect("temp dir");
    let version = env!("CARGO_PKG_VERSION");
    let target = workspace().join("target").join("wasm");
    // Packaged, and the package built on its own (cargo's verification).
    let packaged = cargo_in(&workspace())
        .args(["package", "--allow-dirty", "-p", "baton-sdk"])
        .output()
        .expect("cargo runs");
    let (out, err) = text(&packaged);
    assert!(packaged.status.success(), "{out}{err}");
    assert!(err.contains("Verifying baton-sdk"), "{err}");
    let published = cargo_in(&workspace())
        .args([
            "publish",
            "--dry-run",
            "--no-verify",
            "--allow-dirty",
            "-p",
            "baton-sdk",
        ])
        .output()
        .expect("cargo runs");
    let (out, err) = text(&published);
    assert!(published.status.success(), "{out}{err}");
    assert!(err.contains("aborting upload due to dry run"), "{err}");

    let unpacked = work.path().join("registry");
    std::fs::create_dir_all(&unpacked).expect("dir");
    let packaged = target
        .join("package")
        .join(format!("baton-sdk-{version}.crate"));
    let untar = Command::new("tar")
        .arg("xzf")
        .arg(&packaged)
        .arg("-C")
        .arg(&unpacked)
        .output()
        .expect("tar runs");
    assert!(untar.status.success(), "{:?}", text(&untar));
    let sdk = unpacked.join(format!("baton-sdk-{version}"));
    for wit in ["host.wit", "types.wit", "worlds.wit"] {
        assert!(
            sdk.join("wit").join(wit).is_file(),
            "{wit} ships in the crate"
        );
    }
    // Its documentation builds from the package alone.
    let docs = cargo_in(&sdk)
        .args(["doc", "--no-deps"])
        .output()
        .expect("cargo runs");
    let (out, err) = text(&docs);
    assert!(docs.status.success(), "{out}{err}");

    let plugins = work.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("dir");
    let created = baton(
        &[
            "plugin",
            "new",
            "outside",
            "--kind",
            "assignment",
            "--dir",
            plugins.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(created.status.success(), "{:?}", text(&created));
    let crate_dir = plugins.join("outside");
    let manifest = crate_dir.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&manifest).expect("manifest");
    assert!(
        toml.contains(&format!("baton-sdk = \"{version}\"")),
        "{toml}"
    );
    toml.push_str(&format!(
        "\n[patch.crates-io]\nbaton-sdk = {{ path = {:?} }}\n",
        sdk.to_str().expect("utf-8")
    ));
    std::fs::write(&manifest, toml).expect("manifest");

    let (out, err) = native_tests(&crate_dir);
    assert!(out.contains("test result: ok."), "{out}{err}");
    // The SDK compiled is the unpacked package, not the checkout.
    assert!(
        err.contains(&format!(
            "Compiling baton-sdk v{version} ({})",
            sdk.display()
        )),
        "{err}"
    );

    let (_, out) = build(&crate_dir);
    assert!(out.contains("outside@0.1.0 (assignment-strategy"), "{out}");
    test_built(&crate_dir);
}
