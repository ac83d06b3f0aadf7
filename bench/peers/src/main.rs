//! Peer benchmark: one routing decision, "least-loaded over 50 candidates",
//! made natively, by Baton's real plugin (warm and fresh), by an Extism
//! plugin (warm and fresh), by a Rhai script and by an HTTP webhook on
//! loopback. Every way must give the same answer on the same snapshots
//! before anything is timed; then one Markdown table is printed.
//!
//! Run with `bench/peers/cargo.sh run --release` (see README.md).

mod baton;
mod extism_peer;
mod native;
mod rhai_peer;
mod snapshot;
mod timing;
mod webhook;

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use baton_host::plugin::AssignmentRequest;

use native::DecidedBy;
use timing::{Timing, human};

/// Snapshots every way is checked on before timing.
const AGREEMENT_SEEDS: u64 = 300;

/// From the host's snapshot to the chosen agent (`None`: queue it).
type Decide<'a> = Box<dyn FnMut(&AssignmentRequest) -> Result<Option<String>> + 'a>;

/// One way of deciding.
struct Way<'a> {
    name: &'static str,
    decide: Decide<'a>,
}

fn main() -> Result<()> {
    let baton = baton::Baton::new()?;
    let mut baton_warm = baton.warm()?;
    let extism = extism_peer::Extism::new()?;
    let mut extism_warm = extism.warm()?;
    let rhai = rhai_peer::Rhai::new()?;
    let webhook = webhook::Webhook::start()?;

    let mut ways = vec![
        Way {
            name: "Native Rust function",
            decide: Box::new(|r| Ok(native::least_loaded(r))),
        },
        Way {
            name: "Baton plugin, warm instance",
            decide: Box::new(|r| baton_warm.decide(r)),
        },
        Way {
            name: "Baton plugin, fresh instance per decision (what routing does)",
            decide: Box::new(|r| baton.decide_fresh(r)),
        },
        Way {
            name: "Extism plugin (JSON), warm instance",
            decide: Box::new(|r| extism_warm.decide(r)),
        },
        Way {
            name: "Extism plugin (JSON), fresh instance per decision",
            decide: Box::new(|r| extism.decide_fresh(r)),
        },
        Way {
            name: "Rhai script (compiled AST, array of maps)",
            decide: Box::new(|r| rhai.decide(r)),
        },
        Way {
            name: "HTTP webhook on 127.0.0.1 (JSON, keep-alive)",
            decide: Box::new(|r| webhook.decide(r)),
        },
    ];

    check_agreement(&mut ways)?;

    let request = snapshot::generate(snapshot::TIMED_SEED);
    let expected = native::least_loaded(&request);
    println!(
        "Timed snapshot (seed {}): {} candidates, channel {}, answer {:?}, decided by {:?}; \
         {} bytes as JSON.",
        snapshot::TIMED_SEED,
        request.candidates().len(),
        snapshot::channel_key(request.conversation.channel),
        expected,
        native::decided_by(&request),
        serde_json::to_vec(&request)?.len(),
    );

    let mut results = Vec::with_capacity(ways.len());
    for way in &mut ways {
        eprintln!("timing: {}", way.name);
        let timing = timing::measure(|| (way.decide)(&request).expect("decided during the check"));
        results.push((way.name, timing));
    }
    print_table(&results);
    Ok(())
}

/// Every way against the native function on many snapshots; a peer that
/// answers differently would make the comparison meaningless.
fn check_agreement(ways: &mut [Way<'_>]) -> Result<()> {
    let mut decided_by: BTreeMap<DecidedBy, u64> = BTreeMap::new();
    for seed in 0..AGREEMENT_SEEDS {
        let request = snapshot::generate(seed);
        let expected = native::least_loaded(&request);
        *decided_by.entry(native::decided_by(&request)).or_default() += 1;
        for way in ways.iter_mut() {
            let answer = (way.decide)(&request)?;
            if answer != expected {
                bail!(
                    "{} chose {answer:?} but the native rule chose {expected:?} on snapshot {seed}",
                    way.name
                );
            }
        }
    }
    // Without these the check would prove little about the tie-breaks.
    for rule in [
        DecidedBy::Nobody,
        DecidedBy::Load,
        DecidedBy::LastAssigned,
        DecidedBy::Id,
    ] {
        if !decided_by.contains_key(&rule) {
            bail!("no snapshot was decided by {rule:?}; the agreement check is too weak");
        }
    }
    println!(
        "All {} ways agree on {AGREEMENT_SEEDS} snapshots (decided by: {decided_by:?}).",
        ways.len()
    );
    Ok(())
}

fn print_table(results: &[(&str, Timing)]) {
    let native = results[0].1.median_ns;
    println!();
    println!(
        "| Way | Median per decision | Mean per decision | Median / native | Decisions timed |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, t) in results {
        println!(
            "| {name} | {} | {} | {:.0}× | {} |",
            human(t.median_ns),
            human(t.mean_ns),
            t.median_ns / native,
            t.decisions
        );
    }
    println!();
    println!(
        "{} logical CPUs ({}); median and mean of {} samples per way.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model().unwrap_or_else(|| "CPU model unknown".into()),
        timing::SAMPLES,
    );
}

/// The CPU's name, for the table's footnote (Linux only).
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|m| m.trim().to_owned())
}
