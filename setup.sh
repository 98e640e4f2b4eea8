#!/usr/bin/env bash
# setup.sh: install what building wasmprof needs (Debian packages, meson and
# ninja), build it in build/release (ninja's progress shows each file), and
# install the package editable from that build: importing wasmprof rebuilds
# what changed.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/debian-packages.sh
apt_install "${BUILD_PACKAGES[@]}"
PYTHON=${PYTHON:-$(command -v python || command -v python3)}
export PYTHON
. scripts/install-editable.sh
