"""Interrupts: Ctrl-C (SIGINT) and wasmprof.interrupt() stop endless guests.

The guests run in a child process (tests/interrupt_child.py): an endless
`loop br 0 end`, loops with br_if and br_table back-edges, a recursion whose
frames each loop, a loop calling a Python import, and an endless start
function (instantiation is interrupted).  A threading.Timer
sends SIGINT to the process (or calls wasmprof.interrupt()) after 0.2 s;
each call must end in KeyboardInterrupt and the instance must work
afterwards.  Latencies are printed (run pytest -s to see them) and
recorded as test properties, never asserted beyond a hang guard."""

from __future__ import annotations

import json
import subprocess

import wasmprof
from conftest import PYTHON, ROOT, instantiate, python_env

HANG_GUARD_SECONDS = 5.0


def test_guests_are_interrupted_by_sigint_and_by_interrupt(record_property):
    proc = subprocess.run(
        [PYTHON, str(ROOT / "tests" / "interrupt_child.py")],
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}"
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    cases = {row["case"] for row in rows}
    assert {"spin/sigint", "spin_if/sigint", "spin_table/sigint", "rec/sigint", "spin_host/sigint",
            "spin/thread", "rec/thread", "start/sigint"} <= cases
    for row in rows:
        print(f"interrupt latency {row['case']}: {row['latency'] * 1000:.2f} ms")
        record_property(f"latency_ms[{row['case']}]", round(row["latency"] * 1000, 3))
        assert row["outcome"] == "KeyboardInterrupt", row
        assert row["elapsed"] < HANG_GUARD_SECONDS, row
        assert row["works_after"], row
        if row["case"].endswith("/thread"):
            # wasmprof.interrupt() says where the guest was stopped
            assert "WebAssembly execution interrupted in function" in row["detail"], row


def test_interrupt_with_nothing_running_is_harmless():
    assert wasmprof.interrupt() == 0
    inst = instantiate("(module (func (export \"f\") (result i32) (local i32)"
                       " (loop (local.set 0 (i32.add (local.get 0) (i32.const 1)))"
                       " (br_if 0 (i32.lt_u (local.get 0) (i32.const 1000)))) (local.get 0)))")
    assert inst.exports.f() == 1000


def test_interrupt_from_a_host_function_stops_the_caller():
    """A Python import that calls wasmprof.interrupt() stops its own guest at
    the guest's next back-edge, with the guest's position in the exception."""
    calls = []

    def host() -> None:
        calls.append(1)
        wasmprof.interrupt()

    inst = instantiate(
        """(module (import "env" "h" (func $h))
             (func (export "run") (loop $l (call $h) (br $l))))""",
        {"env": {"h": host}},
    )
    try:
        inst.exports.run()
    except KeyboardInterrupt as e:
        assert e.func_index == 1
        assert e.offset is not None
    else:
        raise AssertionError("not interrupted")
    assert calls == [1]
