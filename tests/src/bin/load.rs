//! A load run against the real server over HTTP: create a tenant and
//! available agents, then create chat conversations with a fixed number of
//! requests in flight, and report throughput and time to assignment.
//!
//! With `--server URL` (repeatable) it drives running `baton serve`
//! processes (the conversations go round-robin over them, the tenant and
//! agents are made through the first); without, it starts one server
//! in-process on a fresh SQLite file (loopback, random port).
//!
//! The server answers `POST /v1/conversations` only after routing has run,
//! so the latency of that POST is the time to assignment, and its reply
//! already names the assignee.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use baton_e2e::{OPERATOR_TOKEN, TestApp, assigned_agent};
use baton_host::plugin::SandboxLimits;
use futures_util::StreamExt;
use serde_json::{Value, json};

const USAGE: &str = "\
usage: baton-load [--conversations N] [--concurrency N] [--agents N] [--max-seconds N] [--strategy NAME]
                  [--rate N] [--tenants N] [--noisy N] [--flood N] [--server URL]...
                  [--operator-token TOKEN]

  --conversations N  chat conversations to create (default 10000)
  --concurrency N    requests in flight at once (default 32)
  --rate N           send the counted conversations at N a second instead,
                     whatever the answers (an open loop, as customers
                     arrive: --concurrency is then not used); time to
                     assignment counts from when each was due, so a late
                     send is not hidden (default: --concurrency instead)
  --agents N         available agents per tenant, chat capacity 1000 each
                     (default 50)
  --tenants N        tenants the conversations are spread over (default 1)
  --noisy N          add a noisy neighbour: one more tenant whose strategy
                     (the test plugin spin-forever) spends its whole budget
                     on every call, with N conversations of its own in
                     flight throughout the run; they are not counted
                     (default 0: none)
  --flood N          add a flooding neighbour: one more tenant, set up like
                     the measured ones, with N requests creating
                     conversations in flight throughout the run, each sent
                     as soon as the last is answered (a refusal, 429,
                     included); they are not counted (default 0: none)
  --max-seconds N    abort if the run takes longer than this (default 600)
  --strategy NAME    bind this built-in assignment strategy first
                     (default: the tenant's default, round-robin)
  --server URL       a running server to drive, e.g. http://127.0.0.1:8080;
                     repeat for several processes on one database (default:
                     start one in this process on a fresh SQLite file)
  --operator-token T the servers' operator token (default: the environment's
                     BATON_OPERATOR_TOKEN)

  RUST_LOG, if set, logs the server as it runs (RUST_LOG=sqlx::query=debug
  shows every SQL statement).";

/// The most chat conversations one agent may hold (the server's cap).
const CAPACITY: u32 = 1_000;

/// Tenants set up at once.
const SETUP_AT_ONCE: usize = 8;

/// How often a progress line goes to stderr during a long run.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

struct Options {
    conversations: usize,
    concurrency: usize,
    /// Counted conversations a second, sent whatever the answers.
    rate: Option<u64>,
    agents: usize,
    max_seconds: u64,
    strategy: Option<String>,
    tenants: usize,
    noisy: usize,
    flood: usize,
    servers: Vec<String>,
    operator_token: Option<String>,
}

/// Parse `--flag value` pairs by hand, naming the flag that is wrong.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        conversations: 10_000,
        concurrency: 32,
        rate: None,
        agents: 50,
        max_seconds: 600,
        strategy: None,
        tenants: 1,
        noisy: 0,
        flood: 0,
        servers: Vec::new(),
        operator_token: std::env::var("BATON_OPERATOR_TOKEN").ok(),
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag} needs a positive whole number, not {value:?}"))
        };
        match flag.as_str() {
            "--conversations" => options.conversations = number()? as usize,
            "--concurrency" => options.concurrency = number()? as usize,
            "--rate" => options.rate = Some(number()?),
            "--agents" => options.agents = number()? as usize,
            "--tenants" => options.tenants = number()? as usize,
            "--noisy" => options.noisy = number()? as usize,
            "--flood" => options.flood = number()? as usize,
            "--max-seconds" => options.max_seconds = number()?,
            "--strategy" => options.strategy = Some(value),
            "--server" => options.servers.push(value.trim_end_matches('/').to_owned()),
            "--operator-token" => options.operator_token = Some(value),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if options.conversations > options.tenants * options.agents * CAPACITY as usize {
        return Err(format!(
            "{} conversations do not fit in {} agents of capacity {CAPACITY}; add --agents",
            options.conversations,
            options.tenants * options.agents
        ));
    }
    Ok(options)
}

/// What one POST gave.
struct Sample {
    latency: Duration,
    outcome: Outcome,
}

