//! The load tool (`baton-load`) as a process: what its figures rest on.

use std::process::Command;

fn load(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_baton-load"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("baton-load runs")
}

/// The number after `label: ` on a line of the report.
fn figure(report: &str, label: &str) -> f64 {
    report
        .lines()
        .find_map(|line| line.strip_prefix(label)?.strip_prefix(": "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in the report:\n{report}"))
}

#[test]
fn an_open_loop_sends_on_schedule_and_counts_every_conversation() {
    // Twelve chats at 40 a second: the last is due 275 ms after the first,
    // however fast the server answers.
    let run = load(&["--conversations", "12", "--rate", "40", "--agents", "3"]);
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(report.contains("rate: 40 a second"), "{report}");
    assert_eq!(figure(&report, "conversations"), 12.0);
    assert_eq!(figure(&report, "unassigned"), 0.0);
    assert_eq!(figure(&report, "failed requests"), 0.0);
    assert!(figure(&report, "total time") >= 0.275, "{report}");
}

#[test]
fn a_rate_of_zero_is_refused_by_name() {
    let run = load(&["--rate", "0"]);
    assert_eq!(run.status.code(), Some(2));
    let error = String::from_utf8_lossy(&run.stderr);
    assert!(
        error.contains("--rate needs a positive whole number"),
        "{error}"
    );
}
