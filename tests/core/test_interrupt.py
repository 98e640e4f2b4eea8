"""Interrupts: Ctrl-C (SIGINT) and wasmprof.interrupt() stop endless guests.

The guests run in a child process (tests/helpers/interrupt_child.py): an endless
`loop br 0 end`, loops with br_if and br_table back-edges, a recursion whose
frames each loop, a loop calling a Python import, and an endless start
function (instantiation is interrupted).  A threading.Timer
sends SIGINT to the process (or calls wasmprof.interrupt()) after 0.2 s;
each call must end in KeyboardInterrupt that names the function and the
exact back-edge or call where the guest stopped, and the same instance must
work afterwards.  Latencies are printed (run pytest -s to see them) and
recorded as test properties, never asserted beyond a hang guard."""

from __future__ import annotations

import json
import subprocess

import wasmtime

import wasmprof
from helpers.env import python_env, sigint_default
from helpers.paths import PYTHON, ROOT, TESTS
from helpers.wasm import instantiate, instr_offset
from helpers.interrupt_child import WAT

BR, BR_IF, BR_TABLE = b"\x0c\x00", b"\x0d\x00", b"\x0e\x01\x00\x00"


def stopping_points() -> dict:
    """Per export of interrupt_child.WAT: (function index, the module offsets
    of its back-edges and calls, where a guest can be stopped)."""
    binary = bytes(wasmtime.wat2wasm(WAT))
    return {"spin": (1, {instr_offset(binary, 1, BR)}),
            "spin_if": (2, {instr_offset(binary, 2, BR_IF)}),
            "spin_table": (3, {instr_offset(binary, 3, BR_TABLE)}),
            # rec's back-edge is `local.get $i; i32.const 1000000; i32.lt_u;
            # br_if`, one superinstruction (fused.h): it stops before all of
            # it, at the local.get
            "rec": (4, {instr_offset(binary, 4, b"\x20\x01\x41\xc0\x84\x3d\x49" + BR_IF),
                        instr_offset(binary, 4, b"\x10\x04")}),
            "spin_host": (5, {instr_offset(binary, 5, BR), instr_offset(binary, 5, b"\x10\x00")}),
            # (module (func $s (loop $l (br $l))) (start $s)): the br of function 0
            "start": (0, {instr_offset(bytes(wasmtime.wat2wasm("(module (func $s (loop $l (br $l))) (start $s))")),
                                       0, BR)})}

HANG_GUARD_SECONDS = 5.0


def test_guests_are_interrupted_by_sigint_and_by_interrupt(record_property):
    proc = subprocess.run(
        [PYTHON, str(TESTS / "helpers" / "interrupt_child.py")],
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=sigint_default,
    )
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}"
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    points = stopping_points()
    cases = {row["case"] for row in rows}
    assert {"spin/sigint", "spin_if/sigint", "spin_table/sigint", "rec/sigint", "spin_host/sigint",
            "spin/thread", "rec/thread", "start/sigint"} <= cases
    for row in rows:
        print(f"interrupt latency {row['case']}: {row['latency'] * 1000:.2f} ms")
        record_property(f"latency_ms[{row['case']}]", round(row["latency"] * 1000, 3))
        assert row["outcome"] == "KeyboardInterrupt", row
        assert row["elapsed"] < HANG_GUARD_SECONDS, row
        assert row["works_after"], row
        name, how = row["case"].split("/")
        func, offsets = points[name]
        if name == "spin_host" and how == "sigint" and row["where"] == [None, None]:
            continue  # Python saw the signal inside the host function, not in the guest
        assert row["where"][0] == func and row["where"][1] in offsets, (row, func, sorted(offsets))
        if how == "thread":  # wasmprof.interrupt() says where in its message too
            assert row["detail"] == f"WebAssembly execution interrupted in function {func} at offset " \
                                    f"{row['where'][1]:#x}", row


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
