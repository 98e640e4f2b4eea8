"""python -m wasmprof profile."""
from __future__ import annotations

import subprocess
import sys

from helpers.env import python_env
from helpers.paths import EXAMPLES, ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wasmprof", "profile", *args], capture_output=True, text=True,
                          cwd=ROOT, env=python_env(), timeout=120)


def test_profile_top_table():
    r = run_cli(str(EXAMPLES / "kernel.wasm"), "--invoke", "run", "--top", "3", "--", "300")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["self", "ticks"]
    assert len(lines) == 1 + 3 + 1
    from wasmprof.profiles.profiler import profile

    assert f"{profile(EXAMPLES / 'kernel.wasm', invoke='run', args=(300,)).total_ticks:,} total ticks" in lines[-1]


def test_profile_writes_output(tmp_path):
    out = tmp_path / "k.wpprof.json"
    r = run_cli(str(EXAMPLES / "fib.wasm"), "--invoke", "fib", "-o", str(out), "--flamechart", "--max-depth", "4",
                "12")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # no table unless asked for, when writing a file
    from wasmprof.profiles.model import Profile
    from wasmprof.profiles.profiler import profile

    written = Profile.load(out)
    # what the options did: the call tree folded below depth 4 (fib(12)
    # recurses 12 deep), and the calls and returns recorded in order
    assert max(depth for _, depth in written.walk()) == 4
    assert written.events and [e.kind for e in written.events].count("call") == sum(n.calls for n in written.nodes[1:])
    assert written == profile(EXAMPLES / "fib.wasm", invoke="fib", args=(12,), flamechart=True, max_depth=4)
    unfolded = profile(EXAMPLES / "fib.wasm", invoke="fib", args=(12,))
    assert max(depth for _, depth in unfolded.walk()) > 4 and unfolded.events is None
    assert written.total_ticks == unfolded.total_ticks


def test_profile_trap_exit_status(tmp_path):
    r = run_cli(str(EXAMPLES / "kernel.wasm"), "--invoke", "run", "70000")
    assert r.returncode == 1
    assert "out of bounds memory access" in r.stderr
    assert "total ticks" in r.stdout  # the profile up to the trap is still shown


def test_profile_usage_errors(tmp_path):
    assert run_cli(str(EXAMPLES / "fib.wasm"), "--invoke", "nope").returncode == 2
    assert run_cli(str(EXAMPLES / "fib.wasm"), "--invoke", "fib").returncode == 2
    cost = tmp_path / "bad.json"
    cost.write_text('{"i32.nope": 3}')
    r = run_cli(str(EXAMPLES / "fib.wasm"), "--invoke", "fib", "--cost", str(cost), "5")
    assert r.returncode == 2 and "i32.nope" in r.stderr
