#!/usr/bin/env bash
# Seeds for the `upload` fuzz target: real plugin components, built from
# source the way host/build.rs and tests/build.rs build them, copied into
# fuzz/corpus/upload/ (not in git: no generated binaries are committed).
#
# One of each kind and contract, plus components the upload refuses for
# each reason past compiling: a strategy, a handoff trigger, a workflow, a
# rule condition, a 0.1.0 workflow, a contract no host runs, a component of
# no Baton world, and one whose describe traps.
set -euo pipefail
cd "$(dirname "$0")/.."

plugins=(
    round-robin
    keyword-handoff
    inactivity-close
    vip-domain
    legacy-tagger
    future-contract
    not-a-plugin
    describe-fails
)

corpus=fuzz/corpus/upload
mkdir -p "$corpus"
for plugin in "${plugins[@]}"; do
    # One cargo per plugin and the build scripts' target directory, as
    # plugins/build_wasm.rs does, so both reuse the same build.
    env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS \
        -u RUSTC_WORKSPACE_WRAPPER -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET \
        cargo build --quiet --locked --release --target wasm32-wasip2 \
        --target-dir target/wasm -p "$plugin"
    cp "target/wasm/wasm32-wasip2/release/${plugin//-/_}.wasm" "$corpus/$plugin.wasm"
done
echo "upload seeds: $(ls "$corpus"/*.wasm | wc -l) components in $corpus"
