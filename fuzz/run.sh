#!/usr/bin/env bash
# Runs one fuzz target built by fuzz/build.sh for a bounded time:
#   fuzz/run.sh upload|api_json SECONDS [libFuzzer options...]
# Inputs come from fuzz/corpus/<target>/ (new finds are added there) and the
# seeds in fuzz/seeds/<target>/; a crash is saved in fuzz/artifacts/<target>/
# and the run exits non-zero. Replay one with
#   target/debug/<target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: fuzz/run.sh upload|api_json SECONDS [libFuzzer options...]}
seconds=${2:?usage: fuzz/run.sh upload|api_json SECONDS [libFuzzer options...]}
shift 2
mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
# -max_total_time counts from the process start: the upload seeds are
# compiled first, and api_json starts its server (compiling the default
# plugins) before the first input.
exec "target/debug/$target" \
    -artifact_prefix="fuzz/artifacts/$target/" \
    -max_total_time="$seconds" \
    "$@" \
    "fuzz/corpus/$target" "fuzz/seeds/$target"
