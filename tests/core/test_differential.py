"""Differential execution (tests/helpers/differential.py): random valid
modules from binaryen's `wasm-opt -ttf`, with binaryen's fuzzing-support
imports, run under wasmtime and under wasmprof's plain, counted (tick
limit), stepping (Debugger) and profiled loops; results, traps, logged
values and final memories and globals must agree.

A seeded batch of BATCH modules runs here; fuzz/differential.py runs longer
batches (README, "Fuzzing")."""
from __future__ import annotations

import random

import pytest

from helpers import differential as diff

BATCH = 12
SEED = 20261202


def modules() -> list[tuple[int, bytes]]:
    rng = random.Random(SEED)
    return [(i, diff.random_module(rng.randbytes(4096))) for i in range(BATCH)]


@pytest.fixture(scope="module")
def batch() -> list[tuple[int, bytes]]:
    return modules()


@pytest.mark.parametrize("loop", ["plain", "counted", "stepping"])
def test_same_as_wasmtime(batch: list[tuple[int, bytes]], loop: str) -> None:
    calls = traps = logs = 0
    for i, wasm in batch:
        want = diff.run_wasmtime(wasm)
        got = diff.run_wasmprof(wasm, loop=loop)
        assert want.first_difference(got) is None, f"module {i} of seed {SEED}, {loop} loop"
        calls += len(want.calls)
        traps += sum(c.trap is not None for c in want.calls)
        logs += sum(len(c.logs) for c in want.calls)
    # The batch exercises what it compares: calls that return, calls that trap, logged values.
    assert calls > 50 and 0 < traps < calls and logs > 20


def test_profiled_same_as_wasmtime(batch: list[tuple[int, bytes]]) -> None:
    for i, wasm in batch:
        want = diff.run_wasmtime(wasm, fresh=True)
        got = diff.run_wasmprof(wasm, loop="profiled", fresh=True)
        assert want.calls == got.calls, f"module {i} of seed {SEED}: {want.first_difference(got)}"


def test_a_difference_is_found(batch: list[tuple[int, bytes]]) -> None:
    """The comparison sees differences: another module's run, or a changed
    byte of memory, is not the same run."""
    (_, a), (_, b) = batch[0], batch[1]
    run_a, run_b = diff.run_wasmtime(a), diff.run_wasmprof(b)
    assert run_a.first_difference(run_b) is not None
    again = diff.run_wasmprof(a)
    assert run_a.first_difference(again) is None
    name, data = next(iter(again.memories.items()))
    again.memories[name] = data[:-1] + bytes([data[-1] ^ 1])
    assert "differs first at" in str(run_a.first_difference(again))


def test_call_indirect_past_the_table() -> None:
    """Found by fuzz/differential.py (seed 7): wasmtime traps a call_indirect
    past its table's end as TABLE_OUT_OF_BOUNDS; wasmprof says "undefined
    element", as the spec's tests do.  Both are right; the comparison maps
    one to the other (differential.WASMPROF_SAME_AS) and still tells a null
    element apart."""
    import wasmtime

    import wasmprof

    wasm = wasmtime.wat2wasm("""(module (type $t (func)) (table 2 funcref)
      (func (export "past") (call_indirect (type $t) (i32.const 5)))
      (func (export "null") (call_indirect (type $t) (i32.const 1))))""")
    with pytest.raises(wasmprof.Trap) as trap:
        wasmprof.Instance(wasmprof.Module(wasm)).exports.past()
    assert trap.value.kind == "undefined_element"
    want = diff.run_wasmtime(wasm)
    assert [c.trap for c in want.calls] == ["table_oob", "null_element"]
    for loop in ("plain", "counted", "stepping"):
        assert want.first_difference(diff.run_wasmprof(wasm, loop=loop)) is None
