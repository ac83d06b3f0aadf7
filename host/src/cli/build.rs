//! `baton plugin build`: cargo builds the component, then the host's own
//! runtime loads and describes it exactly as an upload would.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::CliError;
use baton_host::plugin::{CallContext, PluginRuntime, SandboxLimits, manifest};

const TARGET: &str = "wasm32-wasip2";

pub(crate) fn build(dir: &Path) -> Result<(), CliError> {
    let manifest_path = dir.join("Cargo.toml");
    if !manifest_path.is_file() {
        return Err(CliError::failed(format!(
            "no Cargo.toml in {}: run this in a plugin crate, or make one with `baton plugin new <name> --kind ...`",
            dir.display()
        )));
    }
    let component = cargo_build(&manifest_path)?;
    let (summary, _) = check(&component)?;
    println!("built {}\n{summary}", component.display());
    Ok(())
}

/// Where `build` puts the component of the crate in `dir`: cargo's
/// target directory as cargo itself reports it (so `CARGO_TARGET_DIR`
/// and `.cargo/config.toml` are honoured), under the component target's
/// release profile, named after the crate's cdylib.
pub(crate) fn built_component(dir: &Path) -> Result<PathBuf, CliError> {
    let manifest_path = dir.join("Cargo.toml");
    if !manifest_path.is_file() {
        return Err(CliError::failed(format!(
            "no component given and no Cargo.toml in {}: pass the .wasm, or run this in the plugin's crate (`--dir`)",
            dir.display()
        )));
    }
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .arg("--manifest-path")
        .arg(&manifest_path)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            CliError::failed(format!(
                "cannot run cargo ({e}); install Rust from https://rustup.rs"
            ))
        })?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|_| CliError::failed("cargo metadata failed (above)"))?;
    let target_dir = metadata["target_directory"]
        .as_str()
        .ok_or_else(|| CliError::failed("cargo metadata named no target directory"))?;
    // The package of this manifest, not another member of its workspace.
    let manifest = std::fs::canonicalize(&manifest_path).unwrap_or(manifest_path);
    let lib = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["manifest_path"].as_str().map(PathBuf::from) == Some(manifest.clone()))
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .find(|t| {
            t["crate_types"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"))
        })
        .and_then(|t| t["name"].as_str().map(|name| name.replace('-', "_")))
        .ok_or_else(|| {
            CliError::failed(
                "the crate has no cdylib: it needs `crate-type = [\"cdylib\"]` under [lib]",
            )
        })?;
    let component = Path::new(target_dir)
        .join(TARGET)
        .join("release")
        .join(format!("{lib}.wasm"));
    if component.is_file() {
        Ok(component)
    } else {
        Err(CliError::failed(format!(
            "{} is not built yet: run `baton plugin build` first",
            component.display()
        )))
    }
}

/// Build in release mode for the component target; returns the `.wasm`.
fn cargo_build(manifest_path: &Path) -> Result<PathBuf, CliError> {
    let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--target", TARGET])
        .arg("--manifest-path")
        .arg(manifest_path)
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            CliError::failed(format!(
                "cannot run cargo ({e}); install Rust from https://rustup.rs"
            ))
        })?;
    let mut wasm = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if message["reason"] != "compiler-artifact" {
                continue;
            }
            let is_cdylib = message["target"]["crate_types"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
            if !is_cdylib {
                continue;
            }
            if let Some(file) = message["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))
            {
                wasm = Some(PathBuf::from(file));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| CliError::failed(format!("waiting for cargo: {e}")))?;
    if !status.success() {
        return Err(CliError::failed(format!(
            "cargo build failed (above); if the target is missing, run `rustup target add {TARGET}`"
        )));
    }
    wasm.ok_or_else(|| {
        CliError::failed(
            "cargo built no .wasm: the crate needs `crate-type = [\"cdylib\"]` under [lib]",
        )
    })
}

/// Load a component as the server would at upload and describe it; returns
/// a summary and the runtime with the compiled component.
pub(crate) fn check(
    component: &Path,
) -> Result<(String, (PluginRuntime, baton_host::plugin::Compiled)), CliError> {
    let wasm = std::fs::read(component).map_err(|e| {
        CliError::failed(format!(
            "cannot read {} ({e}); build it first with `baton plugin build`",
            component.display()
        ))
    })?;
    let runtime = PluginRuntime::new(SandboxLimits::default())
        .map_err(|e| CliError::failed(format!("starting the sandbox: {e:#}")))?;
    let compiled = runtime
        .compile(&wasm)
        .map_err(|e| CliError::failed(format!("the server would refuse it: {e}")))?;
    let ctx = CallContext {
        tenant: "cli".into(),
        plugin: "under-test".into(),
        config: "{}".into(),
        now_ms: 0,
        kv: Default::default(),
    };
    let raw = runtime
        .describe(&compiled, ctx)
        .map_err(|e| CliError::failed(format!("describe() failed: {e}")))?;
    let checked = manifest::check(raw, compiled.kind)
        .map_err(|e| CliError::failed(format!("the server would refuse its manifest: {e}")))?;
    let summary = format!(
        "{}@{} ({}, built against baton:plugin@{}, {} bytes)",
        checked.name,
        checked.version,
        checked.kind,
        compiled.contract,
        wasm.len()
    );
    Ok((summary, (runtime, compiled)))
}
