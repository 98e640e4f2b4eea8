"""The whole spec suite in every interpreter loop (issue 15): the ticked
loop under a tick limit, the debugger's stepping loop continued to the end,
and the stepping loop stopping after every instruction, each with the plain
loop's passes.  (The ticked loop under a profile: tests/profiles/test_profile_spec.py.)"""
from __future__ import annotations

import subprocess
from typing import Any, List

import pytest

from helpers.env import python_env
from helpers.paths import PYTHON, ROOT, SPEC_DIR

CORE_DIR = SPEC_DIR / "core"
FAC_25 = 7034535277573963776  # fac.wast's expected fac(25) mod 2**64


def _suite(loop: str) -> List[str]:
    if not CORE_DIR.is_dir():
        pytest.skip(f"spec tests not found at {CORE_DIR}")
    r = subprocess.run([PYTHON, "-m", "wasmprof.spectest", "--loop", loop, str(CORE_DIR)], capture_output=True,
                       text=True, cwd=ROOT, env=python_env(), timeout=900)
    assert r.stderr == "", r.stderr[-2000:]
    return r.stdout.strip().splitlines()


@pytest.fixture(scope="module")
def plain_lines() -> List[str]:
    lines = _suite("plain")
    assert lines[-1].split(", ")[1] == "0 failed", lines[-1]
    return lines


@pytest.mark.parametrize("loop", ["counted", "stepping", "single-step"])
def test_spec_suite_passes_in_every_loop(loop, plain_lines):
    # Every script's line, not only the total: the same passes file by file.
    assert _suite(loop) == plain_lines


class _CountingSession:
    """A debug session that counts its resumes."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.resumes = 0

    def resume(self, **kw: Any) -> str:
        self.resumes += 1
        return self.session.resume(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def test_each_loop_runs_what_it_says():
    """fac-rec(25) in each loop: the same ticks counted as in the debugger's
    two runs, and a single-step run resumes once per instruction it stops at."""
    if not CORE_DIR.is_dir():
        pytest.skip(f"spec tests not found at {CORE_DIR}")
    from wasmprof import _core, spectest

    action = {"type": "invoke", "field": "fac-rec", "args": [{"type": "i64", "value": "25"}]}
    ticks = {}
    for loop in ("counted", "stepping", "single-step"):
        script = spectest._Script(str(CORE_DIR / "fac" / "fac.json"), loop)
        inst = script.current = script.instantiate("fac.0.wasm")
        session = _CountingSession(_core.DebugSession(inst, 0, 0, 0, False))
        script.sessions[inst] = session
        before = _core._ticks()
        assert script.action(action) == (FAC_25,)
        if loop == "counted":
            ticks[loop] = _core._ticks() - before
            assert session.resumes == 0
        else:
            icount, ticks[loop] = session.clock()[:2]
            assert session.resumes == (icount if loop == "single-step" else 1)
    assert ticks["counted"] == ticks["stepping"] == ticks["single-step"] > 25 * 10, ticks