enum Outcome {
    Assigned,
    /// Created, but the reply names no agent (queued, or a bot).
    Unassigned,
    /// Refused with 429: the tenant's lane was full.
    Refused,
    /// Not created: the status, or the transport error.
    Failed(String),
}

/// A setup request that must succeed; its JSON reply.
async fn call(request: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
    let response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{what}: {status} {body}"))
    }
}

/// Tenant number `tenant` with `--agents` available agents (and
/// `--strategy` bound), made through `base`; its API key.
async fn setup(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    tenant: usize,
    options: &Options,
) -> Result<String, String> {
    let tenant = call(
        client
            .post(format!("{base}/v1/tenants"))
            .bearer_auth(token)
            .json(&json!({"name": format!("Load Test {tenant}")})),
        "create the tenant",
    )
    .await?;
    let key = tenant["api_key"]
        .as_str()
        .ok_or("the tenant has no api_key")?
        .to_owned();
    for i in 0..options.agents {
        let agent = call(
            client
                .post(format!("{base}/v1/agents"))
                .bearer_auth(&key)
                .json(&json!({
                    "name": format!("Agent{i:04}"),
                    "email": format!("agent{i:04}@example.com"),
                    "role": "agent",
                    "capacity": {"chat": CAPACITY, "email": 10, "call": 1}
                })),
            "create an agent",
        )
        .await?;
        let id = agent["id"].as_str().ok_or("the agent has no id")?;
        call(
            client
                .put(format!("{base}/v1/agents/{id}/status"))
                .bearer_auth(&key)
                .json(&json!({"status": "available"})),
            "make an agent available",
        )
        .await?;
    }
    if let Some(strategy) = &options.strategy {
        bind_strategy(client, base, &key, strategy).await?;
    }
    Ok(key)
}

/// Bind `plugin` (a built-in name or an uploaded plugin's id) as the
/// tenant's assignment strategy.
async fn bind_strategy(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    plugin: &str,
) -> Result<(), String> {
    call(
        client
            .put(format!("{base}/v1/routing/assignment"))
            .bearer_auth(key)
            .json(&json!({"plugin": plugin})),
        &format!("bind {plugin}"),
    )
    .await
    .map(drop)
}

/// The noisy neighbour (`--noisy`): a tenant like the others, with the
/// spin-forever test plugin uploaded and bound as its strategy; its key.
async fn setup_noisy(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    options: &Options,
) -> Result<String, String> {
    let key = setup(client, base, token, options.tenants, options).await?;
    let component = std::fs::read(baton_e2e::plugins::SPIN_FOREVER)
        .map_err(|e| format!("read {}: {e}", baton_e2e::plugins::SPIN_FOREVER))?;
    let plugin = call(
        client
            .post(format!("{base}/v1/plugins"))
            .bearer_auth(&key)
            .header("content-type", "application/wasm")
            .body(component),
        "upload spin-forever",
    )
    .await?;
    let id = plugin["id"].as_str().ok_or("the plugin has no id")?;
    bind_strategy(client, base, &key, id).await?;
    Ok(key)
}

/// A neighbour's requests (`--noisy`, `--flood`): `count` loops creating
/// conversations for `key` until `stop`.
struct Neighbour {
    workers: Vec<tokio::task::JoinHandle<()>>,
    made: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

/// What a neighbour did.
struct NeighbourCounts {
    made: usize,
    refused: usize,
}

impl Neighbour {
    fn start(
        key: Option<&str>,
        count: usize,
        // Contacts numbered apart from the counted ones and each other.
        first_contact: usize,
        client: &reqwest::Client,
        bases: &Arc<[String]>,
        stop: &Arc<AtomicBool>,
    ) -> Self {
        let made = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let workers = match key {
            None => Vec::new(),
            Some(key) => (0..count)
                .map(|worker| {
                    let (client, bases, key) = (client.clone(), Arc::clone(bases), key.to_owned());
                    let (stop, made) = (Arc::clone(stop), Arc::clone(&made));
                    let refused = Arc::clone(&refused);
                    tokio::spawn(async move {
                        let mut i = first_contact + worker;
                        while !stop.load(Ordering::Relaxed) {
                            let base = &bases[i % bases.len()];
                            let sample = create(&client, base, &key, i, Instant::now()).await;
                            made.fetch_add(1, Ordering::Relaxed);
                            if matches!(sample.outcome, Outcome::Refused) {
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            i += count;
                        }
                    })
                })
                .collect(),
        };
        Self {
            workers,
            made,
            refused,
        }
    }

    async fn finish(self) -> NeighbourCounts {
        for worker in self.workers {
            let _ = worker.await;
        }
        NeighbourCounts {
            made: self.made.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// The counted conversations' senders.
struct Counted {
    client: reqwest::Client,
    bases: Arc<[String]>,
    keys: Arc<[String]>,
    /// How many have been answered.
    done: Arc<AtomicUsize>,
    /// Set on timeout, so no more are sent.
    stop: Arc<AtomicBool>,
}

impl Counted {
    /// Conversation `i`, due at `due`, through its server for its tenant:
    /// servers and tenants vary independently.
    async fn send(&self, i: usize, due: Instant) -> Sample {
        let base = &self.bases[i % self.bases.len()];
        let key = &self.keys[(i / self.bases.len()) % self.keys.len()];
        let sample = create(&self.client, base, key, i, due).await;
        self.done.fetch_add(1, Ordering::Relaxed);
        sample
    }

    /// `total` conversations from `concurrency` loops, each sending its
    /// next as soon as the last is answered.
    fn closed_loop(
        self,
        total: usize,
        concurrency: usize,
    ) -> Vec<tokio::task::JoinHandle<Vec<Sample>>> {
        let this = Arc::new(self);
        let next = Arc::new(AtomicUsize::new(0));
        (0..concurrency.min(total))
            .map(|_| {
                let (this, next) = (Arc::clone(&this), Arc::clone(&next));
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    while !this.stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            break;
                        }
                        samples.push(this.send(i, Instant::now()).await);
                    }
                    samples
                })
            })
            .collect()
    }

