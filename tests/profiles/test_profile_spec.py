"""The whole spec suite under the profiled loop: ticked translation and
hooks must not change what any instruction does (same passes as plain)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.env import python_env
from helpers.paths import ROOT, SPEC_DIR

CORE_DIR = SPEC_DIR / "core"

SCRIPT = """
import glob, sys
from wasmprof import _core
_core._profile_start({{"i32.add": 3}}, per_call=2, events=True, max_events=10000, sample_every={sample})
import wasmprof.spectest as s
s.main(sorted(glob.glob(sys.argv[1] + "/*/*.json")))
print("ticks", _core._ticks())
"""


@pytest.mark.parametrize("sample", [0, 100])
def test_spec_suite_passes_under_the_profiler(sample):
    if not CORE_DIR.is_dir():
        pytest.skip(f"spec tests not found at {CORE_DIR}")
    r = subprocess.run([sys.executable, "-c", SCRIPT.format(sample=sample), str(CORE_DIR)], capture_output=True,
                       text=True, cwd=ROOT, env=python_env(), timeout=900)
    lines = r.stdout.strip().splitlines()
    plain = subprocess.run([sys.executable, "-m", "wasmprof.spectest", *sorted(str(p) for p in CORE_DIR.glob("*/*.json"))],
                           capture_output=True, text=True, cwd=ROOT, env=python_env(), timeout=900)
    summary = plain.stdout.strip().splitlines()[-1]
    assert " 0 failed" in summary
    assert lines[-2] == summary, r.stdout[-2000:] + r.stderr[-2000:]
    assert int(lines[-1].split()[1]) > 1_000_000
