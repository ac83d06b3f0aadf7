//! Test plugin: an assignment strategy that misbehaves in the way its
//! config's `mode` names, as a hostile tenant's code would. Each mode is one
//! entry of the sandbox's hostile catalogue; the end-to-end tests bind it
//! with each mode and check what the host does.
//!
//! Probes of what the sandbox should deny (files, network, environment)
//! return an error naming what was refused, so the host records a failure
//! and falls back; had a probe got through, the answer would assign with a
//! reason starting `LEAK`, which the tests look for.

use std::time::Duration;

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, OfferTo,
    PluginError, PluginKind, host,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
struct Config {
    mode: String,
    /// The agent id `assign-agent` answers with.
    #[serde(default)]
    agent: String,
}

struct Hostile;

fn first(request: &AssignmentRequest) -> Result<String, PluginError> {
    request
        .candidates
        .first()
        .map(|c| c.id.to_owned())
        .ok_or_else(|| PluginError::Other("no candidates".to_owned()))
}

fn assign(agent: String, reason: String) -> Result<AssignmentDecision, PluginError> {
    Ok(AssignmentDecision::Assign(AssignTo { agent, reason }))
}

fn refused(what: &str, error: impl std::fmt::Debug) -> Result<AssignmentDecision, PluginError> {
    Err(PluginError::Other(format!(
        "probe refused: {what}: {error:?}"
    )))
}

/// Recursion the optimiser cannot turn into a loop.
fn deep(n: u64) -> u64 {
    if core::hint::black_box(n) == u64::MAX {
        return 0;
    }
    deep(n + 1).wrapping_add(core::hint::black_box(1))
}

impl AssignmentStrategy for Hostile {
    fn describe() -> Manifest {
        Manifest::new("hostile-strategy", "0.1.0", PluginKind::AssignmentStrategy)
            .description("Test plugin: misbehaves as its config's mode says.")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "mode": {"type": "string"},
                    "agent": {"type": "string"},
                },
                "required": ["mode"],
                "additionalProperties": false,
            }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let config: Config = host::config()?;
        match config.mode.as_str() {
            "recursion" => assign(first(&request)?, format!("depth {}", deep(0))),
            "huge-reason" => assign(first(&request)?, "x".repeat(10 << 20)),
            "many-offers" => Ok(AssignmentDecision::Offer(OfferTo {
                agents: vec![first(&request)?; 100_000],
                reason: "offered to everyone, many times".to_owned(),
            })),
            "assign-agent" => assign(config.agent, "the agent the config names".to_owned()),
            "kv-abuse" => {
                // Keys far over the key limit, to delete, read and write.
                let huge_key = "k".repeat(1 << 20);
                for _ in 0..400 {
                    host::kv::delete(&huge_key);
                }
                let read = host::kv::get(&huge_key).is_some();
                let long_key = host::kv::set(&huge_key, b"v").is_err();
                // Then fill the quota with small values until it refuses.
                let value = vec![7u8; 1024];
                let mut stored = 0;
                while host::kv::set(&format!("fill-{stored}"), &value).is_ok() {
                    stored += 1;
                    if stored > 10_000 {
                        break;
                    }
                }
                assign(
                    first(&request)?,
                    format!("kv: read-huge {read} refused-huge {long_key} stored {stored}"),
                )
            }
            "file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => assign(first(&request)?, format!("LEAK file {}", text.len())),
                Err(error) => refused("file", error),
            },
            "network" => {
                if let Ok(stream) = std::net::TcpStream::connect("127.0.0.1:5432") {
                    return assign(first(&request)?, format!("LEAK tcp {stream:?}"));
                }
                match std::net::UdpSocket::bind("0.0.0.0:0") {
                    Ok(socket) => assign(first(&request)?, format!("LEAK udp {socket:?}")),
                    Err(error) => refused("network", error),
                }
            }
            "env" => {
                let vars = std::env::vars().count();
                let args = std::env::args().count();
                // WASI's libc answers "/" without asking the host; any
                // other directory would be the host's.
                let cwd = std::env::current_dir()
                    .ok()
                    .filter(|dir| dir != std::path::Path::new("/"));
                if vars > 0 || args > 0 || cwd.is_some() {
                    assign(
                        first(&request)?,
                        format!("LEAK env vars {vars} args {args} cwd {cwd:?}"),
                    )
                } else {
                    refused("env", "no variables, arguments or directory")
                }
            }
            "clock" => {
                // Both clocks are the event's: sleeping moves neither.
                let wall = std::time::SystemTime::now();
                let start = std::time::Instant::now();
                std::thread::sleep(Duration::from_secs(3));
                let slept = start.elapsed();
                let wall_ms = wall
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(-1);
                assign(
                    first(&request)?,
                    format!(
                        "clock: wall-is-event {} slept-ms {}",
                        wall_ms == host::now_ms(),
                        slept.as_millis()
                    ),
                )
            }
            "sleep-forever" => {
                std::thread::sleep(Duration::MAX);
                assign(first(&request)?, "woke up".to_owned())
            }
            "exit" => std::process::exit(3),
            "abort" => std::process::abort(),
            "log-flood" => {
                let line = "y".repeat(1 << 20);
                for _ in 0..20_000 {
                    host::info(&line);
                }
                assign(first(&request)?, "logged 20000 lines of 1 MiB".to_owned())
            }
            other => Err(PluginError::InvalidConfig(format!("unknown mode {other}"))),
        }
    }
}

baton_sdk::export_assignment_strategy!(Hostile);
