#!/usr/bin/env bash
# tests/run.sh: install what the tests need (Debian packages when run as
# root or with sudo, Python packages with pip), build and install the package
# (editable), then run the whole test suite.
#
#   bash tests/run.sh [PYTEST ARGS...]
#
# pytest's exit status is passed through: 5 ("no tests collected") fails too.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/debian-packages.sh
apt_install "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"

PYTHON=${PYTHON:-$(command -v python || command -v python3)}

TEST_DEPS=(pytest wasmtime pandas matplotlib nbclient nbformat ipykernel jsonschema)
echo "+ $PYTHON -m pip install ${TEST_DEPS[*]}" >&2
"$PYTHON" -m pip install --quiet "${TEST_DEPS[@]}"
echo "+ $PYTHON -m pip install -e ." >&2
"$PYTHON" -m pip install --quiet -e .
echo "+ $PYTHON -m pytest -q tests $*" >&2
exec "$PYTHON" -m pytest -q tests "$@"