    /// `total` conversations, `rate` a second, each sent when due whatever
    /// the answers to the others (customers do not wait for each other).
    async fn open_loop(self, total: usize, rate: u64) -> Vec<Sample> {
        let this = Arc::new(self);
        let start = Instant::now();
        let every = Duration::from_secs(1).as_secs_f64() / rate as f64;
        let mut sent = Vec::with_capacity(total);
        for i in 0..total {
            if this.stop.load(Ordering::Relaxed) {
                break;
            }
            let due = start + Duration::from_secs_f64(every * i as f64);
            tokio::time::sleep_until(due.into()).await;
            let this = Arc::clone(&this);
            sent.push(tokio::spawn(async move { this.send(i, due).await }));
        }
        let mut samples = Vec::with_capacity(sent.len());
        for one in sent {
            samples.push(one.await.expect("a send finished"));
        }
        samples
    }
}

/// The value at quantile `q` (0..=1) of sorted latencies, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Create one conversation and time it from `due`, body included: the
/// reply is not complete, and so the assignment not known, until the body
/// has arrived.
async fn create(client: &reqwest::Client, base: &str, key: &str, i: usize, due: Instant) -> Sample {
    // A distinct contact per conversation, like real traffic.
    let body = json!({
        "channel": "chat",
        "subject": format!("Order {i} is late"),
        "contact": {"name": format!("Customer {i}"), "email": format!("customer{i}@example.com")},
        "message": "Hi, my order has not arrived yet."
    });
    let sent = client
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await;
    let result = match sent {
        Ok(response) => {
            let status = response.status();
            response.text().await.map(|text| (status, text))
        }
        Err(error) => Err(error),
    };
    let latency = due.elapsed();
    let outcome = match result {
        Ok((status, text)) if status == reqwest::StatusCode::CREATED => {
            let reply: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match assigned_agent(&reply) {
                Some(agent) if !agent.is_empty() => Outcome::Assigned,
                _ => Outcome::Unassigned,
            }
        }
        Ok((status, _)) if status == reqwest::StatusCode::TOO_MANY_REQUESTS => Outcome::Refused,
        Ok((status, text)) => Outcome::Failed(format!("{status}: {text}")),
        Err(error) => Outcome::Failed(format!("request failed: {error}")),
    };
    Sample { latency, outcome }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("baton-load: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    // Off unless asked for: RUST_LOG=sqlx::query=debug shows every statement.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }

    // The servers: those named, or one started here.
    let (app, bases, token) = if options.servers.is_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let app = TestApp::spawn_with(dir, SandboxLimits::default()).await;
        let base = app.base.clone();
        (Some(app), vec![base], OPERATOR_TOKEN.to_owned())
    } else {
        let Some(token) = options.operator_token.clone() else {
            eprintln!("baton-load: --server needs --operator-token or BATON_OPERATOR_TOKEN");
            return ExitCode::from(2);
        };
        (None, options.servers.clone(), token)
    };
    let client = reqwest::Client::new();
    // Tenants are set up several at a time: a run over a thousand tenants
    // makes a hundred thousand setup requests.
    let setups: Vec<Result<String, String>> = futures_util::stream::iter(0..options.tenants)
        .map(|tenant| {
            let (client, base, token, options) = (&client, &bases[0], &token, &options);
            async move {
                setup(client, base, token, tenant, options)
                    .await
                    .map_err(|error| format!("setting up tenant {tenant} failed: {error}"))
            }
        })
        .buffered(SETUP_AT_ONCE)
        .collect()
        .await;
    let keys: Vec<String> = match setups.into_iter().collect() {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("baton-load: {error}");
            return ExitCode::FAILURE;
        }
    };
    let noisy_key = if options.noisy > 0 {
        match setup_noisy(&client, &bases[0], &token, &options).await {
            Ok(key) => Some(key),
            Err(error) => {
                eprintln!("baton-load: setting up the noisy neighbour failed: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let flood_key = if options.flood > 0 {
        match setup(&client, &bases[0], &token, options.tenants + 1, &options).await {
            Ok(key) => Some(key),
            Err(error) => {
                eprintln!("baton-load: setting up the flooding neighbour failed: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let keys: Arc<[String]> = keys.into();
    let bases: Arc<[String]> = bases.into();

    // The neighbours' conversations, in flight until the run ends.
    let noise_stop = Arc::new(AtomicBool::new(false));
    let noisy_made = Neighbour::start(
        noisy_key.as_deref(),
        options.noisy,
        100_000_000,
        &client,
        &bases,
        &noise_stop,
    );
    let flood_made = Neighbour::start(
        flood_key.as_deref(),
        options.flood,
        200_000_000,
        &client,
        &bases,
        &noise_stop,
    );

    let done = Arc::new(AtomicUsize::new(0));
    // Set on timeout so workers stop taking new work.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let counted = Counted {
        client: client.clone(),
        bases: Arc::clone(&bases),
        keys: Arc::clone(&keys),
        done: Arc::clone(&done),
        stop: Arc::clone(&stop),
    };
    let workers = match options.rate {
        Some(rate) => vec![tokio::spawn(counted.open_loop(options.conversations, rate))],
        None => counted.closed_loop(options.conversations, options.concurrency),
    };

    let progress = {
        let done = Arc::clone(&done);
        let total = options.conversations;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROGRESS_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                eprintln!(
                    "progress: {}/{total} after {:.0} s",
                    done.load(Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                );
            }
        })
    };

    let limit = Duration::from_secs(options.max_seconds);
    let all = async {
        let mut samples = Vec::with_capacity(options.conversations);
        for worker in workers {
            samples.extend(worker.await.expect("worker finished"));
        }
        samples
    };
    let samples = match tokio::time::timeout(limit, all).await {
        Ok(samples) => samples,
        Err(_) => {
            stop.store(true, Ordering::Relaxed);
            let finished = done.load(Ordering::Relaxed);
            eprintln!(
                "baton-load: aborted: the run went over --max-seconds {} with {finished} of {} \
                 conversations created ({:.1} per second); try fewer --conversations",
                options.max_seconds,
                options.conversations,
                finished as f64 / started.elapsed().as_secs_f64()
            );
            return ExitCode::FAILURE;
        }
    };
    let total = started.elapsed();
    progress.abort();
    noise_stop.store(true, Ordering::Relaxed);
    let noisy_made = noisy_made.finish().await;
    let flood_made = flood_made.finish().await;

    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort_unstable();
    let unassigned = samples
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Unassigned))
        .count();
    let failures: Vec<&str> = samples
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Failed(why) => Some(why.as_str()),
            Outcome::Refused => Some("429 Too Many Requests"),
            _ => None,
        })
        .collect();

