#!/usr/bin/env bash
# Builds the fuzz targets for a short run (what .ci/run does after the
# tests) into target/debug/upload and target/debug/api_json.
#
# Only Baton's own code is instrumented for coverage (fuzz/instrument-rustc,
# a RUSTC_WORKSPACE_WRAPPER: Cargo keeps what it builds apart from the plain
# build, by its own file hash). The dependencies are the ones
# `cargo test --workspace` already built, so this takes a minute or two
# after the tests instead of a rebuild of wasmtime, cranelift and sqlx with
# coverage. For a long run that also follows coverage inside the
# dependencies, use `cargo fuzz` (README, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."

# The whole workspace is selected (only the two targets are built) so that
# dependencies resolve to the same features as in the test build.
RUSTC_WORKSPACE_WRAPPER="$PWD/fuzz/instrument-rustc" \
    cargo build --locked --workspace --bin upload --bin api_json
