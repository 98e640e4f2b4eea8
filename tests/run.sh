#!/usr/bin/env bash
# tests/run.sh: install what the tests need (Debian packages when run as
# root or with sudo, Python packages with pip), build and install the package
# (editable, from build/release), then run the whole test suite.
#
#   bash tests/run.sh [PYTEST ARGS...]
#
# pytest's exit status is passed through: 5 ("no tests collected") fails too.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/debian-packages.sh
apt_install "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"

PYTHON=${PYTHON:-$(command -v python || command -v python3)}
export PYTHON
EXTRAS=test  # pyproject.toml's test extra: what the tests import
. scripts/install-editable.sh
echo "+ $PYTHON -m pytest tests $*" >&2
exec "$PYTHON" -m pytest tests "$@"
