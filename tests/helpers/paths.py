"""Where things are: the project, the spec tests beside it, the bundled
examples, the test data folders and the meson build directory whose C
programs the tests run."""
from __future__ import annotations

import os
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
SPEC_DIR = ROOT.parent / "shared" / "wasm-spec"
EXAMPLES = ROOT / "examples"
PYTHON = sys.executable

# build/release (what setup.sh, tests/run.sh and `make` share) unless
# WASMPROF_BUILD_DIR names another, as .ci/run does for its sanitizer pass
# (build/asan).
BUILD_DIR = Path(os.environ.get("WASMPROF_BUILD_DIR", ROOT / "build" / "release"))
