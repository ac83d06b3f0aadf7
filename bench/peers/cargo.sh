#!/usr/bin/env bash
# Runs cargo for this crate the only safe way. Usage:
#
#     bench/peers/cargo.sh run --release        # the benchmark
#     bench/peers/cargo.sh clippy --all-targets
#     bench/peers/cargo.sh fmt
#
# It runs cargo niced, with this crate's own target directory, after laying
# out target/baton-root: a view of the root workspace made of symlinks,
# through which this crate depends on baton-host.
#
# Why the view: baton-host's build script builds the default plugins with
# `$CARGO build --target-dir <workspace>/target/wasm` in the workspace it
# finds beside host/ (plugins/build_wasm.rs), and clears CARGO_TARGET_DIR for
# that child. Depending on ../../host directly, this crate's build would run
# cargo in the root workspace and build into, and lock, the root's
# target/wasm, which other builds use with another toolchain. Through the view, that
# workspace is target/baton-root and the plugins land in
# target/baton-root/target/wasm. Nothing in the root is written: the sources
# are symlinks, and Cargo.toml for host/ and Cargo.lock are copies.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
view="$here/target/baton-root"

# Links are only made when missing or stale: a new link's own mtime would
# make cargo re-run baton-host's build script (it watches plugins/, sdk/, wit/).
link() {
    [[ -L $2 && $(readlink "$2") == "$1" ]] || ln -sfn "$1" "$2"
}

mkdir -p "$view/host"
# Links to what the root no longer has would only confuse cargo.
find "$view" -maxdepth 2 -xtype l -delete
# Every top-level entry of the root except what must not be shared: its
# build output, this bench, the lock (copied below) and host/ (below). Its
# .cargo/config.toml is not linked: cargo reads it anyway, as the config of
# a directory above the view, and would otherwise read it twice.
for entry in "$root"/*; do
    [[ -e $entry ]] || continue
    name=$(basename "$entry")
    case $name in
    target | bench | host | Cargo.lock) continue ;;
    esac
    link "$entry" "$view/$name"
done
# A copy, so that the plugin build can never rewrite the root's lock; -p
# keeps its time, so that an unchanged lock does not re-run build scripts.
cmp -s "$root/Cargo.lock" "$view/Cargo.lock" || cp -p "$root/Cargo.lock" "$view/Cargo.lock"

for entry in "$root"/host/*; do
    name=$(basename "$entry")
    [[ $name == Cargo.toml ]] || link "$entry" "$view/host/$name"
done
# host's manifest with its workspace named: otherwise cargo would take
# baton-host for a member of this crate's workspace, the nearest one above.
manifest=$(sed 's|^\[package\]$|[package]\nworkspace = ".."|' "$root/host/Cargo.toml")
if [[ $manifest != *$'\nworkspace = ".."\n'* ]]; then
    echo "cargo.sh: no [package] line in host/Cargo.toml to name the workspace under" >&2
    exit 1
fi
[[ -f $view/host/Cargo.toml && $(<"$view/host/Cargo.toml") == "$manifest" ]] ||
    printf '%s\n' "$manifest" >"$view/host/Cargo.toml"

cd "$here"
export CARGO_TARGET_DIR="$here/target"
exec nice -n 19 cargo "$@"
