//! A plain timing loop: warm up, then time several samples of many
//! decisions each and report the median and mean time per decision.
//!
//! Criterion would time each way well but print one report per way; the
//! point here is one table comparing them, so the loop is done by hand.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long each way runs before timing starts: caches, branch predictors,
/// lazily initialised pools and the HTTP connection get warm.
const WARM_UP: Duration = Duration::from_millis(500);
/// Target length of one sample; the batch size is chosen to reach it.
const SAMPLE: Duration = Duration::from_millis(200);
/// Samples per way. The median of these is robust to another process
/// taking the CPU for part of a sample (this machine has two cores).
pub(crate) const SAMPLES: usize = 15;

/// Time per decision, in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) median_ns: f64,
    pub(crate) mean_ns: f64,
    pub(crate) decisions: u64,
}

/// Times `decide`, which makes one decision per call.
pub(crate) fn measure<T>(mut decide: impl FnMut() -> T) -> Timing {
    let started = Instant::now();
    let mut warm_up_calls = 0u64;
    while started.elapsed() < WARM_UP {
        black_box(decide());
        warm_up_calls += 1;
    }
    let per_call = WARM_UP.as_secs_f64() / warm_up_calls as f64;
    let batch = ((SAMPLE.as_secs_f64() / per_call) as u64).max(1);

    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                black_box(decide());
            }
            start.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    Timing {
        median_ns: samples[SAMPLES / 2],
        mean_ns: samples.iter().sum::<f64>() / SAMPLES as f64,
        decisions: batch * SAMPLES as u64,
    }
}

/// A duration in the unit that keeps three significant digits readable.
pub(crate) fn human(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}
