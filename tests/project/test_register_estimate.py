"""bench/register_estimate.py: a register machine's dispatches, counted
exactly from what ran: operands and structure free, results written to
their local, branches fused with their compare."""
from __future__ import annotations

import sys

import wasmprof
from helpers.bench_kernels import SUM_LOOP
from helpers.paths import ROOT
from helpers.wasm import wat2wasm

sys.path.insert(0, str(ROOT / "bench"))

from register_estimate import estimate  # noqa: E402


def test_a_loop_of_ten():
    executed, dispatches = estimate(wasmprof.Module(wat2wasm(SUM_LOOP)), "run", (10,))
    # block and loop once; the test 11 times (4 instructions); the body 10 times (9); local.get and end once
    assert executed == 2 + 11 * 4 + 10 * 9 + 2
    # the test: i32.ge_u (br_if fused with it); the body: two i32.add (local.set their destination) and br;
    # the function's end: its return
    assert dispatches == 11 * 1 + 10 * 3 + 1


def test_copies_and_unfused_branches_are_dispatches():
    wat = """(module (func (export "run") (param $n i32) (result i32) (local $x i32)
      (local.set $x (local.get $n))
      (if (local.get $x) (then (local.set $x (i32.const 7))))
      (local.get $x)))"""
    executed, dispatches = estimate(wasmprof.Module(wat2wasm(wat)), "run", (0,))
    # local.get, local.set, local.get, if (false: on after its end), local.get, end
    assert executed == 6
    # the local.set copies a local, the if tests a local (no compare to fuse with), the end returns
    assert dispatches == 3
