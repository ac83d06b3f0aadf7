#!/usr/bin/env bash
# schemathesis against the description a running `baton serve` gives at
# /openapi.json, for a bounded time, with a tenant's API key.
#
#   tests/schemathesis/run.sh [SECONDS]      (default 120)
#
# It builds `baton`, starts it on a fresh SQLite file on a free loopback
# port, makes a tenant with a team, agents and a conversation (so that
# some generated calls reach real records), then runs schemathesis from
# the virtual environment .ci/venv (made by tests/schemathesis/setup.sh)
# with the checks that hold a server to its description: no 5xx, and
# every status, content type, header and body as described. A failure
# exits non-zero; the reports are in target/schemathesis/<run>/.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-120}"
venv=.ci/venv
[ -x "$venv/bin/st" ] || tests/schemathesis/setup.sh

cargo build --locked --bin baton
work="$(mktemp -d)"
report=target/schemathesis
mkdir -p "$report"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
operator_token="schemathesis-operator-token"

BATON_ADDR="127.0.0.1:$port" \
BATON_DATABASE_URL="sqlite://$work/baton.db" \
BATON_OPERATOR_TOKEN="$operator_token" \
RUST_LOG=warn \
    target/debug/baton serve >"$work/stdout" 2>"$report/server.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT

for _ in $(seq 1 100); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null

post() { curl -fsS -X POST -H "Authorization: Bearer $1" -H 'content-type: application/json' -d "$3" "$base$2"; }
key="$(post "$operator_token" /v1/tenants '{"name":"Schemathesis"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
team="$(post "$key" /v1/teams '{"name":"Support"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
for name in Ana Ben; do
    role=agent
    [ "$name" = Ana ] && role=admin
    agent="$(post "$key" /v1/agents "{\"name\":\"$name\",\"email\":\"$name@example.com\",\"role\":\"$role\",\"teams\":[\"$team\"]}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
    [ "$name" = Ana ] && admin="$agent"
    curl -fsS -X PUT -H "Authorization: Bearer $key" -H 'content-type: application/json' \
        -d '{"status":"available"}' "$base/v1/agents/$agent/status" >/dev/null
done
post "$key" /v1/conversations '{"channel":"chat","contact":{"name":"Carol","email":"carol@example.com"},"message":"Hello"}' >/dev/null

# Three runs. The member-facing help-desk calls first, acting as the admin
# Ana (X-Baton-Agent): the main run's stateful phase finds her through
# GET /v1/agents and removes her. Then every other tenant call, leaving out
# the notification stream (an endless event stream would hold the worker
# until the time ran out) and the upload (a Wasm component's bytes, which
# schemathesis cannot make; the `upload` fuzz target covers them). Then the
# operator's calls with the operator's token. One worker: on this
# machine's Python (3.11.7), two threads parsing lambdas at once in
# hypothesis hit CPython's thread-unsafe AST recursion counter (a
# SystemError).
st() {
    local name="$1"
    shift
    "$venv/bin/st" run "$base/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
        --workers 1 \
        --request-timeout 10 \
        --seed 1 \
        --generation-database none \
        --no-color \
        --report junit,json \
        --report-dir "$report/$name" \
        "$@"
}
help_desk='^/v1/(tickets|drafts|companies|pipelines)'
operator=(get_metrics post_v1_tenants get_v1_operator_stats)
st help-desk --header "Authorization: Bearer $key" \
    --header "X-Baton-Agent: $admin" \
    --include-path-regex "$help_desk" \
    --max-time $((seconds * 2 / 5))
st tenant --header "Authorization: Bearer $key" \
    --exclude-path-regex "$help_desk" \
    --exclude-operation-id get_v1_agents_id_notifications_stream \
    --exclude-operation-id post_v1_plugins \
    "${operator[@]/#/--exclude-operation-id=}" \
    --max-time $((seconds - seconds * 2 / 5))
st operator --header "Authorization: Bearer $operator_token" \
    "${operator[@]/#/--include-operation-id=}" \
    --max-time 20
