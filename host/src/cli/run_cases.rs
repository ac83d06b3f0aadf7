//! `baton plugin test`: recorded cases against the built component, in the
//! server's sandbox with its limits, showing each answer's reason, the fuel
//! it used and how long it took.

use std::path::Path;

use super::CliError;
use super::build::check;
use baton_host::plugin::cases;

/// Run the cases of `events` against `component`; `config`, when given,
/// replaces every case's own.
pub(crate) fn run(
    component: &Path,
    events: &Path,
    config: Option<&serde_json::Value>,
) -> Result<(), CliError> {
    let text = std::fs::read_to_string(events).map_err(|e| {
        CliError::failed(format!(
            "cannot read {} ({e}); `baton plugin new` writes an events.json to start from",
            events.display()
        ))
    })?;
    let mut cases =
        cases::parse(&text).map_err(|e| CliError::failed(format!("{}: {e}", events.display())))?;
    if let Some(config) = config {
        for case in &mut cases {
            case.config = config.clone();
        }
    }
    let (summary, (runtime, compiled)) = check(component)?;
    println!("{summary}");
    let mut disagreements = 0;
    let mut ran = 0;
    let mut checked = 0;
    for case in &cases {
        // A recorded file holds a case per kind of plugin; the others are
        // for other components.
        if case.input.plugin_kind() != compiled.kind {
            println!("skip {} (for a {})", case.name, case.input.plugin_kind());
            continue;
        }
        ran += 1;
        let outcome = cases::run(&runtime, &compiled, case).map_err(CliError::failed)?;
        let mark = match outcome.agrees {
            Some(true) => "ok  ",
            Some(false) => "FAIL",
            None => "-   ",
        };
        println!(
            "{mark} {}\n     answer: {}\n     reason: {}\n     fuel: {}  time: {:.3} ms",
            case.name,
            outcome.answer,
            outcome.reason.as_deref().unwrap_or("-"),
            outcome.fuel,
            outcome.elapsed.as_secs_f64() * 1000.0
        );
        if outcome.agrees.is_some() {
            checked += 1;
        }
        if outcome.agrees == Some(false) {
            disagreements += 1;
            if let Some(expected) = &case.expect {
                println!("     expected: {expected}");
            }
        }
    }
    if ran == 0 {
        return Err(CliError::failed(format!(
            "no case in {} is for a {}; record some with GET /v1/conversations/{{id}}/cases",
            events.display(),
            compiled.kind
        )));
    }
    if disagreements > 0 {
        return Err(CliError::failed(format!(
            "{disagreements} of {ran} cases gave another answer than expected (above)"
        )));
    }
    println!("{ran} run, {checked} checked against `expect`: all as expected");
    Ok(())
}
