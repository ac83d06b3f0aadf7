//! Builds Baton plugin crates into WebAssembly components, for build
//! scripts. Include it with
//! `#[path = "../plugins/build_wasm.rs"] mod build_wasm;`.
//!
//! Plugins are built from source on every build that needs them, never
//! committed as binaries. They go to their own target directory,
//! `<workspace>/target/wasm`, so the outer build's lock and settings are not
//! shared and repeated builds are incremental.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every plugin is built for.
const TARGET: &str = "wasm32-wasip2";

/// Variables through which the outer build would leak its settings into the
/// plugin build: host-only flags (`-C target-cpu=native`, coverage), the
/// clippy driver as a wrapper, and another target or target directory.
const SCRUBBED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
];

/// Builds `packages` (workspace package names) in release mode for
/// `wasm32-wasip2` and copies each component to `<out_dir>/<package>.wasm`.
/// Returns the copies' paths, in the order of `packages`.
///
/// Each package gets its own `cargo` invocation: one plugin's build can then
/// never be affected by another's dependencies or features, and a failure
/// names the plugin at fault.
///
/// Also tells Cargo to run the calling build script again when the WIT, the
/// SDK, a plugin's sources or the lock file change.
///
/// # Panics
///
/// When a build fails or its output is missing; the child's stderr is
/// printed first. A build script has no better way to report failure.
pub(crate) fn build_plugins(workspace: &Path, packages: &[&str], out_dir: &Path) -> Vec<PathBuf> {
    let target_dir = workspace.join("target").join("wasm");
    for watched in ["wit", "sdk", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }

    let mut outputs = Vec::with_capacity(packages.len());
    for package in packages {
        println!(
            "cargo:rerun-if-changed={}",
            package_dir(workspace, package).display()
        );
        build_one(workspace, &target_dir, package);

        let crate_name = package.replace('-', "_");
        let built = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{crate_name}.wasm"));
        let copy = out_dir.join(format!("{package}.wasm"));
        if let Err(e) = std::fs::copy(&built, &copy) {
            panic!(
                "plugin `{package}` built, but copying {} to {} failed: {e}",
                built.display(),
                copy.display()
            );
        }
        outputs.push(copy);
    }
    outputs
}

/// Where a plugin's sources live: default plugins in `plugins/`, test
/// plugins in `tests/plugins/`, each in a directory named after the package.
fn package_dir(workspace: &Path, package: &str) -> PathBuf {
    let default = workspace.join("plugins").join(package);
    if default.is_dir() {
        return default;
    }
    let test = workspace.join("tests").join("plugins").join(package);
    if test.is_dir() {
        return test;
    }
    panic!("no directory for plugin `{package}` in plugins/ or tests/plugins/");
}

fn build_one(workspace: &Path, target_dir: &Path, package: &str) {
    // Cargo sets CARGO for build scripts, pointing at the cargo that runs us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(target_dir)
        .args(["-p", package]);
    for name in SCRUBBED_ENV {
        command.env_remove(name);
    }

    let output = match command.output() {
        Ok(output) => output,
        Err(e) => panic!("could not run cargo to build plugin `{package}`: {e}"),
    };
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        panic!(
            "building plugin `{package}` for {TARGET} failed ({}); its cargo output is above. \
             If the target is missing, run `rustup target add {TARGET}`.",
            output.status
        );
    }
}
