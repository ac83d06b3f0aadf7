//! Builds the Extism guest (`extism-guest/`) from source for
//! wasm32-unknown-unknown, so that no plugin binary is ever committed. The
//! benchmark embeds it with `include_bytes!(env!("PEERS_EXTISM_GUEST"))`.
//!
//! The guest gets its own target directory inside OUT_DIR: the outer build
//! holds the lock on its own, and the guest must not inherit host-only
//! settings (flags, wrappers, another target).

use std::path::PathBuf;
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
const GUEST: &str = "extism-guest";

/// Variables through which the outer build's settings would leak into the
/// guest's build.
const SCRUBBED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
];

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let target_dir = PathBuf::from(env("OUT_DIR")).join("guest-target");
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join(GUEST).display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("Cargo.lock").display()
    );

    // Cargo sets CARGO to the cargo running this script (or forwards the one
    // it was given: under cargo.sh, a wrapper that passes this through).
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&manifest_dir)
        .args(["build", "--release", "--target", TARGET, "-p", GUEST])
        .arg("--target-dir")
        .arg(&target_dir);
    for name in SCRUBBED_ENV {
        command.env_remove(name);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run cargo to build {GUEST}: {e}"));
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        panic!(
            "building {GUEST} for {TARGET} failed ({}); its output is above. If the \
             target is missing, run `rustup target add {TARGET}`.",
            output.status
        );
    }

    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", GUEST.replace('-', "_")));
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    println!("cargo:rustc-env=PEERS_EXTISM_GUEST={}", wasm.display());
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name} for build scripts"))
}
