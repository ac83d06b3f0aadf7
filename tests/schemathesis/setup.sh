#!/usr/bin/env bash
# The virtual environment tests/schemathesis/run.sh uses: schemathesis from
# PyPI at a pinned version, in .ci/venv (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv .ci/venv
.ci/venv/bin/pip install --quiet --disable-pip-version-check -r tests/schemathesis/requirements.txt