    println!("conversations: {}", samples.len());
    println!("agents: {}", options.agents);
    match options.rate {
        Some(rate) => println!("rate: {rate} a second, whatever the answers"),
        None => println!("concurrency: {}", options.concurrency),
    }
    println!("servers: {}", bases.len());
    println!("tenants: {}", options.tenants);
    if options.noisy > 0 {
        println!(
            "noisy neighbour: {} in flight, {} conversations made (not counted)",
            options.noisy, noisy_made.made
        );
    }
    if options.flood > 0 {
        println!(
            "flooding neighbour: {} in flight, {} requests made, {} refused with 429 (not counted)",
            options.flood, flood_made.made, flood_made.refused
        );
    }
    println!("total time: {:.2} s", total.as_secs_f64());
    println!(
        "conversations per second: {:.1}",
        samples.len() as f64 / total.as_secs_f64()
    );
    println!("time to assignment p50: {}", ms(quantile(&latencies, 0.50)));
    println!("time to assignment p90: {}", ms(quantile(&latencies, 0.90)));
    println!("time to assignment p99: {}", ms(quantile(&latencies, 0.99)));
    println!("time to assignment max: {}", ms(quantile(&latencies, 1.0)));
    println!("unassigned: {unassigned}");
    println!("failed requests: {}", failures.len());
    if let Some(first) = failures.first() {
        println!("first failure: {first}");
    }

    if let Some(app) = app {
        drop(app.stop().await);
    }
    if unassigned > 0 || !failures.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
