#!/usr/bin/env bash
# setup.sh: install what building wasmprof needs (Debian packages, then the
# package itself, editable, which builds the C extension).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/debian-packages.sh
apt_install "${BUILD_PACKAGES[@]}"
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
echo "+ $PYTHON -m pip install -e ." >&2
"$PYTHON" -m pip install --quiet -e .
