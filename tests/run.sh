#!/usr/bin/env bash
# tests/run.sh: install the test dependencies and the package (editable,
# which builds the C extension), then run the whole test suite.
#
#   bash tests/run.sh [PYTEST ARGS...]
#
# Needs Python 3 with pip and a C compiler; no root.  Some tests also use
# tools from Debian's wabt package (wat2wasm); .ci/run installs it.
# pytest's exit status is passed through: 5 ("no tests collected") fails too.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python || command -v python3)}

TEST_DEPS=(pytest wasmtime pandas matplotlib nbclient nbformat ipykernel jsonschema)
echo "+ $PYTHON -m pip install ${TEST_DEPS[*]}" >&2
"$PYTHON" -m pip install --quiet "${TEST_DEPS[@]}"
echo "+ $PYTHON -m pip install -e ." >&2
"$PYTHON" -m pip install --quiet -e .
echo "+ $PYTHON -m pytest -q tests $*" >&2
exec "$PYTHON" -m pytest -q tests "$@"
