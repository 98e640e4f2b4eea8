"""The instance's limits hold in the debugger's stepping loop as in the
others.  Found by fuzz/fuzz_run.c (fuzz/regressions/run/
debugger-max-call-depth.wasm): a Debugger session ran its calls without the
instance's max_call_depth, so a runaway recursion went thousands of frames
deeper than under Instance calls."""
from __future__ import annotations

import pytest
import wasmtime

import wasmprof

RECURSE = wasmtime.wat2wasm('(module (func $f (export "f") (call $f)))')


@pytest.mark.parametrize("depth", [50, 80])
def test_max_call_depth_holds_when_stepping(depth: int) -> None:
    inst = wasmprof.Instance(wasmprof.Module(RECURSE), limits=wasmprof.Limits(max_call_depth=depth))
    dbg = wasmprof.Debugger(inst)
    dbg.call("f")
    stop = dbg.cont()
    assert stop.reason == "trapped" and stop.error.kind == "stack_exhausted"
    # one tick per `call`: the call that would have made frame depth+1 traps
    assert stop.ticks == depth
    with pytest.raises(wasmprof.Trap) as trap:
        inst.exports.f.call(max_ticks=10**9)
    assert trap.value.kind == "stack_exhausted" and f"max_call_depth={depth}" in str(trap.value)


def test_without_a_limit_the_context_ceiling_holds() -> None:
    dbg = wasmprof.Debugger(wasmprof.Instance(wasmprof.Module(RECURSE)))
    dbg.call("f")
    stop = dbg.cont()
    assert stop.reason == "trapped" and stop.error.kind == "stack_exhausted"
    assert stop.ticks > 1000
