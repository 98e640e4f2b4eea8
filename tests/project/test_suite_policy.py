"""The suite polices itself (tests/conftest.py, pyproject.toml): under CI a
skip that is not allowed fails, and a test that hangs in a guest fails
within its time bound.  Each case runs pytest on a small test file of its
own, with this suite's conftest."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from conftest import ci_allows_skip
from helpers.env import python_env
from helpers.paths import ROOT


def run_pytest(tmp_path: Path, test_source: str, *args: str, ci: bool) -> subprocess.CompletedProcess:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "conftest.py").symlink_to(ROOT / "tests" / "conftest.py")
    (tests / "test_case.py").write_text(test_source)
    env = python_env()
    env.pop("CI", None)
    if ci:
        env["CI"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "tests", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


SKIPPING = """
import pytest

def test_needs_a_tool():
    pytest.skip("frobnicate not found")
"""


def test_a_skip_fails_under_ci(tmp_path):
    proc = run_pytest(tmp_path, SKIPPING, ci=True)
    assert proc.returncode == 1, proc.stdout
    assert "1 failed" in proc.stdout
    assert "not on CI_ALLOWED_SKIPS" in proc.stdout and "frobnicate not found" in proc.stdout


def test_a_skip_is_a_skip_outside_ci(tmp_path):
    proc = run_pytest(tmp_path, SKIPPING, ci=False)
    assert proc.returncode == 0, proc.stdout
    assert "1 skipped" in proc.stdout and "frobnicate not found" in proc.stdout  # -rs: the reason is shown


def test_a_module_skipped_at_collection_fails_under_ci(tmp_path):
    proc = run_pytest(tmp_path, "import pytest\npytest.importorskip('no_such_module_here')\n"
                      "def test_x():\n    pass\n", ci=True)
    assert proc.returncode != 0, proc.stdout
    assert "not on CI_ALLOWED_SKIPS" in proc.stdout


def test_the_allow_list_is_narrow():
    assert ci_allows_skip("tests/core/test_memory_hugepages.py::test_x", "the kernel has no transparent huge pages")
    assert not ci_allows_skip("tests/core/test_memory_hugepages.py::test_x", "frobnicate not found")
    assert not ci_allows_skip("tests/core/test_api.py::test_x", "the kernel has no transparent huge pages")


HANGING = """
import wasmprof, wasmtime

def test_guest_loops_forever():
    module = wasmprof.Module(wasmtime.wat2wasm('(module (func (export "spin") (loop (br 0))))'))
    wasmprof.Instance(module).exports.spin()
"""


def test_a_guest_that_never_returns_fails_within_the_bound(tmp_path):
    """pytest-timeout (pyproject.toml's `timeout`; 5 s here) stops a guest
    looping forever: the guest polls for Python's signals at its back-edges,
    so the timeout's exception ends the call and the test fails."""
    started = time.monotonic()
    proc = run_pytest(tmp_path, HANGING, "-o", "timeout=5", ci=True)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Timeout" in proc.stdout and "1 failed" in proc.stdout
    assert 5 <= elapsed < 60
